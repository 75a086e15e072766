# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing a fetched configuration into a directory the way slurmd does, and safer.

Two phases: every new file is first written in full to a temporary file in the target
directory (so a full disk or a permission error fails before anything is replaced), then
the temporaries are renamed over their targets. A reader never sees half a file, and a
failure leaves every existing file as it was. Files the controller reports as absent are
removed only when asked (prune); files it never mentions are never touched.
"""

from __future__ import annotations

import errno
import os
import stat

from .errors import RequestError
from .messages import ConfigFile, Content
from .names import MAX_NAME, check_names

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Iterable, List, NamedTuple, Optional
else:
    from .records import NamedTuple

FILE_MODE = 0o644
SCRIPT_MODE = 0o755
DIR_MODE = 0o755


class Change(NamedTuple):
    name: str
    action: str  # "create", "update", "attributes" or "remove"
    before: Optional[bytes]
    after: Optional[Content]
    mode: int


class WriteError(RequestError):
    """A file could not be written or removed; names the file and the cause."""


def owner_ids(owner: Optional[str], group: Optional[str]) -> "tuple[Optional[int], Optional[int]]":
    """uid and gid for an owner and a group given by name or number (None: leave as is)."""
    from .accounts import UnknownAccount, owner_ids
    try:
        return owner_ids(owner, group)
    except UnknownAccount as unknown:
        raise RequestError("%s %s does not exist on this host" % (unknown.what, unknown.name)) from None


def wanted_mode(file: ConfigFile) -> int:
    return SCRIPT_MODE if file.executable else FILE_MODE


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WriteError("cannot read %s: %s" % (path, cause(exc))) from None


def _owned(path: str, mode: int, uid: Optional[int], gid: Optional[int]) -> bool:
    info = os.lstat(path)
    return (stat.S_IMODE(info.st_mode) == mode and stat.S_ISREG(info.st_mode)
            and (uid is None or info.st_uid == uid) and (gid is None or info.st_gid == gid))


def plan(directory: str, files: Iterable[ConfigFile], prune: bool = True,
         uid: Optional[int] = None, gid: Optional[int] = None,
         mode: Optional[int] = None) -> List[Change]:
    """What applying files to directory would change, without changing anything.

    mode overrides the modes slurmd uses (0644, 0755 for scripts), for keys."""
    files = list(files)
    check_names(f.name for f in files)
    changes = []
    for file in files:
        path = os.path.join(directory, file.name)
        if os.path.islink(path) or os.path.isdir(path):
            raise WriteError("%s is a %s, not a regular file; refusing to replace it"
                             % (path, "symlink" if os.path.islink(path) else "directory"))
        before = _read(path)
        want = wanted_mode(file) if mode is None else mode
        if not file.exists:
            if prune and before is not None:
                changes.append(Change(file.name, "remove", before, None, want))
            continue
        after = file.content or b""
        if before is None:
            changes.append(Change(file.name, "create", None, after, want))
        elif before != after:
            changes.append(Change(file.name, "update", before, after, want))
        elif not _owned(path, want, uid, gid):
            changes.append(Change(file.name, "attributes", before, after, want))
    return changes


def cause(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the file system"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def ensure_directory(directory: str, uid: Optional[int] = None, gid: Optional[int] = None,
                     mode: int = DIR_MODE) -> bool:
    """Creates directory (and parents) when missing; True when it created it."""
    if os.path.isdir(directory):
        return False
    try:
        os.makedirs(directory, mode)
        os.chmod(directory, mode)
        if uid is not None or gid is not None:
            os.chown(directory, -1 if uid is None else uid, -1 if gid is None else gid)
    except OSError as exc:
        raise WriteError("cannot create the directory %s: %s" % (directory, cause(exc))) from None
    return True


def temporary_name(name: str, tag: str) -> str:
    """.NAME.TAG.new, with NAME cut (at a character) so that the whole fits in MAX_NAME bytes:
    a name check_name accepts may itself be MAX_NAME bytes long. The random tag keeps it
    unique; NAME only tells a person what the temporary was for."""
    room = MAX_NAME - len(".%s.new" % tag) - 1
    encoded = os.fsencode(name)
    if len(encoded) > room:
        name = name[:room]
        while len(os.fsencode(name)) > room:
            name = name[:-1]
    return ".%s.%s.new" % (name, tag)


def create_temporary(directory: str, name: str) -> "tuple[int, str]":
    """A new file beside the target, created exclusively with mode 0600."""
    while True:
        temporary = os.path.join(directory, temporary_name(name, os.urandom(6).hex()))
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), temporary
        except FileExistsError:
            continue


def _write_temporary(directory: str, change: Change, uid: Optional[int],
                     gid: Optional[int]) -> str:
    fd, temporary = create_temporary(directory, change.name)
    try:
        view = memoryview(change.after or b"")
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, change.mode)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temporary)
        raise
    os.close(fd)
    return temporary


def apply(directory: str, changes: List[Change], uid: Optional[int] = None,
          gid: Optional[int] = None) -> None:
    """Carries out a plan: all temporaries first, then the renames, then removals."""
    staged = []
    try:
        for change in changes:
            if change.action == "remove":
                continue
            try:
                staged.append((_write_temporary(directory, change, uid, gid), change))
            except OSError as exc:
                raise WriteError("cannot write %s: %s; no file was changed"
                                 % (os.path.join(directory, change.name), cause(exc))) from None
        while staged:
            temporary, change = staged[0]
            target = os.path.join(directory, change.name)
            try:
                os.rename(temporary, target)
            except OSError as exc:
                raise WriteError("cannot replace %s: %s" % (target, cause(exc))) from None
            staged.pop(0)
    finally:
        for temporary, _change in staged:
            try:
                os.unlink(temporary)
            except OSError:
                pass
    for change in changes:
        if change.action == "remove":
            target = os.path.join(directory, change.name)
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise WriteError("cannot remove %s: %s" % (target, cause(exc))) from None
    if changes:
        try:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass
