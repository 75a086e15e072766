# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""auth/jwt tokens: given, from SLURM_JWT, or minted from jwt_hs256.key with PyJWT.

Slurm checks the HS256 signature, exp, and the user in sun; it checks no body hash.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, Optional

from ..errors import MissingLibraryError, RequestError

DEFAULT_LIFETIME = 300


def read_key(path: str, what: str) -> bytes:
    """The raw bytes of a key file; errors name the file, never its content."""
    try:
        with open(path, "rb") as handle:
            key = handle.read()
    except OSError as exc:
        raise RequestError("cannot read the %s %s: %s" % (what, path, exc.strerror or exc)) from None
    if not key:
        raise RequestError("the %s %s is empty" % (what, path))
    return key


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
    key = read_key(key_path, "JWT key")
    return hs256({"iat": issued, "exp": issued + lifetime, "sun": user}, key)


def token_from_environment() -> Optional[str]:
    token = os.environ.get("SLURM_JWT", "").strip()
    return token or None
