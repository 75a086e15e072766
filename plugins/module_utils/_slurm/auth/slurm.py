# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""auth/slurm (Slurm 23.11+): an HS256 token per request, signed with slurm.key (or a key
of slurm.jwks), carrying the body hash in its payload claim as slurmctld checks it.

Whoever holds the key may claim any uid: the key is root on the cluster. Without a key, a
local sack socket (sackd, slurmd or slurmctld) signs for us with our real identity.
"""

from __future__ import annotations

import base64
import json
import os
import time

from .. import sockets
from ..errors import RequestError
from ..messages import AUTH_SLURM
from ..wire import packstr, u32
from .credentials import Credentials
from .jwt import hs256
from .key_files import read_secret
from .key_files import FollowedFile

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, Dict, List, Optional, Tuple

TOKEN_LIFETIME = 60
RUID_ANY = 4294967295
DEFAULT_KEY = "/etc/slurm/slurm.key"
DEFAULT_JWKS = "/etc/slurm/slurm.jwks"
#: Slurm refuses a slurm.jwks key shorter than this ("key lacks sufficient entropy"); it
#: takes a slurm.key of any length, but one this short is rather a wrong or truncated file.
MIN_KEY_BYTES = 16


def _b64(value: str) -> bytes:
    padded = value + "=" * (-len(value) % 4)
    try:
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded)
    except (ValueError, TypeError):
        raise RequestError("a key in slurm.jwks has a k that is not base64") from None


def _jwks(path: str) -> List[Dict[str, Any]]:
    """The HS256 keys of a slurm.jwks file, as JSON objects."""
    try:
        document = json.loads(read_secret(path, "slurm.jwks").decode("utf-8"))
        return [k for k in document["keys"] if k.get("kty") == "oct" and k.get("alg", "HS256") == "HS256"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RequestError("%s is not a JWKS document with HS256 keys" % path) from None


def _material(key: Dict[str, Any], path: str) -> bytes:
    """A JWKS key's bytes, refused when expired or shorter than Slurm accepts."""
    expires = key.get("exp")
    if isinstance(expires, (int, float)) and expires < time.time():
        raise RequestError("the key %r in %s has expired" % (key.get("kid"), path))
    material = _b64(str(key.get("k", "")))
    if len(material) < MIN_KEY_BYTES:
        raise RequestError("the key %r in %s is %d bytes: Slurm refuses keys shorter than %d "
                           "bytes" % (key.get("kid"), path, len(material), MIN_KEY_BYTES))
    return material


def jwks_key(path: str, kid: Optional[str] = None) -> Tuple[bytes, Optional[str]]:
    """(key bytes, kid) from a slurm.jwks file: kid if given, else the default key."""
    keys = _jwks(path)
    if kid is not None:
        chosen = [k for k in keys if k.get("kid") == kid]
        if not chosen:
            kids = sorted(str(k.get("kid")) for k in keys if k.get("kid") is not None)
            raise RequestError("%s has no HS256 key with kid %r; its kids: %s"
                               % (path, kid, ", ".join(repr(k) for k in kids) or "none"))
    else:
        chosen = [k for k in keys if k.get("use") == "default"] or (keys if len(keys) == 1 else [])
        if not chosen:
            raise RequestError("%s has %d keys and none is marked use: default; choose one by kid"
                               % (path, len(keys)))
    return _material(chosen[0], path), chosen[0].get("kid")


def jwks_keyring(path: str) -> Dict[str, bytes]:
    """Every usable key of a slurm.jwks by kid: a pushed token names the one it was signed
    with. Expired and too short keys are left out (they verify nothing)."""
    ring = {}
    for key in _jwks(path):
        kid = key.get("kid")
        if isinstance(kid, str):
            try:
                ring[kid] = _material(key, path)
            except RequestError:
                continue
    return ring


