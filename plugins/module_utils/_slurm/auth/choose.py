# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turns the user's auth options into Credentials, the same way for module and command."""

from __future__ import annotations

from typing import Optional

from ..errors import RequestError
from .credentials import Credentials, JwtCredentials, MungeCredentials, SlurmCredentials
from .jwt import mint_token, token_from_environment

AUTH_TYPES = ("munge", "jwt", "slurm")


def credentials_for(auth: str = "munge", munge_socket: Optional[str] = None,
                    jwt_token: Optional[str] = None, jwt_key: Optional[str] = None,
                    jwt_user: str = "slurm", jwt_lifetime: int = 300,
                    slurm_key: Optional[str] = None, slurm_jwks: Optional[str] = None,
                    slurm_kid: Optional[str] = None, sack_socket: Optional[str] = None,
                    timeout: float = 5.0) -> Credentials:
    if auth == "munge":
        return MungeCredentials(munge_socket, timeout)
    if auth == "jwt":
        if jwt_token and jwt_key:
            raise RequestError("give either jwt_token or jwt_key, not both")
        if jwt_key:
            return JwtCredentials(mint_token(jwt_key, jwt_user, jwt_lifetime))
        token = jwt_token or token_from_environment()
        if not token:
            raise RequestError("auth jwt needs a token: set jwt_token, SLURM_JWT, or jwt_key "
                               "(the cluster's jwt_hs256.key) to mint one")
        return JwtCredentials(token.strip())
    if auth == "slurm":
        from .slurm import SlurmKey
        key = None if sack_socket else SlurmKey.load(slurm_key, slurm_jwks, slurm_kid)
        return SlurmCredentials(key, sack_socket, timeout)
    raise RequestError("unknown auth type %r: use one of %s" % (auth, ", ".join(AUTH_TYPES)))
