# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Slurm releases, their protocol numbers, and the order in which versions are probed.

A protocol version on the wire is (N << 8). Each controller accepts a window of three
(20.02-24.05) or four (24.11+) consecutive versions ending at its own, so scanning down
from the newest version we speak finds the highest one a controller accepts.
"""

from __future__ import annotations

from .errors import RequestError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, List, Optional

#: Release -> protocol number N (the version word is N << 8).
RELEASES: Dict[str, int] = {
    "20.02": 35,
    "20.11": 36,
    "21.08": 37,
    "22.05": 38,
    "23.02": 39,
    "23.11": 40,
    "24.05": 41,
    "24.11": 42,
    "25.05": 43,
    "25.11": 44,
    "26.05": 45,
    "26.11": 46,
}

#: The releases this project is tested against and documents as supported.
SUPPORTED_RELEASES = ("20.11", "21.08", "22.05", "23.02", "23.11", "24.05",
                      "24.11", "25.05", "25.11", "26.05", "26.11")

_BY_NUMBER = {number: release for release, number in RELEASES.items()}

# The versions at which the wire layouts change (header, request and reply bodies, hashes).
PROTO_20_02 = 35 << 8  # header H1; H2 from 36
PROTO_20_11 = 36 << 8  # last R1 reply
PROTO_22_05 = 38 << 8  # header H3; K12 body hash
PROTO_23_11 = 40 << 8  # R3 replies with the execute flag
PROTO_24_11 = 42 << 8  # tree_depth in forwarded headers
PROTO_25_05 = 43 << 8  # Q2 request body with a port

OLDEST = min(RELEASES.values()) << 8
NEWEST = max(RELEASES.values()) << 8


#: Controllers that answer an unknown version with HTTP (25.11 and newer) all accept 25.11's.
HTTP_ERA = 44 << 8


def number_of(version: int) -> int:
    """The protocol number N of a version word (N << 8), as Slurm's messages show it."""
    return version >> 8


def word_of(number: int) -> int:
    """The version word of protocol number N."""
    return number << 8


def shifted(version: int, releases: int) -> int:
    """The version releases newer (or, negative, older) than version."""
    return version + (releases << 8)


def described(version: int) -> str:
    """"Slurm 22.05 (protocol 38)", for messages."""
    return "Slurm %s (protocol %d)" % (release_of(version), number_of(version))


def release_of(version: int) -> str:
    """The release whose protocol is version, e.g. 0x2600 -> "22.05"."""
    number = version >> 8
    if number in _BY_NUMBER and version & 0xFF == 0:
        return _BY_NUMBER[number]
    return "protocol %d" % number


def version_of(release: str) -> int:
    """The protocol version word of a release such as "22.05"."""
    number = RELEASES.get(str(release).strip())
    if number is None:
        raise RequestError("unknown Slurm release %r; known releases: %s"
                           % (release, ", ".join(sorted(RELEASES))))
    return number << 8


def implemented(version: int) -> bool:
    return OLDEST <= version <= NEWEST and version & 0xFF == 0


def probe_order(start: Optional[int] = None) -> List[int]:
    """Versions to try, newest first, from start (default: the newest we speak)."""
    top = NEWEST if start is None else min(start, NEWEST)
    return [v << 8 for v in range(top >> 8, (OLDEST >> 8) - 1, -1)]


def best_within_window(native: int) -> Optional[int]:
    """The highest version we speak that a controller of native version accepts."""
    for version in probe_order(native):
        if version >= shifted(native, -3):
            return version
    return None
