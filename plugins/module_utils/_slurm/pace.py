# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When to try again. Hosts that fail together (a controller that stalled, a power cut that
booted a fleet at once) must not try again together: every wait here is drawn at random
from a window, and the window widens while the controller shows strain.
"""

from __future__ import annotations

import os


def uniform(low: float, high: float) -> float:
    """random.uniform's spread: nothing here needs to be secret or reproducible, and the
    random module costs a quarter MiB for the life of a watcher."""
    return low + (high - low) * (int.from_bytes(os.urandom(7), "big") / (1 << 56))


class Backoff:
    """Waits that double from first to most, each drawn between half and the whole of the
    current one, so that hosts that failed at the same moment spread out."""

    __slots__ = ("first", "most", "current")

    def __init__(self, first: float, most: float) -> None:
        self.first, self.most, self.current = first, max(first, most), first

    def next(self) -> float:
        wait = self.current * uniform(0.5, 1.0)
        self.current = min(self.current * 2, self.most)
        return wait

    def reset(self) -> None:
        self.current = self.first


class Spread:
    """The window over which a fleet spreads the fetches one push causes (each host picks a
    moment in it at random): the configured width while the controller answers at once;
    twice as wide (up to most) after a fetch that failed or took longer than SLOW seconds,
    which is what a controller serving too many at once looks like; back by half after one
    that did not."""

    SLOW = 2.0

    __slots__ = ("base", "most", "width")

    def __init__(self, base: float, most: float) -> None:
        self.base, self.most, self.width = base, max(base, most), base

    def draw(self) -> float:
        return uniform(0.0, self.width)

    def observed(self, seconds: float, failed: bool) -> None:
        """A fetch took seconds (and failed, or not)."""
        if failed or seconds > self.SLOW:
            self.width = min(max(self.width * 2, 1.0), self.most)
        else:
            self.width = max(self.width / 2, self.base)
