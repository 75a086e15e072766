# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Users and groups named by name or number, as Slurm's own options take them: the owner
and group of written files, and the SlurmUser a watcher trusts. Each caller says in its
own words what an unknown name means."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Optional, Tuple


class UnknownAccount(LookupError):
    """No such user or group here; what is "user" or "group", name as it was given."""

    def __init__(self, what: str, name: str) -> None:
        super().__init__("no %s %r on this host" % (what, name))
        self.what, self.name = what, name


def owner_ids(owner: "Optional[str]", group: "Optional[str]") -> "Tuple[Optional[int], Optional[int]]":
    """uid and gid of an owner and a group given by name or number (None: leave as is);
    UnknownAccount for one that does not exist."""
    uid = None if owner is None else user_id(owner)
    if owner is not None and uid is None:
        raise UnknownAccount("user", owner)
    gid = None if group is None else group_id(group)
    if group is not None and gid is None:
        raise UnknownAccount("group", group)
    return uid, gid


def user_id(name: "str | int") -> "Optional[int]":
    """The uid of a user name or number; None when no such user exists here."""
    return _lookup(name, "pwd")


def group_id(name: "str | int") -> "Optional[int]":
    """The gid of a group name or number; None when no such group exists here."""
    return _lookup(name, "grp")


def _lookup(name: "str | int", database: str) -> "Optional[int]":
    text = str(name)
    if text.isdigit():
        return int(text)
    import grp
    import pwd
    try:
        return pwd.getpwnam(text).pw_uid if database == "pwd" else grp.getgrnam(text).gr_gid
    except KeyError:
        return None
