# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What goes in a request's auth section, per auth type, for a given version and body."""

from __future__ import annotations

import os

from ..errors import RequestError
from ..messages import AUTH_JWT, AUTH_MUNGE, AUTH_SLURM
from ..wire import packstr, u32

# Each kind imports its own machinery when first used: a JWT fetch never loads munge's
# socket client, K12 or slurm.key's JSON parsing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional

    from .slurm import SlurmKey


class Credentials:
    """Makes a fresh auth section for every request (munge refuses replays)."""

    name = "none"
    #: What to check when a controller silently drops our request.
    rejected_hint = ""

    def refresh(self) -> None:
        """Before each fetch: sources that can change under us (a token file, a key that
        a mounted secret rotates, a minted token near its expiry) are read again."""

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        raise NotImplementedError


class MungeCredentials(Credentials):
    name = "munge"
    rejected_hint = ("check that this host's munge key matches the controller's, that "
                     "AuthType is auth/munge, and that the clocks agree")

    def __init__(self, socket_path: Optional[str] = None, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        from . import munge
        from .body_hash import body_hash
        payload = body_hash(version, msg_type, body)
        credential = munge.encode(payload, self.socket_path, self.timeout)
        return u32(AUTH_MUNGE) + packstr(credential)


class MungeKeyCredentials(MungeCredentials):
    """auth/munge without munged: credentials made from the cluster's munge.key itself."""

    rejected_hint = ("check that the munge key matches the controller's, that AuthType is "
                     "auth/munge, and that the clocks agree")

    def __init__(self, key_path: str) -> None:
        super().__init__()
        from . import munge_key
        self.key_path = key_path
        self._key = munge_key.load_key(key_path)  # refused here, before any connection
        # The address a credential carries. A fetch needs none in particular; a watcher's
        # registration is keyed by the host name the controller finds for it, so the watcher
        # sets the address it reaches the controller from (use_origin). Resolving this
        # host's name, as munged does once at its start, can cost more than a whole fetch.
        self.origin = munge_key.LOOPBACK

    def __repr__(self) -> str:
        return "MungeKeyCredentials(%r)" % self.key_path

    def refresh(self) -> None:
        from . import munge_key
        self._key = munge_key.load_key(self.key_path)  # a mounted secret may rotate

    def use_origin(self, address: bytes) -> None:
        self.origin = address

    def key_bytes(self) -> bytes:
        """For checking pushes (auth/verify); never logged."""
        return self._key

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        from . import munge_key
        from .body_hash import body_hash
        payload = body_hash(version, msg_type, body)
        credential = munge_key.encode(self._key, payload, os.geteuid(), os.getegid(),
                                      addr=self.origin)
        return u32(AUTH_MUNGE) + packstr(credential.encode("ascii"))


class JwtCredentials(Credentials):
    """A token given once, read again from a file before each fetch, or minted from the
    cluster's jwt key again once half its lifetime has passed."""

    name = "jwt"
    rejected_hint = ("check that the token is signed with the controller's jwt key, has "
                     "not expired, names a user the controller knows, and that "
                     "AuthAltTypes includes auth/jwt")

    def __init__(self, token: Optional[str] = None, token_file: Optional[str] = None,
                 key_path: Optional[str] = None, user: str = "slurm",
                 lifetime: int = 300, slurmd_set: bool = False) -> None:
        self._token = token
        self.slurmd_set = slurmd_set
        #: What the last refresh noticed about a token read from a file (the caller says it).
        self.warnings: List[str] = []
        self.token_file = token_file
        self.key_path = key_path
        self.user = user
        self.lifetime = lifetime
        self._minted = 0.0
        if token is None:
            self.refresh()

    def __repr__(self) -> str:
        return "JwtCredentials(<token hidden>)"

    def refresh(self) -> None:
        if self.token_file is not None:
            from .jwt import read_key
            raw = read_key(self.token_file, "JWT token file")
            try:
                token = raw.decode("ascii").strip()
            except UnicodeDecodeError:
                raise RequestError("the JWT token file %s does not hold a token (not ASCII)"
                                   % self.token_file) from None
            if not token:
                raise RequestError("the JWT token file %s is empty" % self.token_file)
            token = token.split("=", 1)[1] if token.startswith("SLURM_JWT=") else token
            from .jwt_claims import check_token
            self.warnings = check_token(token, self.slurmd_set)  # expired: refused right here
            self._token = token
        elif self.key_path is not None:
            import time
            if time.time() - self._minted >= self.lifetime / 2:
                from .jwt import mint_token
                self._token = mint_token(self.key_path, self.user, self.lifetime)
                self._minted = time.time()

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        return u32(AUTH_JWT) + packstr(self._token) + packstr(None)


class SlurmCredentials(Credentials):
    """auth/slurm: a token signed with our key, or minted by the local sack socket."""

    name = "slurm"
    rejected_hint = ("check that the key matches the controller's slurm.key (or slurm.jwks), "
                     "that AuthType is auth/slurm (Slurm 23.11 or newer), and that the clocks agree")

    def __init__(self, key: Optional[SlurmKey] = None, sack_socket: Optional[str] = None,
                 timeout: float = 5.0) -> None:
        from . import sack
        self.key = key
        self.sack_socket = None
        if key is None:
            self.sack_socket = sack.find_socket(sack_socket)
            if self.sack_socket is None:
                raise RequestError("auth slurm needs slurm.key or slurm.jwks (slurm_key, "
                                   "slurm_jwks), or a local sack socket (sackd, slurmd); "
                                   "found none")
        self.timeout = timeout

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        from . import sack
        from .body_hash import body_hash
        payload = body_hash(version, msg_type, body)
        if self.key is not None:
            token = self.key.token(version, payload)
        else:
            token = sack.create_token(str(self.sack_socket), payload, version, self.timeout)
        return u32(AUTH_SLURM) + packstr(token)
