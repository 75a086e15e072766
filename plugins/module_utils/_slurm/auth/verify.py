# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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

import time

from ..errors import ReplyError, RequestError
from ..messages import AUTH_MUNGE, AUTH_SLURM, REQUEST_RECONFIGURE_SACKD, Push

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, Optional, TypeVar, Union

    from .slurm import SlurmKey

    Key = TypeVar("Key", bound=Union[bytes, SlurmKey])

#: How long a credential's digest is remembered to refuse a replay: longer than any TTL.
REPLAY_WINDOW = 3600.0
#: Clock skew allowed between the controller's clock and ours for auth/slurm tokens.
SKEW = 60
#: The longest credential a push may carry, in characters: a controller's is a few hundred
#: (MUNGE: about 190 with AES-128 and SHA-256; auth/slurm: about 400). Anything longer is
#: refused before it is decoded, so that a stranger's push costs no real CPU.
MAX_CREDENTIAL = 1024
#: The most encrypted bytes a pushed MUNGE credential holds: salt, address, the inner
#: header and a 33-byte body hash make 74, padded to 80. Bounded before AES runs (munged
#: MACs the plaintext, so the MAC can be checked only after decrypting).
MAX_SEALED = 160

#: Why a push was refused, as the watcher's log summary counts them.
FORGED, REPLAYED, STALE, OVERSIZED, UNCHECKED = "forged", "replayed", "stale", "oversized", "unchecked"


class Rejected(ReplyError):
    """The push is forged, stale, replayed or damaged: nothing of it is used. kind says
    which, for the log."""

    def __init__(self, message: str, kind: str = FORGED) -> None:
        super().__init__(message)
        self.kind = kind


class Proof:
    """What a verified credential told us: when it was made."""

    __slots__ = ("issued",)

    def __init__(self, issued: float) -> None:
        self.issued = issued


def payload_matches(payload: bytes, body: bytes) -> bool:
    """Whether a push's credential carries the hash of exactly its body."""
    from .body_hash import covers
    return covers(payload, REQUEST_RECONFIGURE_SACKD, body)


