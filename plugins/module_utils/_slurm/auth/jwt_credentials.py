# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""auth/jwt credentials: the token a request carries, given once, read again from a file
before each fetch, or minted from the cluster's jwt key (auth/jwt.py) when it half-expires.
"""

from __future__ import annotations

from ..errors import RequestError
from ..messages import AUTH_JWT
from ..wire import packstr, u32
from .credentials import Credentials

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Optional


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
            from .key_files import read_secret
            raw = read_secret(self.token_file, "JWT token file")
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
