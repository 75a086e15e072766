# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The protocol version each controller accepted, remembered across processes.

A later run tries that version first and pays one connection instead of a negotiation.
The file is a hint, never an authority: one that is corrupt, foreign (owned by another
user) or writable by others is ignored, a version that fails sends the client back to
negotiating, and the file holds nothing secret: host, port and version number per line.
"""

from __future__ import annotations

import os

from .transport import Address
from .versions import implemented, number_of, word_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Optional

FILE_NAME = ".straw-versions"
_MAGIC = "straw-versions 1"
_MAX_BYTES = 64 << 10
_MAX_ENTRIES = 256


def default_path(directory: "Optional[str]" = None) -> str:
    """In directory when one is given (bin/straw --state-dir); else in straw.slurm's cache
    (user_cache.py), never beside the configuration it fetched."""
    if directory:
        return os.path.join(directory, FILE_NAME)
    from .user_cache import cache_directory
    return os.path.join(cache_directory(), "versions")


def load(path: str) -> "Dict[Address, int]":
    """The remembered versions; an empty mapping for anything unusable."""
    found = {}  # type: Dict[Address, int]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return found
    try:
        info = os.fstat(fd)
        if (info.st_mode & 0o170000 != 0o100000 or info.st_mode & 0o022
                or info.st_uid not in (0, os.geteuid()) or info.st_size > _MAX_BYTES):
            return found  # not a regular file, writable by others, or foreign
        data = os.read(fd, _MAX_BYTES + 1)
    except OSError:
        return found
    finally:
        os.close(fd)
    try:
        lines = data.decode("ascii").split("\n")
    except UnicodeDecodeError:
        return found
    if not lines or lines[0] != _MAGIC:
        return found
    for line in lines[1:_MAX_ENTRIES + 1]:
        words = line.split(" ")
        if len(words) != 3 or not words[1].isdigit() or not words[2].isdigit():
            continue
        port, version = int(words[1]), word_of(int(words[2]))
        if 0 < port < 65536 and implemented(version) and words[0] and "\x00" not in words[0]:
            found[Address(words[0], port)] = version
    return found


def save(path: str, versions: "Dict[Address, int]") -> bool:
    """Writes the mapping atomically, mode 0644; False (and nothing changed) on any error."""
    text = _MAGIC + "\n" + "".join(
        "%s %d %d\n" % (address.host, address.port, number_of(version))
        for address, version in sorted(versions.items())[:_MAX_ENTRIES]
        if address.host.isascii() and " " not in address.host and "\n" not in address.host)
    directory = os.path.dirname(path) or "."
    temporary = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    try:
        os.makedirs(directory, 0o755, exist_ok=True)
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # left by a run of ours killed mid-save (PID 1 in containers)
            os.unlink(temporary)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, text.encode("ascii"))
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        os.rename(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    return True


def remember(path: str, address: Address, version: int) -> bool:
    """Records one controller's version, keeping the others; writes only on a change."""
    versions = load(path)
    if versions.get(address) == version:
        return True
    versions[address] = version
    return save(path, versions)
