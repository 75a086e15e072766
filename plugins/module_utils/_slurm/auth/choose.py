# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turns the user's auth options into Credentials, the same way for module and command."""

from __future__ import annotations

from ..errors import RequestError
from .jwt_claims import PRIVILEGED_USERS

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Optional

    from .credentials import Credentials
    from .verify import PushVerifier

AUTH_TYPES = ("munge", "jwt", "slurm")


def credentials_for(auth: str = "munge", munge_socket: Optional[str] = None,
                    jwt_token: Optional[str] = None, jwt_key: Optional[str] = None,
                    jwt_user: str = "slurm", jwt_lifetime: int = 300,
                    slurm_key: Optional[str] = None, slurm_jwks: Optional[str] = None,
                    slurm_kid: Optional[str] = None, sack_socket: Optional[str] = None,
                    timeout: float = 5.0, munge_key: Optional[str] = None,
                    jwt_token_file: Optional[str] = None, slurmd_set: bool = True,
                    warnings: Optional[List[str]] = None) -> Credentials:
    """Credentials for auth, checked as far as we can before anything is sent: a token that
    is no JWT or has expired, an unusable key, are refused here (RequestError); what the
    controller may still refuse (a token for a user without the slurmd set, say) is added
    to warnings when given."""
    notes: List[str] = [] if warnings is None else warnings
    if auth == "munge":
        if munge_key and munge_socket:
            raise RequestError("give either {munge_key_path} or {munge_socket}, not both")
        if munge_key:
            from .munge_key import MungeKeyCredentials
            return MungeKeyCredentials(munge_key)
        from .munge import MungeCredentials
        return MungeCredentials(munge_socket, timeout)
    if auth == "jwt":
        if sum(1 for given in (jwt_token, jwt_key, jwt_token_file) if given) > 1:
            raise RequestError("give one of {jwt_token}, {jwt_token_file} or {jwt_key}")
        from .jwt_claims import check_token, token_from_environment
        from .jwt_credentials import JwtCredentials
        if jwt_key:
            if slurmd_set and jwt_user not in PRIVILEGED_USERS:
                notes.append("{jwt_user} %s: the controller answers rc 2010 to a request for the "
                             "slurmd file set unless %s is SlurmUser" % (jwt_user, jwt_user))
            return JwtCredentials(key_path=jwt_key, user=jwt_user, lifetime=jwt_lifetime)
        if jwt_token_file:
            credentials = JwtCredentials(token_file=jwt_token_file, slurmd_set=slurmd_set)
            notes.extend(credentials.warnings)
            return credentials
        token = jwt_token or token_from_environment()
        if not token:
            raise RequestError("auth jwt needs a token: set {jwt_token}, SLURM_JWT, or {jwt_key} "
                               "(the cluster's jwt_hs256.key) to mint one")
        notes.extend(check_token(token, slurmd_set))
        return JwtCredentials(token.strip())
    if auth == "slurm":
        from .slurm import SlurmCredentials, SlurmKey
        key_file = None if sack_socket else SlurmKey.follow(slurm_key, slurm_jwks, slurm_kid)
        notes.extend(key_file.current().warnings if key_file is not None else [])
        return SlurmCredentials(key_file, sack_socket, timeout)
    raise RequestError("unknown auth type %r: use one of %s" % (auth, ", ".join(AUTH_TYPES)))


def verifier_for(credentials: Credentials, slurm_uid: int) -> Optional[PushVerifier]:
    """What can prove a controller's push with what the credentials hold: the MUNGE key or
    slurm.key/slurm.jwks they sign with (followed as their files change), or munged when we
    may ask it as SlurmUser (it decodes a credential restricted to SlurmUser only for that
    uid: we must be root, asking as that uid, or SlurmUser). None for a JWT or the sack
    socket, which sign but prove nothing: then a push is only a hint."""
    import os

    from .verify import PushVerifier
    if credentials.name == "munge":
        from .munge_key import MungeKeyCredentials
        if isinstance(credentials, MungeKeyCredentials):
            return PushVerifier(slurm_uid, munge_key=credentials.key_file.current)
        from .munge import MungeCredentials, find_socket
        if isinstance(credentials, MungeCredentials) and os.geteuid() in (0, slurm_uid):
            return PushVerifier(slurm_uid, munge_socket=find_socket(credentials.socket_path),
                                timeout=credentials.timeout)
    if credentials.name == "slurm":
        from .slurm import SlurmCredentials
        if isinstance(credentials, SlurmCredentials) and credentials.key_file is not None:
            return PushVerifier(slurm_uid, slurm_key=credentials.key_file.current)
    return None
