# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""REQUEST_CONFIG bodies (Q1, Q2) and the replies: RESPONSE_CONFIG (R1, R2, R3) and
RESPONSE_SLURM_RC. Pure functions: bytes in, values or a ReplyError out."""

from __future__ import annotations

from .errors import ReplyError
from .header import FLAG_NO_AUTH_CRED, Header, decode_header, encode_header
from .names import check_names
from .versions import PROTO_20_11, PROTO_23_11, PROTO_25_05, number_of
from .wire import NO_VAL, Buffer, Reader, u16, u32

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, NamedTuple, Optional, Union
else:
    from .records import NamedTuple

REQUEST_CONFIG = 2015
RESPONSE_CONFIG = 2016
RESPONSE_SLURM_RC = 8001
RESPONSE_SLURM_RC_MSG = 8002

# config_request_flags: the client set (any authenticated user) or the slurmd set.
CONFIG_REQUEST_CLIENT = 0
CONFIG_REQUEST_SLURMD = 1
CONFIG_REQUEST_SACKD = 2  # 23.11+: also register for pushes, as sackd does

#: 23.11+: the controller pushes the client set to registered clients after a reconfigure.
REQUEST_RECONFIGURE_SACKD = 1006


AUTH_NONE = 100
AUTH_MUNGE = 101
AUTH_JWT = 102
AUTH_SLURM = 103

#: R1 (protocol 35/36) carries twelve fixed fields; the first eleven are these files.
R1_FILES = ("slurm.conf", "acct_gather.conf", "cgroup.conf",
            "cgroup_allowed_devices_file.conf", "ext_sensors.conf", "gres.conf",
            "knl_cray.conf", "knl_generic.conf", "plugstack.conf", "topology.conf",
            "job_container.conf")
#: The R1 fields a controller fills for a client (non-slurmd) request.
R1_CLIENT_FILES = ("slurm.conf", "plugstack.conf", "topology.conf")

# A reply can never list more files than it has bytes for (each entry is >= 9 bytes).
_MIN_ENTRY = 9


#: A file's bytes: bytes, or (as decoded from a reply) a read-only view of the reply frame,
#: so that a large configuration is held once, not twice. Use bytes(content) to keep a copy.
if TYPE_CHECKING:
    Content = Union[bytes, memoryview]
else:
    Content = object  # the hint's name, for the modules that import it


class ConfigFile(NamedTuple):
    """One file of a reply. content is None when the file is absent or (R1) empty."""
    name: str
    content: Optional[Content]
    exists: bool
    executable: bool


class ConfigReply(NamedTuple):
    version: int
    files: List[ConfigFile]
    spool_dir: Optional[str]


class RcReply(NamedTuple):
    version: int
    rc: int


if TYPE_CHECKING:
    Reply = Union[ConfigReply, RcReply]


def encode_request_body(version: int, flags: int, port: int = 0) -> bytes:
    """Q1 (u32 flags) before 25.05, Q2 (u32 flags, u16 port) from 25.05 on. port is where
    a registrant (flags with CONFIG_REQUEST_SACKD) takes pushes; 0 means SlurmdPort."""
    body = u32(flags)
    if version >= PROTO_25_05:
        body += u16(port)
    return body


def encode_request(version: int, auth_section: bytes, body: bytes) -> bytes:
    """The whole frame: u32 length, header, auth section, body."""
    message = encode_header(version, REQUEST_CONFIG, len(body)) + auth_section + body
    return u32(len(message)) + message


def skip_auth_section(reader: Reader) -> None:
    plugin = reader.u32("auth plugin id")
    if plugin == AUTH_NONE:
        reader.u32("auth uid")
        reader.u32("auth gid")
        reader.packstr("auth hostname")
    elif plugin in (AUTH_MUNGE, AUTH_SLURM):
        reader.packstr("auth credential")
    elif plugin == AUTH_JWT:
        reader.packstr("auth token")
        reader.packstr("auth username")
    else:
        raise ReplyError("reply carries an unknown auth plugin id %d" % plugin)


def _text(raw: Optional[bytes], field: str) -> Optional[str]:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReplyError("%s is not valid UTF-8" % field) from None


def _decode_name(raw: Optional[bytes]) -> str:
    if raw is None:
        raise ReplyError("reply lists a file with no name")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReplyError("reply lists a file name that is not valid UTF-8: %r" % raw[:64]) from None


def _decode_r1(reader: Reader, version: int, slurmd_set: bool) -> ConfigReply:
    files = []
    for name in R1_FILES:
        content = reader.packstr("%s content" % name)
        if slurmd_set or name in R1_CLIENT_FILES:
            # R1 cannot tell an empty file from an absent one: both are NULL.
            files.append(ConfigFile(name, content, content is not None, False))
    spool_dir = _text(reader.packstr("slurmd_spooldir"), "slurmd_spooldir")
    return ConfigReply(version, files, spool_dir)


def _config_file(name: str, exists: int, execute: int, view: Optional[memoryview]) -> ConfigFile:
    if not exists:
        content: Optional[Content] = None
    elif view is None:
        content = b""  # present and empty: the controller sends NULL content
    else:
        content = view.toreadonly()  # no copy: the reply frame holds the bytes once
    return ConfigFile(name, content, bool(exists), bool(execute))


def _decode_list(reader: Reader, version: int) -> ConfigReply:
    count = reader.u32("file count")
    if count == NO_VAL:
        count = 0
    if count * _MIN_ENTRY > reader.remaining:
        raise ReplyError("reply claims %d files but holds only %d bytes"
                         % (count, reader.remaining))
    with_execute = version >= PROTO_23_11
    entries = reader.list_entries(count, with_execute)
    if entries is None:  # something is off: read field by field to name it precisely
        entries = []
        for _index in range(count):
            exists = reader.u8("a file's exists flag")
            execute = reader.u8("a file's execute flag") if with_execute else 0
            raw = reader.packstr("a file name")
            name = _decode_name(raw)
            entries.append((exists, execute, raw or b"", reader.packstr_view("the content of " + name)))
    files = [_config_file(_decode_name(raw), exists, execute, view)
             for exists, execute, raw, view in entries]
    spool_dir = _text(reader.packstr("slurmd_spooldir"), "slurmd_spooldir")
    return ConfigReply(version, files, spool_dir)


# What slurmctld sends to slurmd on SlurmdPort: a watcher listening there on a node sees them.
_SLURMD_TYPES = (1001, 1003, 1004)  # REQUEST_RECONFIGURE and ..._WITH_CONFIG, REQUEST_SHUTDOWN
_FOR_SLURMD = ", meant for slurmd: this host is a node of the cluster; give --listen-port"


class Push(NamedTuple):
    """A REQUEST_RECONFIGURE_SACKD frame, decoded but not yet trusted."""
    version: int
    auth_plugin: int
    credential: Optional[bytes]  # the auth section's token (munge or slurm); None for others
    body: bytes  # what the credential's payload hash covers: a RESPONSE_CONFIG body


def decode_push(frame: Buffer) -> Push:
    """A pushed frame's header and auth section. Its body is read (push_files) only once
    auth/ has checked the credential: nobody's bytes are believed before that."""
    reader = Reader(frame)
    header = decode_header(reader)
    if header.msg_type != REQUEST_RECONFIGURE_SACKD:
        raise ReplyError("not a configuration push: message type %d (expected %d)%s"
                         % (header.msg_type, REQUEST_RECONFIGURE_SACKD,
                            _FOR_SLURMD if header.msg_type in _SLURMD_TYPES else ""))
    if header.version < PROTO_23_11:
        raise ReplyError("a push in protocol %d: pushes exist from Slurm 23.11 (protocol 40)"
                         % number_of(header.version))
    if header.flags & FLAG_NO_AUTH_CRED:
        raise ReplyError("a push without credential")
    plugin = reader.u32("auth plugin id")
    if plugin not in (AUTH_MUNGE, AUTH_SLURM):
        raise ReplyError("a push signed with auth plugin %d (only munge and slurm prove "
                         "who sent it)" % plugin)
    credential = reader.packstr("auth credential")
    if header.body_length != reader.remaining:
        raise ReplyError("a push whose header announces a %d-byte body, %d bytes follow"
                         % (header.body_length, reader.remaining))
    return Push(header.version, plugin, credential, bytes(memoryview(frame)[reader.position:]))


