# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a pushed configuration really comes from the controller, and is fresh.

A push is written only when its credential proves three things: it was made by SlurmUser
(the uid slurmctld runs as), it is fresh (within its lifetime, never seen before, not older
than the last push applied), and it covers exactly these body bytes (the credential's payload
is the hash of the body). MUNGE credentials are checked with the cluster's key or through
munged (which decodes a credential restricted to SlurmUser only for SlurmUser: we ask as
SlurmUser); auth/slurm tokens with slurm.key or slurm.jwks. Without any of these a push
proves nothing and is only a hint to fetch again over the authenticated path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from ..errors import ReplyError
from ..messages import AUTH_MUNGE, AUTH_SLURM, REQUEST_RECONFIGURE_SACKD, Push
from ..wire import u16

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Optional

    from .slurm import SlurmKey

#: How long a credential's digest is remembered to refuse a replay: longer than any TTL.
REPLAY_WINDOW = 3600.0
#: Clock skew allowed between the controller's clock and ours for auth/slurm tokens.
SKEW = 60


class Rejected(ReplyError):
    """The push is forged, stale, replayed or damaged: nothing of it is used."""


class Proof:
    """What a verified credential told us: when it was made."""

    __slots__ = ("issued",)

    def __init__(self, issued: float) -> None:
        self.issued = issued


def payload_matches(payload: bytes, version: int, body: bytes) -> bool:
    """The body hash Slurm puts in a credential (K12, or SHA3-256 with HashPlugin=hash/sha3)."""
    custom = u16(REQUEST_RECONFIGURE_SACKD)
    if payload[:1] == b"\x02":
        from ..k12 import kangarootwelve
        return hmac.compare_digest(payload[1:], kangarootwelve(body, custom, 32))
    if payload[:1] == b"\x04":
        return hmac.compare_digest(payload[1:], hashlib.sha3_256(body + custom).digest())
    return False


class PushVerifier:
    """Checks pushes for one cluster; remembers what it has seen to refuse replays."""

    def __init__(self, slurm_uid: int, munge_key: "Optional[bytes]" = None,
                 munge_socket: "Optional[str]" = None, slurm_key: "Optional[SlurmKey]" = None,
                 timeout: float = 5.0) -> None:
        self.slurm_uid = slurm_uid
        self._munge_key = munge_key
        self.munge_socket = munge_socket
        self._slurm_key = slurm_key
        self.timeout = timeout
        self._seen: "Dict[bytes, float]" = {}
        self.last_issued = 0.0

    def __repr__(self) -> str:
        return "PushVerifier(slurm_uid=%d, <keys hidden>)" % self.slurm_uid

    def can_verify(self, plugin: int) -> bool:
        if plugin == AUTH_MUNGE:
            return self._munge_key is not None or self.munge_socket is not None
        if plugin == AUTH_SLURM:
            return self._slurm_key is not None
        return False

    def verify(self, push: Push, now: "Optional[float]" = None) -> Proof:
        """The proof that push is genuine and fresh; Rejected, with the reason, otherwise."""
        now = time.time() if now is None else now
        credential = push.credential or b""
        digest = hashlib.sha256(credential).digest()
        self._forget(now)
        if digest in self._seen:
            raise Rejected("a replay of a push already received")
        if push.auth_plugin == AUTH_MUNGE:
            proof = self._munge(credential, push, now)
        elif push.auth_plugin == AUTH_SLURM:
            proof = self._slurm(credential, push, now)
        else:
            raise Rejected("signed with auth plugin %d, which proves nothing" % push.auth_plugin)
        if proof.issued < self.last_issued:
            raise Rejected("stale: made %ds before the last push applied"
                           % (self.last_issued - proof.issued))
        self._seen[digest] = now + REPLAY_WINDOW
        return proof

    def accept(self, proof: Proof) -> None:
        """Called once the push was applied: older pushes are stale from now on."""
        self.last_issued = max(self.last_issued, proof.issued)

    def _forget(self, now: float) -> None:
        for digest in [d for d, until in self._seen.items() if until < now]:
            del self._seen[digest]

    def _check_sender(self, uid: int, what: str) -> None:
        if uid != self.slurm_uid:
            raise Rejected("%s was made by uid %d, not by SlurmUser (uid %d)"
                           % (what, uid, self.slurm_uid))

    def _munge(self, credential: bytes, push: Push, now: float) -> Proof:
        if self._munge_key is not None:
            from . import munge_key
            try:
                decoded = munge_key.decode(self._munge_key, credential, now=int(now))
            except ReplyError as error:
                raise Rejected("its MUNGE credential is not valid: %s" % error.message) from None
            uid, issued, payload = decoded.uid, float(decoded.encode_time), decoded.payload
        elif self.munge_socket is not None:
            from . import munge
            try:
                uid, issued, payload = munge.decode(credential, self.munge_socket,
                                                    self.slurm_uid, self.timeout)
            except munge.CredentialRefused as error:
                raise Rejected("munged refused its credential: %s" % error.message) from None
        else:
            raise Rejected("a MUNGE push, and neither the key nor munged to check it")
        self._check_sender(uid, "its MUNGE credential")
        if not payload_matches(payload, push.version, push.body):
            raise Rejected("its MUNGE credential does not cover this body (altered in transit?)")
        return Proof(issued)

    def _slurm(self, credential: bytes, push: Push, now: float) -> Proof:
        if self._slurm_key is None:
            raise Rejected("an auth/slurm push, and no slurm.key to check it")
        claims = self._slurm_key.verify(credential.decode("ascii", "replace"))
        if claims is None:
            raise Rejected("its auth/slurm token is not signed with our slurm.key")
        try:
            uid = int(claims["uid"])
            issued = float(claims["iat"])
            expires = float(claims["exp"])
            payload = base64.b64decode(str(claims.get("payload", "")))
        except (KeyError, TypeError, ValueError):
            raise Rejected("its auth/slurm token lacks uid, iat or exp") from None
        if expires + SKEW < now:
            raise Rejected("its auth/slurm token expired %ds ago" % (now - expires))
        if issued - SKEW > now:
            raise Rejected("its auth/slurm token is made %ds in the future" % (issued - now))
        self._check_sender(uid, "its auth/slurm token")
        if not payload_matches(payload, push.version, push.body):
            raise Rejected("its auth/slurm token does not cover this body (altered in transit?)")
        return Proof(issued)
