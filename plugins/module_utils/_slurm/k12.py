# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""KangarooTwelve (KT128, RFC 9861) in pure Python.

Slurm 22.05+ wants a K12 hash of the request body inside munge and auth/slurm credentials,
and targets have no pycryptodome. Bodies are a few bytes, so clarity beats speed here; the
tree mode for inputs over 8 KiB is still implemented and tested.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Tuple


_MASK = (1 << 64) - 1
_RATE = 168  # TurboSHAKE128: 1344-bit rate, 256-bit capacity
_CHUNK = 8192
_LANES = struct.Struct("<25Q")


def _round_constants() -> Tuple[int, ...]:
    """The 24 iota constants, from the LFSR x^8 + x^6 + x^5 + x^4 + 1 of the Keccak spec."""
    state = 1
    bits = []
    for _step in range(7 * 24):
        bits.append(state & 1)
        state <<= 1
        if state & 0x100:
            state ^= 0x171
    constants = []
    for round_index in range(24):
        value = 0
        for j in range(7):
            if bits[7 * round_index + j]:
                value |= 1 << ((1 << j) - 1)
        constants.append(value)
    return tuple(constants)


def _rotations() -> Tuple[int, ...]:
    """rho offsets per lane index x + 5y, from the (x, y) -> (y, 2x + 3y) walk."""
    offsets = [0] * 25
    x, y = 1, 0
    for t in range(24):
        offsets[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return tuple(offsets)


_RC12 = _round_constants()[12:]  # Keccak-p[1600, 12]: the last twelve rounds
_ROT = _rotations()
# pi moves lane (x, y) to (y, 2x + 3y); precompute source index for each destination.
_PI_SOURCE = tuple(
    next(x + 5 * y for x in range(5) for y in range(5) if (y + 5 * ((2 * x + 3 * y) % 5)) == d)
    for d in range(25))


def _permute(a: List[int]) -> None:
    rot, src = _ROT, _PI_SOURCE
    for rc in _RC12:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _MASK)
             for x in range(5)]
        for i in range(25):
            a[i] ^= d[i % 5]
        b = [0] * 25
        for i in range(25):
            s = src[i]
            r = rot[s]
            v = a[s]
            b[i] = ((v << r) | (v >> (64 - r))) & _MASK if r else v
        for y in range(0, 25, 5):
            b0, b1, b2, b3, b4 = b[y], b[y + 1], b[y + 2], b[y + 3], b[y + 4]
            a[y] = b0 ^ (~b1 & b2)
            a[y + 1] = b1 ^ (~b2 & b3)
            a[y + 2] = b2 ^ (~b3 & b4)
            a[y + 3] = b3 ^ (~b4 & b0)
            a[y + 4] = b4 ^ (~b0 & b1)
        a[0] ^= rc


def turboshake128(message: bytes, domain: int, length: int) -> bytes:
    """TurboSHAKE128(M, D, L): 12-round Keccak sponge, domain byte D in 0x01..0x7F."""
    state = [0] * 25
    padded = bytearray(message)
    padded.append(domain)
    padded.extend(bytes(-len(padded) % _RATE))
    padded[-1] ^= 0x80
    block = bytearray(200)
    for offset in range(0, len(padded), _RATE):
        block[:_RATE] = padded[offset:offset + _RATE]
        lanes = _LANES.unpack(block)
        for i in range(_RATE // 8):
            state[i] ^= lanes[i]
        _permute(state)
    out = bytearray()
    while True:
        out += _LANES.pack(*state)[:_RATE]
        if len(out) >= length:
            return bytes(out[:length])
        _permute(state)


def _length_encode(value: int) -> bytes:
    encoded = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return encoded + bytes((len(encoded),))


def kangarootwelve(message: bytes, customization: bytes = b"", length: int = 32) -> bytes:
    """KT128(M, C, L) with the single-node form up to 8 KiB and the tree mode above."""
    s = bytes(message) + bytes(customization) + _length_encode(len(customization))
    if len(s) <= _CHUNK:
        return turboshake128(s, 0x07, length)
    chunks = [s[i:i + _CHUNK] for i in range(_CHUNK, len(s), _CHUNK)]
    node = bytearray(s[:_CHUNK])
    node += b"\x03" + bytes(7)
    for chunk in chunks:
        node += turboshake128(chunk, 0x0B, 32)
    node += _length_encode(len(chunks)) + b"\xff\xff"
    return turboshake128(bytes(node), 0x06, length)
