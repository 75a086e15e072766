# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a planned change (files.plan) would do to a file, for people: a unified diff for
text, a size and checksum line for anything else. Only --check -v and diff mode need it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Optional

    from .writer import Change
    from .messages import Content

#: Larger files are summarised, not diffed.
_MAX_DIFF = 256 * 1024


def is_text(data: Optional[Content]) -> bool:
    """Small enough to diff, and UTF-8 without NUL bytes."""
    if data is None:
        return True
    if len(data) > _MAX_DIFF:
        return False
    data = bytes(data)
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def summary(data: Optional[Content]) -> str:
    if data is None:
        return "(absent)\n"
    import hashlib  # only when a summary is asked for
    return "%d bytes, sha256 %s\n" % (len(data), hashlib.sha256(data).hexdigest())


def describe(directory: str, change: Change) -> str:
    """A unified diff for text, a size and checksum line for anything else."""
    import os
    path = os.path.join(directory, change.name)
    if change.action == "attributes":
        return "%s: owner, group or mode differ (want mode %04o)\n" % (path, change.mode)
    if is_text(change.before) and is_text(change.after):
        import difflib  # only when a diff is asked for
        before = str(change.before or b"", "utf-8").splitlines(True)
        after = str(change.after or b"", "utf-8").splitlines(True)
        lines = difflib.unified_diff(before, after,
                                     path if change.before is not None else "/dev/null",
                                     path if change.after is not None else "/dev/null")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in lines)
    return "--- %s\n%s+++ %s\n%s" % (path, summary(change.before), path, summary(change.after))
