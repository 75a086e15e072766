# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Slurm's primitive encodings (pack8/16/32, packstr, packmem) over bytes.

The reader never trusts a length: every count is checked against the bytes actually
present before anything is sliced, so a hostile length costs nothing.
"""

from __future__ import annotations

import struct

from .errors import ReplyError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Optional, Tuple, Union

NO_VAL = 0xFFFFFFFE

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")

if TYPE_CHECKING:
    Buffer = Union[bytes, bytearray, memoryview]
else:
    Buffer = Entry = object  # the hints' names, for the modules that import them
#: One entry of a configuration list: exists, execute, name, content (None for NULL).
if TYPE_CHECKING:
    Entry = Tuple[int, int, bytes, Optional[memoryview]]


def u8(value: int) -> bytes:
    return bytes((value & 0xFF,))


def u16(value: int) -> bytes:
    return _U16.pack(value & 0xFFFF)


def u32(value: int) -> bytes:
    return _U32.pack(value & 0xFFFFFFFF)


def packstr(value: Optional[Union[str, bytes]]) -> bytes:
    """Slurm's packstr: the length counts the trailing NUL, which is sent; None is u32 0."""
    if value is None:
        return u32(0)
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return u32(len(data) + 1) + data + b"\0"


def packmem(data: bytes) -> bytes:
    return u32(len(data)) + data


class Reader:
    """A cursor over one received frame; every read is bounds-checked."""

    __slots__ = ("_view", "_pos", "_end", "what")

    def __init__(self, data: Buffer, what: str = "reply") -> None:
        self._view = memoryview(data)
        self._pos = 0
        self._end = len(self._view)
        self.what = what

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def _need(self, count: int, field: str) -> int:
        """Claims count bytes; returns where they start. Nothing is read past the frame."""
        start = self._pos
        if count < 0 or start + count > self._end:
            raise ReplyError("truncated %s: %s needs %d bytes at offset %d, %d left"
                             % (self.what, field, count, start, self._end - start))
        self._pos = start + count
        return start

    def u8(self, field: str) -> int:
        return self._view[self._need(1, field)]

    def u16(self, field: str) -> int:
        return int(_U16.unpack_from(self._view, self._need(2, field))[0])

    def u32(self, field: str) -> int:
        return int(_U32.unpack_from(self._view, self._need(4, field))[0])

    def skip(self, count: int, field: str) -> None:
        self._need(count, field)

    def packstr(self, field: str) -> Optional[bytes]:
        """Returns the string's bytes without the NUL, or None for Slurm's NULL."""
        view = self.packstr_view(field)
        return None if view is None else bytes(view)

    def packstr_view(self, field: str) -> Optional[memoryview]:
        """As packstr, without copying: for large file contents."""
        length = self.u32(field)
        if length == 0:
            return None
        start = self._need(length, field)
        if self._view[start + length - 1] != 0:
            raise ReplyError("malformed %s: %s is not NUL-terminated" % (self.what, field))
        return self._view[start:start + length - 1]

    def list_entries(self, count: int, with_execute: bool) -> Optional[List[Entry]]:
        """Reads count (exists, [execute,] name, content) entries in one pass, the common case
        made cheap. None when any entry is irregular, with the reader left where it was: the
        caller then reads field by field, to say exactly what is wrong."""
        view, pos, end = self._view, self._pos, self._end
        unpack = _U32.unpack_from
        flags = 2 if with_execute else 1
        entries: List[Entry] = []
        for _index in range(count):
            if pos + flags + 4 > end:
                return None
            exists = view[pos]
            execute = view[pos + 1] if with_execute else 0
            pos += flags
            length = unpack(view, pos)[0]
            pos += 4
            if length == 0 or pos + length + 4 > end or view[pos + length - 1] != 0:
                return None
            name = bytes(view[pos:pos + length - 1])
            pos += length
            length = unpack(view, pos)[0]
            pos += 4
            content = None
            if length:
                if pos + length > end or view[pos + length - 1] != 0:
                    return None
                content = view[pos:pos + length - 1]
                pos += length
            entries.append((exists, execute, name, content))
        self._pos = pos
        return entries
