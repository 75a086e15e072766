# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What goes in a request's auth section, per auth type, for a given version and body."""

from __future__ import annotations

from typing import Optional

from ..wire import packstr, u32
from . import munge
from .body_hash import body_hash

AUTH_MUNGE = 101
AUTH_JWT = 102
AUTH_SLURM = 103


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
