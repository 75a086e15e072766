# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File names a controller may send: one plain name each, no paths, no tricks.

A real slurmctld ships bare names (includes with a '/' and absolute scripts are never
shipped), so anything else comes from a broken or hostile peer and fails the whole fetch.
Hidden names beginning with "straw-" (STATE_PREFIX, or more dots before it, as the
temporaries of those files have) are straw.slurm's own state beside the files: the manifest,
the remembered versions. No controller's name may overwrite them.
"""

from __future__ import annotations

from .errors import ReplyError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Iterable

MAX_NAME = 255
STATE_PREFIX = ".straw-"


def is_state_name(name: str) -> bool:
    """One of straw.slurm's own files (or their temporaries), never a controller's."""
    return name[:1] == "." and name.lstrip(".").startswith(STATE_PREFIX[1:])


def check_name(name: str) -> None:
    if (name.isascii() and name.isprintable() and 0 < len(name) <= MAX_NAME and "/" not in name
            and "\\" not in name and name not in (".", "..") and not is_state_name(name)):
        return  # the common case, decided in one pass; anything else is looked at closely
    if not name:
        raise ReplyError("reply lists a file with an empty name")
    if len(name.encode("utf-8")) > MAX_NAME:
        raise ReplyError("reply lists a file name longer than %d bytes" % MAX_NAME)
    if name in (".", "..") or ".." in name.split("/"):
        raise ReplyError("reply lists a file name with '..': %r" % name)
    if name.startswith("/"):
        raise ReplyError("reply lists an absolute file name: %r" % name)
    if "/" in name or "\\" in name:
        raise ReplyError("reply lists a file name with a directory part: %r" % name)
    if "\0" in name:
        raise ReplyError("reply lists a file name with a NUL byte: %r" % name)
    if not name.isprintable():  # control characters (and Unicode line or paragraph separators)
        raise ReplyError("reply lists a file name with control characters: %r" % name)
    if is_state_name(name):
        raise ReplyError("reply lists a file name that straw.slurm keeps for its own state "
                         "(%s...): %r" % (STATE_PREFIX, name))


def check_names(names: Iterable[str]) -> None:
    seen = set()
    for name in names:
        check_name(name)
        if name in seen:
            raise ReplyError("reply lists the file %r twice" % name)
        seen.add(name)