def push_files(push: Push) -> ConfigReply:
    """The client set a verified push carries."""
    header = Header(push.version, 0, RESPONSE_CONFIG, len(push.body))
    config = decode_body(header, Reader(push.body, "push body"), slurmd_set=False)
    if not isinstance(config, ConfigReply):
        raise ReplyError("a push whose body is not a configuration")
    return config


def decode_reply(frame: Buffer, slurmd_set: bool = True) -> Reply:
    """Decodes one reply frame (without its u32 length prefix).

    The layouts follow the version the reply declares, not the one we sent; the auth
    section is present exactly when the header lacks FLAG_NO_AUTH_CRED.
    """
    reader = Reader(frame)
    header = decode_header(reader)
    if not header.flags & FLAG_NO_AUTH_CRED:
        skip_auth_section(reader)
    if header.body_length > reader.remaining:
        raise ReplyError("truncated reply: header announces a %d-byte body, %d bytes follow"
                         % (header.body_length, reader.remaining))
    body = Reader(memoryview(frame)[reader.position:reader.position + header.body_length],
                  "reply body")
    return decode_body(header, body, slurmd_set)


def decode_body(header: Header, body: Reader, slurmd_set: bool = True) -> Reply:
    if header.msg_type in (RESPONSE_SLURM_RC, RESPONSE_SLURM_RC_MSG):
        rc = body.u32("return code")
        return RcReply(header.version, rc - (1 << 32) if rc & 0x80000000 else rc)
    if header.msg_type != RESPONSE_CONFIG:
        raise ReplyError("unexpected reply message type %d (expected RESPONSE_CONFIG %d)"
                         % (header.msg_type, RESPONSE_CONFIG))
    if header.version <= PROTO_20_11:
        reply = _decode_r1(body, header.version, slurmd_set)
    else:
        reply = _decode_list(body, header.version)
    check_names(file.name for file in reply.files)
    return reply
