# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""auth/jwt tokens made and checked with the key: minted from jwt_hs256.key (with PyJWT),
as scontrol token does, and verified with the standard library (pushed tokens).

A given token (SLURM_JWT, a token file) is only read, never signed: jwt_claims.py checks
it, and a fetch with one loads none of this.
"""

from __future__ import annotations

import time

from ..errors import MissingLibraryError
from .key_files import read_secret

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, Dict, Optional

DEFAULT_LIFETIME = 300


def hs256(claims: Dict[str, Any], key: bytes, headers: Optional[Dict[str, Any]] = None) -> str:
    try:
        import jwt as pyjwt  # PyJWT, only where a token is minted
    except ImportError:
        raise MissingLibraryError("PyJWT", "to mint a token from a key") from None
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short HMAC keys are Slurm's choice, not ours
        token = pyjwt.encode(claims, key, algorithm="HS256", headers=headers)
    return token if isinstance(token, str) else token.decode("ascii")


def mint_token(key_path: str, user: str, lifetime: int = DEFAULT_LIFETIME,
               now: Optional[int] = None) -> str:
    """A token like 'scontrol token' makes: HS256 over the key bytes, claims iat/exp/sun."""
    issued = int(time.time()) if now is None else now
    key = read_secret(key_path, "JWT key")
    return hs256({"iat": issued, "exp": issued + lifetime, "sun": user}, key)


#: A pushed auth/slurm token is a few hundred bytes; anything far longer is not one.
MAX_TOKEN = 16 << 10


def hs256_claims(token: str, key: bytes) -> "Optional[Dict[str, object]]":
    """The claims of an HS256 JWT that key signed, else None (standard library only).

    The signature is checked before a byte of JSON is parsed: nobody's JSON is read unless
    the key made it. (A verifier's tool: the imports are paid by those who verify.)"""
    import hashlib
    import hmac
    import json

    from . import base64url
    parts = token.split(".")
    if len(token) > MAX_TOKEN or len(parts) != 3 or not token.isascii():
        return None
    try:
        signature = base64url.decode(parts[2])
    except ValueError:
        return None
    wanted = hmac.new(key, (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(wanted, signature):
        return None
    try:
        header = json.loads(base64url.decode(parts[0]))
        claims = json.loads(base64url.decode(parts[1]))
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return None
    return claims
