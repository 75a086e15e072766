# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Slurm's framing without I/O: a u32 big-endian length, then that many bytes.

Whoever owns a socket reads into space() and says how much arrived with received(); the
reader says when the length is known (so that the caller can judge it against its limits
before a byte of buffer is allocated) and when the frame is complete. Bytes land where they
belong, with no copy, and a peer that announces a length costs nothing until allow().
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

    __slots__ = ("head", "body", "got")

    def __init__(self) -> None:
        self.head = bytearray(4)
        self.body: "Optional[bytearray]" = None
        self.got = 0  # bytes of the head, then of the body

    @property
    def length(self) -> "Optional[int]":
        """The announced length, once its 4 bytes are in."""
        if self.body is None and self.got < 4:
            return None
        return len(self.body) if self.body is not None else int.from_bytes(self.head, "big")

    @property
    def started(self) -> bool:
        return self.got > 0 or self.body is not None

    @property
    def complete(self) -> bool:
        """The whole frame is in (a frame of 0 bytes is, as soon as it is allowed)."""
        return self.body is not None and self.got == len(self.body)

    def space(self, most: "Optional[int]" = None) -> memoryview:
        """Where the next bytes go (at most most of them): the rest of the length, then the
        rest of the body. Empty once the length is known and allow() not yet called."""
        if self.body is None:
            view = memoryview(self.head)[self.got:] if self.got < 4 else memoryview(b"")
        else:
            view = memoryview(self.body)[self.got:]
        return view if most is None else view[:most]

    def received(self, count: int) -> int:
        """count bytes arrived in space(): NEED, LENGTH or FRAME."""
        self.got += count
        if self.body is None:
            return LENGTH if self.got == 4 else NEED
        return FRAME if self.got == len(self.body) else NEED

    def allow(self) -> None:
        """Allocates the body the length announced (the caller has judged it). MemoryError
        when it cannot."""
        length = self.length
        self.body = bytearray(length or 0)
        self.got = 0

    def take(self) -> bytearray:
        """The complete frame, without its length; the reader starts over."""
        frame = self.body if self.body is not None else bytearray()
        self.body, self.got = None, 0
        return frame

    def progress(self) -> str:
        """How far the frame got, for a message about a peer that stopped."""
        if self.body is not None:
            return "%d of %d frame bytes" % (self.got, len(self.body))
        return "%d of 4 length bytes" % self.got
