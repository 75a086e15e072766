# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hash of the request body that munge and auth/slurm credentials must carry.

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


def body_hash(version: int, msg_type: int, body: bytes) -> bytes:
    if version < PROTO_22_05:
        return bytes((HASH_NONE, msg_type & 0xFF, msg_type >> 8))
    custom = u16(msg_type)
    return bytes((HASH_K12,)) + kangarootwelve(body, custom, 32)
