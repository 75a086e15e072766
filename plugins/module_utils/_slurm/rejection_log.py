# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The watcher's log of refused connections and pushes, summarised under attack.

A line per refusal lets any stranger write thousands of journal lines a second, and
journald's rate limit then drops the lines that matter. So the first refusal of a kind is
said in full; the others in the next minute are counted by source address and said in one
line when the minute ends ("412 connections from 10.1.2.3 refused in the last 60 s
(garbage)"). Each kind gets about one line a minute, and no kind is ever left unsaid.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Callable, Dict, Optional

INTERVAL = 60.0


class _Window:
    """Refusals of one kind counted since the line that opened the window."""

    __slots__ = ("ends", "counts")

    def __init__(self, ends: float) -> None:
        self.ends = ends
        self.counts: "Dict[str, int]" = {}


class RejectionLog:
    """Says refusals through write, at most about one line per kind per interval."""

    def __init__(self, write: "Callable[[str], None]", interval: float = INTERVAL,
                 clock: "Callable[[], float]" = time.monotonic) -> None:
        self._write = write
        self.interval = interval
        self._clock = clock
        self._windows: "Dict[str, _Window]" = {}

    def refused(self, kind: str, source: str, line: str) -> None:
        """One refusal from source (an address, without port): line is said now if it is the
        first of its kind for a while, else counted for the summary."""
        now = self._clock()
        self.flush(now)
        window = self._windows.get(kind)
        if window is None:
            self._windows[kind] = _Window(now + self.interval)
            self._write(line)
        else:
            window.counts[source] = window.counts.get(source, 0) + 1

    def flush(self, now: "Optional[float]" = None) -> None:
        """Says the summary of every window that has ended; a kind refused in it gets a new
        window, a quiet kind is forgotten (its next refusal is said in full)."""
        now = self._clock() if now is None else now
        for kind, window in list(self._windows.items()):
            if now < window.ends:
                continue
            if not window.counts:
                del self._windows[kind]
                continue
            self._write(summary(kind, window.counts, now - window.ends + self.interval))
            self._windows[kind] = _Window(now + self.interval)

    def next_flush(self) -> "Optional[float]":
        """When flush has something to say next (None: nothing pending)."""
        pending = [window.ends for window in self._windows.values() if window.counts]
        return min(pending) if pending else None


def summary(kind: str, counts: "Dict[str, int]", seconds: float) -> str:
    total = sum(counts.values())
    if len(counts) == 1:
        (source,) = counts
        return "%d connection%s from %s refused in the last %d s (%s)" % (
            total, "" if total == 1 else "s", source, round(seconds), kind)
    worst = max(counts, key=lambda source: counts[source])
    return "%d connections from %d addresses refused in the last %d s (%s; most from %s: %d)" % (
        total, len(counts), round(seconds), kind, worst, counts[worst])
