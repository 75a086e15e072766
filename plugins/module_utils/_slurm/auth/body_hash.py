# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hash of the request body that munge and auth/slurm credentials must carry: made for
our requests, checked in the controller's pushes.

20.11.9 and 21.08.8 accept only nothing or 01 + msg_type in the controller's (little-endian)
byte order, and reject K12; 22.05 and later want 02 + K12(body, msg_type big-endian), and
accept the little-endian form only for requests at protocol 37 or older.
"""

from __future__ import annotations

from ..k12 import kangarootwelve
from ..versions import PROTO_22_05
from ..wire import u16

HASH_NONE = 1
HASH_K12 = 2
HASH_SHA3 = 4


def body_hash(version: int, msg_type: int, body: bytes) -> bytes:
    if version < PROTO_22_05:
        return bytes((HASH_NONE, msg_type & 0xFF, msg_type >> 8))
    custom = u16(msg_type)
    return bytes((HASH_K12,)) + kangarootwelve(body, custom, 32)


def covers(payload: bytes, msg_type: int, body: bytes) -> bool:
    """Whether a credential's payload is the hash of body for msg_type: K12, or SHA3-256
    where the controller runs HashPlugin=hash/sha3. Compared in constant time."""
    from ..sha import compare_digest, sha3_256
    custom = u16(msg_type)
    if payload[:1] == bytes((HASH_K12,)):
        return compare_digest(payload[1:], kangarootwelve(body, custom, 32))
    if payload[:1] == bytes((HASH_SHA3,)):
        return compare_digest(payload[1:], sha3_256()(body + custom).digest())
    return False
