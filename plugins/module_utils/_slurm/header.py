# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The three header layouts (H1: 35, H2: 36-37, H3: 38+), chosen by the header's version."""

from __future__ import annotations

from .errors import ReplyError
from .versions import PROTO_20_02, PROTO_22_05, PROTO_23_11, PROTO_24_11
from .wire import Reader, u16, u32

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import NamedTuple
else:
    from .records import NamedTuple

# Header flag bits (test single bits: controllers echo ours and add their own).
FLAG_NO_AUTH_CRED = 0x0040
FLAG_PACK_ADDRS = 0x0080


_AF_UNSPEC = 0
_AF_INET = 2
_AF_INET6 = 10


class Header(NamedTuple):
    version: int
    flags: int
    msg_type: int
    body_length: int


def header_size(version: int) -> int:
    """The length of a reply's header with no forwarding, no ret list and an unset origin,
    as encode_header writes it: H1 (20.02) 22 bytes, H2 (20.11, 21.08) 18, H3 (22.05+) 16."""
    return (2 + 2 + (2 if version < PROTO_22_05 else 0) + 2 + 4 + 2 + 2
            + (6 if version <= PROTO_20_02 else 2))


def type_offset(version: int) -> int:
    """Where msg_type starts in a header of this version (after version, flags and, before
    22.05, msg_index); body_length follows it."""
    return 4 + (2 if version < PROTO_22_05 else 0)


def encode_header(version: int, msg_type: int, body_length: int, flags: int = 0) -> bytes:
    """A request header with no forwarding, no ret list and an unset origin address."""
    out = u16(version) + u16(flags)
    if version < PROTO_22_05:
        out += u16(0)  # msg_index
    out += u16(msg_type) + u32(body_length) + u16(0) + u16(0)  # forward.cnt, ret_cnt
    if version <= PROTO_20_02:
        out += bytes(6)  # H1: IPv4 address and port, zero when unset
    else:
        out += u16(_AF_UNSPEC)
    return out


def decode_header(reader: Reader) -> Header:
    """Reads a reply header in the layout its own version declares."""
    version = reader.u16("header version")
    flags = reader.u16("header flags")
    if version < PROTO_20_02:
        raise ReplyError("reply declares protocol version 0x%04x, older than any Slurm "
                         "release that serves configurations" % version)
    if version < PROTO_22_05:
        reader.u16("header msg_index")
    msg_type = reader.u16("header msg_type")
    body_length = reader.u32("header body_length")
    forward_count = reader.u16("header forward count")
    if forward_count:
        reader.packstr("header forward nodelist")
        reader.u32("header forward timeout")
        reader.u16("header forward tree_width")
        if version >= PROTO_23_11 and flags & FLAG_PACK_ADDRS:
            reader.packstr("header forward net_cred")
        if version >= PROTO_24_11:
            reader.u16("header forward tree_depth")
    if reader.u16("header ret_cnt"):
        raise ReplyError("reply header carries a ret list, which slurmctld never sends")
    if version <= PROTO_20_02:
        reader.skip(6, "header orig_addr")
    else:
        family = reader.u16("header address family")
        if family == _AF_INET:
            reader.skip(6, "header IPv4 address")
        elif family == _AF_INET6:
            if reader.u32("header IPv6 address length") != 16:
                raise ReplyError("reply header has a malformed IPv6 address")
            reader.skip(18, "header IPv6 address")
        elif family != _AF_UNSPEC:
            raise ReplyError("reply header has unknown address family %d" % family)
    return Header(version, flags, msg_type, body_length)
