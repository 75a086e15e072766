# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A configuration directory that straw.slurm shares with others: what a fetch writes there,
and which of the files the controller reports absent it may remove.

A controller reports absent every file it knows of and does not serve (26.05 lists eleven,
plugstack.conf and topology.conf among them), and a host may hold some of those for its own
reasons: a SPANK package's plugstack.conf, a topology.conf kept for a tool. So pruning
removes only what we own, a file the manifest says we wrote and whose bytes are still the
ones we wrote; the rest is kept and reported. FORCE removes every file reported absent, the
way to take over a directory. A directory written before the manifest existed loses nothing
on its first run: what the controller serves is written and recorded, nothing is removed,
and the next run knows what is ours.
"""

from __future__ import annotations

import os

from . import writer
from . import manifest

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, Iterable, List, NamedTuple, Optional

    from .writer import Change
    from .messages import ConfigFile
else:
    from .records import NamedTuple

OFF, OWNED, FORCE = "off", "owned", "force"

NOT_WRITTEN = "not written by straw.slurm"
EDITED = "changed since straw.slurm wrote it"
NO_RECORD = "no record yet of what straw.slurm wrote here, so this run removes nothing"

_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")


class Kept(NamedTuple):
    """A file the controller reports absent, left in place, and why it is not ours."""
    name: str
    reason: str


class Plan(NamedTuple):
    changes: List[Change]              # for files.apply: writes and the removals allowed
    kept: List[Kept]                   # reported absent, present, and not ours to remove
    record: Dict[str, str]             # the manifest once the changes are made
    recorded: Optional[Dict[str, str]]  # the manifest found (None: none to trust)


def prune_mode(value: object) -> str:
    """OFF, OWNED or FORCE from what a user wrote: a boolean in any of Ansible's spellings,
    or "force"."""
    if isinstance(value, bool) or value in (0, 1):
        return OWNED if value else OFF
    if isinstance(value, str):
        word = value.strip().lower()
        if word == FORCE:
            return FORCE
        if word in _TRUE:
            return OWNED
        if word in _FALSE:
            return OFF
    raise ValueError("prune is true, false or force, not %r" % (value,))


def why_kept(name: str, data: bytes, recorded: Optional[Dict[str, str]]) -> Optional[str]:
    """Why a present file with these bytes is not ours to remove; None when it is."""
    if recorded is None:
        return NO_RECORD
    if name not in recorded:
        return NOT_WRITTEN
    if recorded[name] != manifest.digest(data):
        return EDITED
    return None


def plan(directory: str, files: Iterable[ConfigFile], prune: str = OWNED,
         uid: Optional[int] = None, gid: Optional[int] = None) -> Plan:
    """What applying files to directory would change and keep, without changing anything."""
    files = list(files)
    recorded = manifest.load(directory)
    changes, kept = [], []
    for change in writer.plan(directory, files, prune != OFF, uid, gid):
        reason = None
        if change.action == "remove" and prune != FORCE:
            reason = why_kept(change.name, change.before or b"", recorded)
        if reason is None:
            changes.append(change)
        else:
            kept.append(Kept(change.name, reason))
    return Plan(changes, kept, _record(directory, files, changes, recorded), recorded)


def _record(directory: str, files: List[ConfigFile], changes: List[Change],
            recorded: Optional[Dict[str, str]]) -> Dict[str, str]:
    """The manifest after the changes: every file served (written now, or already those
    bytes), and each earlier entry whose file is still there, edited or not, so that an
    edit stays an edit and a revert to our bytes makes the file ours again."""
    record = {f.name: manifest.digest(f.content or b"") for f in files if f.exists}
    removed = {c.name for c in changes if c.action == "remove"}
    for name, digest in (recorded or {}).items():
        if name not in record and name not in removed and _is_file(os.path.join(directory, name)):
            record[name] = digest
    return record


def _is_file(path: str) -> bool:
    try:
        return os.lstat(path).st_mode & 0o170000 == 0o100000
    except OSError:
        return False


def apply(directory: str, planned: Plan, uid: Optional[int] = None,
          gid: Optional[int] = None) -> Optional[str]:
    """Carries out the plan (files.apply's guarantees), then records what we own. Returns a
    warning when the record could not be saved: the files are written all the same, and
    the next run keeps whatever it cannot prove it wrote."""
    writer.apply(directory, planned.changes, uid, gid)
    if planned.record == planned.recorded:
        return None
    try:
        manifest.save(directory, planned.record)
    except OSError as exc:
        return ("cannot record what straw.slurm wrote in %s: %s; files the controller stops "
                "serving will be kept, not removed"
                % (manifest.path_in(directory), writer.cause(exc)))
    return None


def kept_message(directory: str, kept: List[Kept], check: bool, force: str) -> str:
    """One line for everything kept: each file and why, that the controller does not serve
    it, and the option (in the caller's words) that would remove it."""
    one = len(kept) == 1
    return "%s %s: the controller does not serve %s (%s removes %s)" % (
        "would keep" if check else "kept",
        ", ".join("%s (%s)" % (os.path.join(directory, k.name), k.reason) for k in kept),
        "it" if one else "them", force, "it" if one else "them")
