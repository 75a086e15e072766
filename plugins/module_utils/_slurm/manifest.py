# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The manifest: which files of a directory straw.slurm wrote, with the sha256 of the bytes
it last wrote to each.

Pruning trusts it to tell our files from a package's plugstack.conf or an admin's edit, so
it is kept as carefully as the files: in the directory it describes, under a name no
controller may send (names.STATE_PREFIX), root-only (0600, owned by whoever writes), replaced
whole through a temporary file and a rename, and sealed with a checksum. One that is missing,
foreign, open to others or damaged is ignored: then nothing counts as ours, and nothing is
removed.
"""

from __future__ import annotations

import os

from .errors import ReplyError
from .writer import create_temporary
from .names import STATE_PREFIX, check_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, Optional

FILE_NAME = STATE_PREFIX + "slurm-manifest"
MODE = 0o600
_MAGIC = "straw-slurm-manifest 1"
_END = "end "
_MAX_BYTES = 1 << 20
_HEX = frozenset("0123456789abcdef")


def digest(data: "bytes | memoryview") -> str:
    """The sha256 of data in hex, as the manifest records it."""
    from .sha import sha256
    return str(sha256()(data).hexdigest())


def path_in(directory: str) -> str:
    return os.path.join(directory, FILE_NAME)


def encode(record: "Dict[str, str]") -> bytes:
    """The file's bytes: a header, one "DIGEST NAME" line per file, and a sealing checksum."""
    body = (_MAGIC + "\n" + "".join("%s %s\n" % (record[name], name) for name in sorted(record))
            ).encode("utf-8")
    return body + (_END + digest(body) + "\n").encode("ascii")


def decode(data: bytes) -> "Optional[Dict[str, str]]":
    """The record in data; None when anything about it is off."""
    body, _newline, seal = data[:-1].rpartition(b"\n")
    body += b"\n"
    if not data.endswith(b"\n") or seal != (_END + digest(body)).encode("ascii"):
        return None
    try:
        lines = body.decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError:
        return None
    if not lines or lines[0] != _MAGIC:
        return None
    record: "Dict[str, str]" = {}
    for line in lines[1:]:
        sha, _space, name = line.partition(" ")
        if len(sha) != 64 or not _HEX.issuperset(sha) or name in record:
            return None
        try:
            check_name(name)
        except ReplyError:
            return None
        record[name] = sha
    return record


def load(directory: str) -> "Optional[Dict[str, str]]":
    """The manifest of directory; None when there is none, or none to trust: not a regular
    file, not owned by this user, open to others, too large, or damaged."""
    try:
        fd = os.open(path_in(directory), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (info.st_mode & 0o170000 != 0o100000 or info.st_mode & 0o077
                or info.st_uid != os.geteuid() or info.st_size > _MAX_BYTES):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, _MAX_BYTES + 1)
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > _MAX_BYTES:
        return None
    return decode(data)


def save(directory: str, record: "Dict[str, str]") -> None:
    """Replaces the manifest whole, mode 0600; on any failure (OSError) the old one stays and
    no temporary is left."""
    fd, temporary = create_temporary(directory, FILE_NAME)
    try:
        try:
            view = memoryview(encode(record))
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, MODE)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, path_in(directory))
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