class PushVerifier:
    """Checks pushes for one cluster; remembers what it has seen to refuse replays.

    Keys are given as callables that return the key as its file holds it now: each push is
    checked against the current key, so a rotated key is followed with no restart and a
    replaced one proves nothing any more (auth/key_files.py)."""

    def __init__(self, slurm_uid: int, munge_key: "Optional[Callable[[], bytes]]" = None,
                 munge_socket: "Optional[str]" = None,
                 slurm_key: "Optional[Callable[[], SlurmKey]]" = None,
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
        """The proof that push is genuine and fresh; Rejected, with the reason, otherwise.

        The cheap checks come first: the credential's length, then its identity (its MAC or
        signature, the same however the text is spelled) against those already seen; only
        then a key is used."""
        now = time.time() if now is None else now
        credential = push.credential or b""
        if len(credential) > MAX_CREDENTIAL:
            raise Rejected("a %d-byte credential, longer than any a controller makes (%d at most)"
                           % (len(credential), MAX_CREDENTIAL), OVERSIZED)
        if not self.can_verify(push.auth_plugin):
            raise self._unchecked(push.auth_plugin)
        identity = self._identity(push.auth_plugin, credential)
        self._forget(now)
        if identity in self._seen:
            raise Rejected("a replay of a push already received", REPLAYED)
        if push.auth_plugin == AUTH_MUNGE:
            proof = self._munge(credential, push, now)
        else:
            proof = self._slurm(credential, push, now)
        if proof.issued < self.last_issued:
            raise Rejected("stale: made %ds before the last push applied"
                           % (self.last_issued - proof.issued), STALE)
        self._seen[identity] = now + REPLAY_WINDOW
        return proof

    def accept(self, proof: Proof) -> None:
        """Called once the push was applied: older pushes are stale from now on."""
        self.last_issued = max(self.last_issued, proof.issued)

    def _identity(self, plugin: int, credential: bytes) -> bytes:
        """The MAC of a MUNGE credential, the signature of a token: strictly decoded, so one
        credential has one identity."""
        if plugin == AUTH_MUNGE:
            from . import munge_key
            try:
                return b"m" + munge_key.identity(credential)
            except ReplyError as error:
                raise Rejected("its MUNGE credential is not valid: %s" % error.message) from None
        if plugin == AUTH_SLURM:
            from . import base64url
            try:
                return b"s" + base64url.decode(credential.rsplit(b".", 1)[-1])
            except ValueError:
                raise Rejected("its auth/slurm token is not a JWT") from None
        raise self._unchecked(plugin)

    def _unchecked(self, plugin: int) -> Rejected:
        if plugin == AUTH_MUNGE:
            return Rejected("a MUNGE push, and neither the key nor munged to check it", UNCHECKED)
        if plugin == AUTH_SLURM:
            return Rejected("an auth/slurm push, and no slurm.key to check it", UNCHECKED)
        return Rejected("signed with auth plugin %d, which proves nothing" % plugin, UNCHECKED)

    def _forget(self, now: float) -> None:
        for digest in [d for d, until in self._seen.items() if until < now]:
            del self._seen[digest]

    @staticmethod
    def _key(source: "Callable[[], Key]") -> "Key":
        """The key as its file holds it now; a key file gone or spoiled proves nothing."""
        try:
            return source()
        except RequestError as error:
            raise Rejected("cannot be checked: %s" % error.message, UNCHECKED) from None

    def _check_sender(self, uid: int, what: str) -> None:
        if uid != self.slurm_uid:
            raise Rejected("%s was made by uid %d, not by SlurmUser (uid %d)"
                           % (what, uid, self.slurm_uid))

    def _munge(self, credential: bytes, push: Push, now: float) -> Proof:
        if self._munge_key is not None:
            from . import munge_key
            try:
                decoded = munge_key.decode(self._key(self._munge_key), credential, now=int(now),
                                           max_sealed=MAX_SEALED)
            except munge_key.CredentialError as error:
                kind = STALE if error.code in (munge_key.EMUNGE_CRED_EXPIRED, munge_key.EMUNGE_CRED_REWOUND) \
                    else OVERSIZED if error.code == munge_key.EMUNGE_BAD_LENGTH else FORGED
                raise Rejected("its MUNGE credential is not valid: %s" % error.message, kind) from None
            uid, issued, payload = decoded.uid, float(decoded.encode_time), decoded.payload
        elif self.munge_socket is not None:
            from . import munge
            try:
                uid, issued, payload = munge.decode(credential, self.munge_socket,
                                                    self.slurm_uid, self.timeout)
            except munge.CredentialRefused as error:
                raise Rejected("munged refused its credential: %s" % error.message) from None
        else:
            raise self._unchecked(AUTH_MUNGE)
        self._check_sender(uid, "its MUNGE credential")
        if not payload_matches(payload, push.body):
            raise Rejected("its MUNGE credential does not cover this body (altered in transit?)")
        return Proof(issued)

    def _slurm(self, credential: bytes, push: Push, now: float) -> Proof:
        if self._slurm_key is None:
            raise self._unchecked(AUTH_SLURM)
        claims = self._key(self._slurm_key).verify(credential.decode("ascii", "replace"))
        if claims is None:
            raise Rejected("its auth/slurm token is not signed with our slurm.key")
        import base64  # imports re: only for auth/slurm tokens
        try:
            uid = int(claims["uid"])
            issued = float(claims["iat"])
            expires = float(claims["exp"])
            payload = base64.b64decode(str(claims.get("payload", "")))
        except (KeyError, TypeError, ValueError):
            raise Rejected("its auth/slurm token lacks uid, iat or exp") from None
        if expires + SKEW < now:
            raise Rejected("its auth/slurm token expired %ds ago" % (now - expires), STALE)
        if issued - SKEW > now:
            raise Rejected("its auth/slurm token is made %ds in the future" % (issued - now), STALE)
        self._check_sender(uid, "its auth/slurm token")
        if not payload_matches(payload, push.body):
            raise Rejected("its auth/slurm token does not cover this body (altered in transit?)")
        return Proof(issued)
