# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Length-prefixed frames without I/O: a fixed head that ends in a u32 big-endian length,
then that many bytes. Slurm's frames have a head of 4 bytes; munged's replies one of 11.

Whoever owns a socket reads into space() and says how much arrived with received(); the
reader says when the length is known (so that the caller can judge it against its limits
before a byte of buffer is allocated) and when the frame is complete. A reader made with a
larger first read takes the head and, for a small frame, the whole of it in one read; bytes
otherwise land where they belong, and a peer that announces a length costs nothing until
allow().
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Optional

#: What received() says: more bytes needed; the length just became known (call allow() or
#: give up); the frame is complete (take() it).
NEED, LENGTH, FRAME = 0, 1, 2


class FrameReader:
    """Reads one frame at a time; reusable after take()."""

    __slots__ = ("head", "head_size", "body", "got")

    def __init__(self, head_size: int = 4, first_read: int = 0) -> None:
        self.head_size = head_size
        self.head = bytearray(max(head_size, first_read))
        self.body: "Optional[bytearray]" = None
        self.got = 0  # bytes of the head (and of what came with it), then of the body

    @property
    def length(self) -> "Optional[int]":
        """The announced length, once the head is in."""
        if self.body is not None:
            return len(self.body)
        if self.got < self.head_size:
            return None
        return int.from_bytes(self.head[self.head_size - 4:self.head_size], "big")

    @property
    def started(self) -> bool:
        return self.got > 0 or self.body is not None

    @property
    def complete(self) -> bool:
        """The whole frame is in (a frame of 0 bytes is, as soon as it is allowed)."""
        return self.body is not None and self.got == len(self.body)

    def first_bytes(self) -> bytes:
        """What arrived before the length was allowed: the head, and whatever came with it
        (what answered is judged from these)."""
        return bytes(self.head[:self.got]) if self.body is None else b""

    def space(self, most: "Optional[int]" = None) -> memoryview:
        """Where the next bytes go (at most most of them): the rest of the head (or of the
        first read), then the rest of the body. Empty once the length is known and allow()
        not yet called."""
        if self.body is None:
            view = memoryview(self.head)[self.got:] if self.got < self.head_size else memoryview(b"")
        else:
            view = memoryview(self.body)[self.got:]
        return view if most is None else view[:most]

    def received(self, count: int) -> int:
        """count bytes arrived in space(): NEED, LENGTH or FRAME."""
        self.got += count
        if self.body is None:
            return LENGTH if self.got >= self.head_size else NEED
        return FRAME if self.got == len(self.body) else NEED

    def allow(self) -> None:
        """Takes the body the length announced (the caller has judged it): from the first
        read when it came whole, else into a buffer of its size. MemoryError when it cannot.
        Bytes past the frame's end are dropped: one frame per connection."""
        length = self.length or 0
        extra = self.got - self.head_size
        if extra >= length:
            self.body = self.head[self.head_size:self.head_size + length]
            self.got = length
            return
        self.body = bytearray(length)
        self.body[:extra] = memoryview(self.head)[self.head_size:self.got]
        self.got = extra

    def take(self) -> bytearray:
        """The complete frame, without its head; the reader starts over."""
        frame = self.body if self.body is not None else bytearray()
        self.body, self.got = None, 0
        return frame

    def progress(self) -> str:
        """How far the frame got, for a message about a peer that stopped."""
        if self.body is not None:
            return "%d of %d frame bytes" % (self.got, len(self.body))
        return "%d of %d length bytes" % (self.got, self.head_size)
