# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AES (FIPS-197) and CBC mode with PKCS#7 padding, in pure Python.

Python's standard library has no AES, and munged encrypts the credentials it makes (a
controller's pushes) with AES-128-CBC by default, so reading them from the key alone needs
this. Credentials are a few blocks long: a table-driven cipher on 32-bit words is plenty
fast (tens of microseconds a block) and the tables are built once, at import, as 32-bit
words in memoryviews (8 KiB) rather than lists of int objects: a watcher keeps them for
days (and the array module would import collections).
"""

from __future__ import annotations

from ..errors import ReplyError, RequestError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Sequence, Tuple

BLOCK_SIZE = 16
KEY_SIZES = (16, 24, 32)


def _words(values: "List[int]") -> memoryview:
    """values as native 32-bit words."""
    table = memoryview(bytearray(4 * len(values))).cast("I")
    for index, value in enumerate(values):
        table[index] = value
    return table


def _tables() -> Tuple[bytes, bytes, List[memoryview], List[memoryview]]:
    """S-box, inverse S-box and the round tables, from GF(2^8) arithmetic (not pasted)."""
    exp = [0] * 512
    log = [0] * 256
    value = 1
    for power in range(255):  # 3 generates the multiplicative group of GF(2^8)
        exp[power] = exp[power + 255] = value
        log[value] = power
        value ^= (value << 1) ^ (0x11B if value & 0x80 else 0)

    def mul(a: int, b: int) -> int:
        return exp[log[a] + log[b]] if a and b else 0

    sbox = [0] * 256
    inv_sbox = [0] * 256
    for x in range(256):
        inverse = exp[255 - log[x]] if x else 0
        s = inverse
        for shift in range(1, 5):  # the affine map: b ^ rotl(b,1..4) ^ 0x63
            s ^= ((inverse << shift) | (inverse >> (8 - shift))) & 0xFF
        s ^= 0x63
        sbox[x] = s
        inv_sbox[s] = x

    def rotations(first: List[int]) -> List[memoryview]:
        tables = [first]
        for _unused in range(3):
            tables.append([((w >> 8) | (w << 24)) & 0xFFFFFFFF for w in tables[-1]])
        return [_words(table) for table in tables]

    # One column of MixColumns (2,1,1,3) and InvMixColumns (14,9,13,11) applied to a byte.
    enc = [(mul(s, 2) << 24) | (s << 16) | (s << 8) | mul(s, 3) for s in sbox]
    dec = [(mul(s, 14) << 24) | (mul(s, 9) << 16) | (mul(s, 13) << 8) | mul(s, 11)
           for s in inv_sbox]
    return bytes(sbox), bytes(inv_sbox), rotations(enc), rotations(dec)


_SBOX, _INV_SBOX, _TE, _TD = _tables()


class AES:
    """One AES key, expanded for both directions. repr never shows key material."""

    __slots__ = ("_enc", "_dec", "rounds")

    def __init__(self, key: bytes) -> None:
        if len(key) not in KEY_SIZES:
            raise RequestError("an AES key is 16, 24 or 32 bytes, not %d" % len(key))
        words = self._expand(key)
        self.rounds = len(key) // 4 + 6
        self._enc = [words[i:i + 4] for i in range(0, len(words), 4)]
        # The equivalent inverse cipher: round keys in reverse order, the inner ones passed
        # through InvMixColumns (Td[S[b]] undoes the S-box the Td tables include).
        td0, td1, td2, td3 = _TD
        sbox = _SBOX
        dec = [list(self._enc[self.rounds])]
        for round_key in reversed(self._enc[1:self.rounds]):
            dec.append([td0[sbox[w >> 24]] ^ td1[sbox[(w >> 16) & 0xFF]]
                        ^ td2[sbox[(w >> 8) & 0xFF]] ^ td3[sbox[w & 0xFF]] for w in round_key])
        dec.append(list(self._enc[0]))
        self._dec = dec

    def __repr__(self) -> str:
        return "AES(<key hidden>, rounds=%d)" % self.rounds

    @staticmethod
    def _expand(key: bytes) -> List[int]:
        nk = len(key) // 4
        total = 4 * (nk + 7)
        words = [int.from_bytes(key[4 * i:4 * i + 4], "big") for i in range(nk)]
        rcon = 1
        sbox = _SBOX
        for i in range(nk, total):
            w = words[i - 1]
            if i % nk == 0:
                w = ((w << 8) | (w >> 24)) & 0xFFFFFFFF  # RotWord
                w = ((sbox[w >> 24] << 24) | (sbox[(w >> 16) & 0xFF] << 16)
                     | (sbox[(w >> 8) & 0xFF] << 8) | sbox[w & 0xFF]) ^ (rcon << 24)
                rcon = (rcon << 1) ^ (0x11B if rcon & 0x80 else 0)
            elif nk > 6 and i % nk == 4:
                w = ((sbox[w >> 24] << 24) | (sbox[(w >> 16) & 0xFF] << 16)
                     | (sbox[(w >> 8) & 0xFF] << 8) | sbox[w & 0xFF])
            words.append(words[i - nk] ^ w)
        return words

    def encrypt_block(self, block: bytes) -> bytes:
        return _crypt(block, self._enc, _TE, _SBOX, (1, 2, 3))

    def decrypt_block(self, block: bytes) -> bytes:
        return _crypt(block, self._dec, _TD, _INV_SBOX, (3, 2, 1))


def _crypt(block: bytes, keys: List[List[int]], tables: "Sequence[Sequence[int]]", box: bytes,
           order: Tuple[int, int, int]) -> bytes:
    """One block through either direction: they differ only in tables and in whether
    ShiftRows takes the next columns (1, 2, 3) or the previous ones (3, 2, 1)."""
    if len(block) != BLOCK_SIZE:
        raise RequestError("an AES block is 16 bytes, not %d" % len(block))
    t0, t1, t2, t3 = tables
    a, b, c = order
    k = keys[0]
    s = [int.from_bytes(block[4 * i:4 * i + 4], "big") ^ k[i] for i in range(4)]
    for k in keys[1:-1]:
        s = [t0[s[i] >> 24] ^ t1[(s[(i + a) & 3] >> 16) & 0xFF]
             ^ t2[(s[(i + b) & 3] >> 8) & 0xFF] ^ t3[s[(i + c) & 3] & 0xFF] ^ k[i]
             for i in range(4)]
    k = keys[-1]
    out = bytearray()
    for i in range(4):
        word = ((box[s[i] >> 24] << 24) | (box[(s[(i + a) & 3] >> 16) & 0xFF] << 16)
                | (box[(s[(i + b) & 3] >> 8) & 0xFF] << 8) | box[s[(i + c) & 3] & 0xFF])
        out += (word ^ k[i]).to_bytes(4, "big")
    return bytes(out)


def _xor(x: bytes, y: bytes) -> bytes:
    return (int.from_bytes(x, "big") ^ int.from_bytes(y, "big")).to_bytes(len(x), "big")


def _check_iv(iv: bytes) -> None:
    if len(iv) != BLOCK_SIZE:
        raise RequestError("a CBC IV is 16 bytes, not %d" % len(iv))


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """CBC over data, which must already be whole blocks (see pad)."""
    _check_iv(iv)
    if len(data) % BLOCK_SIZE:
        raise RequestError("CBC input is not a whole number of blocks")
    cipher = AES(key)
    out = bytearray()
    previous = iv
    for offset in range(0, len(data), BLOCK_SIZE):
        previous = cipher.encrypt_block(_xor(data[offset:offset + BLOCK_SIZE], previous))
        out += previous
    return bytes(out)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """The CBC plaintext of data, padding left in place (see unpad).

    The ciphertext is the peer's: a partial block is a ReplyError, not a crash.
    """
    _check_iv(iv)
    if len(data) % BLOCK_SIZE:
        raise ReplyError("the ciphertext is not a whole number of AES blocks")
    cipher = AES(key)
    out = bytearray()
    previous = iv
    for offset in range(0, len(data), BLOCK_SIZE):
        block = data[offset:offset + BLOCK_SIZE]
        out += _xor(cipher.decrypt_block(block), previous)
        previous = block
    return bytes(out)


def pad(data: bytes) -> bytes:
    """PKCS#7 (OpenSSL's EVP default, as munged uses): 1 to 16 bytes, each the count."""
    count = BLOCK_SIZE - len(data) % BLOCK_SIZE
    return data + bytes([count]) * count


def unpad(data: bytes) -> bytes:
    """data without its PKCS#7 padding; ReplyError when the padding is not well formed
    (what OpenSSL's EVP_DecryptFinal rejects: a wrong key almost always lands here)."""
    count = data[-1] if data else 0
    if not 1 <= count <= BLOCK_SIZE or len(data) % BLOCK_SIZE or data[-count:] != bytes([count]) * count:
        raise ReplyError("bad padding after AES-CBC decryption")
    return data[:-count]