def token_kid(token: str) -> Optional[str]:
    """The kid a token's header names (None when it names none or is no JWT)."""
    from . import base64url
    try:
        header = json.loads(base64url.decode(token.split(".", 1)[0]))
    except (ValueError, RecursionError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def claims(version: int, payload: bytes, now: Optional[int] = None,
           uid: Optional[int] = None, gid: Optional[int] = None,
           host: Optional[str] = None) -> Dict[str, Any]:
    issued = int(time.time()) if now is None else now
    out: Dict[str, Any] = {
        "iat": issued, "exp": issued + TOKEN_LIFETIME, "ver": version, "ruid": RUID_ANY,
        "uid": os.getuid() if uid is None else uid, "gid": os.getgid() if gid is None else gid,
        "host": host or sockets.gethostname().split(".")[0], "context": "auth",
    }
    if payload:
        out["payload"] = base64.b64encode(payload).decode("ascii")
    return out


class SlurmKey:
    """A signing key: slurm.key's raw bytes, or one key of slurm.jwks (with its kid); with
    a slurm.jwks, every key of it by kid, to check pushed tokens."""

    def __init__(self, key: bytes, kid: Optional[str] = None,
                 keyring: Optional[Dict[str, bytes]] = None) -> None:
        self._key = key
        self.kid = kid
        self._keyring = keyring if keyring is not None or kid is None else {kid: key}
        #: What may make the controller refuse tokens signed with this key.
        self.warnings: List[str] = []

    def __repr__(self) -> str:
        return "SlurmKey(<hidden>, kid=%r)" % self.kid

    @classmethod
    def from_jwks(cls, path: str, kid: Optional[str] = None) -> "SlurmKey":
        return cls(*jwks_key(path, kid), keyring=jwks_keyring(path))

    @classmethod
    def from_file(cls, path: str) -> "SlurmKey":
        """slurm.key's bytes, all of them, as Slurm takes them."""
        key = cls(read_secret(path, "slurm.key"))
        if len(key._key) < MIN_KEY_BYTES:
            key.warnings.append("the slurm.key %s is only %d bytes (Slurm's documentation "
                                "suggests 1024 random bytes): is it the cluster's key? The "
                                "controller accepts tokens only if its own slurm.key is these "
                                "same bytes" % (path, len(key._key)))
        return key

    @classmethod
    def follow(cls, key_path: Optional[str] = None, jwks_path: Optional[str] = None,
               kid: Optional[str] = None) -> Optional[FollowedFile]:
        """The key the options name, else the default files when readable, else None; read
        again whenever its file changes (a rotated key is followed, a removed one refused)."""
        if key_path and jwks_path:
            raise RequestError("give either {slurm_key} or {slurm_jwks}, not both")
        if not key_path and not jwks_path:
            jwks = os.environ.get("SLURM_SACK_JWKS") or DEFAULT_JWKS
            key = os.environ.get("SLURM_SACK_KEY") or DEFAULT_KEY
            if os.access(jwks, os.R_OK):
                jwks_path = jwks
            elif os.access(key, os.R_OK):
                key_path = key
            else:
                return None
        if jwks_path:
            return FollowedFile(jwks_path, lambda path: cls.from_jwks(path, kid))
        return FollowedFile(str(key_path), cls.from_file)

    def token(self, version: int, payload: bytes) -> str:
        headers = {"kid": self.kid} if self.kid else None
        return hs256(claims(version, payload), self._key, headers)

    def verify(self, token: str) -> "Optional[Dict[str, Any]]":
        """The claims of a token signed with this key (a controller's push), else None. With a
        slurm.jwks, the token's kid chooses the key; a kid it does not hold verifies nothing."""
        from .jwt import hs256_claims
        key = self._key
        if self._keyring is not None:
            kid = token_kid(token)
            if kid is not None:
                found = self._keyring.get(kid)
                if found is None:
                    return None
                key = found
        return hs256_claims(token, key)  # the signature first, then any JSON


class SlurmCredentials(Credentials):
    """auth/slurm: a token signed with our key, or minted by the local sack socket."""

    name = "slurm"
    rejected_hint = ("check that the key matches the controller's slurm.key (or slurm.jwks), "
                     "that AuthType is auth/slurm (Slurm 23.11 or newer), and that the clocks agree")

    def __init__(self, key_file: Optional[FollowedFile] = None, sack_socket: Optional[str] = None,
                 timeout: float = 5.0) -> None:
        from . import sack
        #: The SlurmKey, followed as its file changes (shared with the push verifier).
        self.key_file = key_file
        self.sack_socket = None
        if key_file is None:
            self.sack_socket = sack.find_socket(sack_socket)
            if self.sack_socket is None:
                raise RequestError("auth slurm needs slurm.key or slurm.jwks ({slurm_key}, "
                                   "{slurm_jwks}), or a local sack socket (sackd, slurmd); "
                                   "found none")
        self.timeout = timeout

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        from . import sack
        from .body_hash import body_hash
        payload = body_hash(version, msg_type, body)
        if self.key_file is not None:
            token = self.key_file.current().token(version, payload)
        else:
            token = sack.create_token(str(self.sack_socket), payload, version, self.timeout)
        return u32(AUTH_SLURM) + packstr(token)
