# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What goes in a request's auth section, per auth type, for a given version and body."""

from __future__ import annotations

from ..errors import RequestError
from ..messages import AUTH_JWT, AUTH_MUNGE, AUTH_SLURM
from ..wire import packstr, u32

# Each kind imports its own machinery when first used: a JWT fetch never loads munge's
# socket client, K12 or slurm.key's JSON parsing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

    from .slurm import SlurmKey


class Credentials:
    """Makes a fresh auth section for every request (munge refuses replays)."""

    name = "none"
    #: What to check when a controller silently drops our request.
    rejected_hint = ""

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


class JwtCredentials(Credentials):
    name = "jwt"
    rejected_hint = ("check that the token is signed with the controller's jwt key, has "
                     "not expired, names a user the controller knows, and that "
                     "AuthAltTypes includes auth/jwt")

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "JwtCredentials(<token hidden>)"

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
