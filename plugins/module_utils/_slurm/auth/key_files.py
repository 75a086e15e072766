# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Key and token files: read with errors that name the file and never its content, and
followed: a long-running watcher must follow a rotated munge.key, slurm.key or slurm.jwks
(a Kubernetes secret update, a vault roll) with no restart, and must stop trusting a key
the moment its file no longer holds it.

One stat() per use tells whether the file changed: device, inode (a secret mount swaps a
symlink, a rename gives a new inode), size, and modification and change times. Only then is
the file read and parsed again. A file that cannot be read or parsed any more raises the
loader's error on every use: the old key is forgotten, never kept as a fallback.
"""

from __future__ import annotations

import os

from ..errors import RequestError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, Callable, Optional, Tuple

    Stamp = Tuple[int, int, int, int, int]


def read_secret(path: str, what: str) -> bytes:
    """The bytes of a key or token file (what names it: "JWT key", "slurm.jwks"); errors
    name the file, never its content."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise RequestError("cannot read the %s %s: %s" % (what, path, exc.strerror or exc),
                           "keys are readable by root and SlurmUser only: run as one of them"
                           if isinstance(exc, PermissionError) else None) from None
    if not data:
        raise RequestError("the %s %s is empty" % (what, path))
    return data


def stamp(path: str) -> "Optional[Stamp]":
    """What identifies a version of the file (None when it cannot be stat'ed)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class FollowedFile:
    """The parsed content of path, parsed again whenever the file changes."""

    __slots__ = ("path", "_load", "_stamp", "_value")

    def __init__(self, path: str, load: "Callable[[str], Any]") -> None:
        self.path = path
        self._load = load
        self._stamp: "Optional[Stamp]" = None
        self._value: "Any" = None
        self.current()  # a bad file is refused at start, before anything is sent

    def __repr__(self) -> str:
        return "FollowedFile(%r)" % self.path  # never the content: it is a key

    def current(self) -> "Any":
        """The content as the file holds it now; the loader's error when it cannot be read."""
        now = stamp(self.path)
        if now is None or now != self._stamp or self._value is None:
            self._stamp, self._value = None, None  # forgotten before anything can fail
            value = self._load(self.path)
            self._stamp, self._value = now, value
        return self._value
