# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A client for munged's UNIX socket: encodes a credential without libmunge.

One request per connection: an 11-byte header (magic, version 4, type, retry, length) and
an ENC_REQ body; munged learns our uid from the kernel (SO_PEERCRED).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import time

from .. import sockets
from ..errors import ReplyError, RequestError
from ..messages import AUTH_MUNGE
from ..wire import packstr, u32
from .credentials import Credentials

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Optional, Sequence

DEFAULT_SOCKETS = ("/run/munge/munge.socket.2", "/var/run/munge/munge.socket.2")

_MAGIC = 0x00606D4B
_VERSION = 4
_ENC_REQ = 2
_ENC_RSP = 3
_DEFAULT = 1  # cipher, mac and zip: the daemon's defaults
_UID_ANY = 0xFFFFFFFF
_HEADER = struct.Struct(">IBBBI")
_MAX_REPLY = 1 << 20
_ERRORS = {
    1: "a munge library error", 2: "invalid argument", 3: "buffer overrun",
    4: "out of memory", 5: "munged could not be reached", 6: "a socket error",
    7: "timed out", 8: "bad length", 9: "bad credential", 10: "bad version",
    11: "bad cipher", 12: "bad mac", 13: "bad compression", 14: "bad realm",
    15: "credential invalid", 16: "credential expired", 17: "credential rewound",
    18: "credential replayed", 19: "unauthorized",
}


def find_socket(path: Optional[str] = None) -> str:
    """The munged socket to use: the given one, or the first default that exists."""
    candidates: Sequence[str] = (path,) if path else DEFAULT_SOCKETS
    for candidate in candidates:
        try:
            mode = os.stat(candidate).st_mode
        except OSError:
            continue
        if not stat.S_ISSOCK(mode):
            raise RequestError("%s is not a socket, so not munged's" % candidate,
                               "set {munge_socket} to the socket munged listens on")
        return candidate
    raise RequestError("munged socket not found at %s" % " or ".join(candidates),
                       "is munged running on this host? set {munge_socket} if it listens elsewhere")


def _reply(sock: sockets.socket, kind: int, path: str) -> bytes:
    """munged's reply of kind: a header ending in the body's length, judged before anything
    is allocated for the body, then the body."""
    from ..frames import FrameReader

    def judge(reader: FrameReader) -> None:
        magic, version, got, _retry, length = _HEADER.unpack(reader.first_bytes()[:_HEADER.size])
        if magic != _MAGIC or version != _VERSION or got != kind or length > _MAX_REPLY:
            raise RequestError("unexpected reply from munged at %s" % path)
    reader = FrameReader(head_size=_HEADER.size)
    if not sockets.receive(sock, reader, judge):
        raise RequestError("munged closed the connection mid-reply")
    return bytes(reader.take())


def _encode_once(path: str, payload: bytes, timeout: float, retry: int) -> bytes:
    body = struct.pack(">BBBB", _DEFAULT, _DEFAULT, _DEFAULT, 0)  # no realm
    body += struct.pack(">IIII", 0, _UID_ANY, _UID_ANY, len(payload)) + payload
    request = _HEADER.pack(_MAGIC, _VERSION, _ENC_REQ, retry, len(body)) + body
    sock = sockets.connect_unix(path, timeout)
    try:
        sock.sendall(request)
        reply = _reply(sock, _ENC_RSP, path)
    finally:
        sock.close()
    return _credential(reply, path)


def _credential(reply: bytes, path: str) -> bytes:
    """The credential in an ENC_RSP body: error number, error text, then the credential."""
    if len(reply) < 2 or len(reply) < 2 + reply[1] + (0 if reply[0] else 4):
        raise RequestError("munged at %s sent a truncated reply" % path)
    error_num, error_len = reply[0], reply[1]
    if error_num:
        text = reply[2:2 + error_len].rstrip(b"\0").decode("utf-8", "replace")
        raise RequestError("munged refused to encode: %s"
                           % (text or _ERRORS.get(error_num, "error %d" % error_num)))
    offset = 2 + error_len
    (data_len,) = struct.unpack_from(">I", reply, offset)
    credential = reply[offset + 4:offset + 4 + data_len].rstrip(b"\0")
    if not credential.startswith(b"MUNGE:"):
        raise RequestError("munged returned something that is not a credential")
    return credential


def encode(payload: bytes, path: Optional[str] = None, timeout: float = 5.0,
           attempts: int = 5) -> bytes:
    """A fresh credential carrying payload, unrestricted (any uid may decode it)."""
    socket_path = find_socket(path)
    delay = 0.05
    for attempt in range(attempts):
        try:
            return _encode_once(socket_path, payload, timeout, attempt)
        except OSError as exc:
            transient = exc.errno in (errno.ECONNREFUSED, errno.EAGAIN, errno.EINTR)
            if not transient or attempt == attempts - 1:
                if isinstance(exc, sockets.timeout):
                    raise RequestError("munged at %s did not answer within %gs"
                                       % (socket_path, timeout)) from None
                if exc.errno == errno.ECONNREFUSED:
                    raise RequestError("munged is not running: the socket %s refuses connections"
                                       % socket_path, "start munged (systemctl start munge), "
                                       "or set {munge_socket} to where it listens") from None
                raise RequestError("cannot talk to munged at %s: %s"
                                   % (socket_path, exc.strerror or exc)) from None
            time.sleep(delay)
            delay *= 2
    raise RequestError("cannot talk to munged at %s" % socket_path)  # not reached


_DEC_REQ = 4
_DEC_RSP = 5


class CredentialRefused(ReplyError):
    """munged decoded the credential and found it bad (invalid, expired, replayed...)."""


def _decode_reply(reply: bytes, path: str) -> "tuple[int, int, bytes]":
    """(uid, encode time, payload) from a DEC_RSP body."""
    try:
        error_num, error_len = reply[0], reply[1]
        if error_num:
            text = reply[2:2 + error_len].rstrip(b"\0").decode("utf-8", "replace")
            raise CredentialRefused(text or _ERRORS.get(error_num, "error %d" % error_num))
        offset = 2 + error_len + 3  # cipher, mac, zip
        offset += 1 + reply[offset]  # realm
        offset += 4  # ttl
        offset += 1 + reply[offset]  # origin address
        encode_time, _decode_time, uid, _gid, _auth_uid, _auth_gid, length = struct.unpack_from(
            ">IIIIIII", reply, offset)
        offset += 28
    except (IndexError, struct.error):
        raise RequestError("munged at %s sent a truncated reply" % path) from None
    if offset + length > len(reply):
        raise RequestError("munged at %s sent a truncated reply" % path)
    return uid, encode_time, reply[offset:offset + length]


def decode(credential: bytes, path: str, as_uid: int, timeout: float = 5.0) -> "tuple[int, int, bytes]":
    """Asks munged to decode credential as uid as_uid (a credential restricted to SlurmUser
    is decoded only for SlurmUser: root must ask as that uid, which the kernel tells munged
    at connect). Returns (uid that made it, encode time, payload); munged has checked the
    MAC, the lifetime and that it never decoded this credential before."""
    data = credential.rstrip(b"\0") + b"\0"
    body = struct.pack(">I", len(data)) + data
    request = _HEADER.pack(_MAGIC, _VERSION, _DEC_REQ, 0, len(body)) + body
    sock = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
    switched = os.geteuid() == 0 and as_uid != 0
    try:
        sock.settimeout(timeout)
        if switched:
            os.seteuid(as_uid)  # only for connect(): SO_PEERCRED records the effective uid
        try:
            sock.connect(path)
        finally:
            if switched:
                os.seteuid(0)
        sock.sendall(request)
        reply = _reply(sock, _DEC_RSP, path)
    except OSError as exc:
        raise RequestError("cannot talk to munged at %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        sock.close()
    return _decode_reply(reply, path)


class MungeCredentials(Credentials):
    name = "munge"
    rejected_hint = ("check that this host's munge key matches the controller's, that "
                     "AuthType is auth/munge, and that the clocks agree")

    def __init__(self, socket_path: Optional[str] = None, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        from .body_hash import body_hash
        payload = body_hash(version, msg_type, body)
        credential = encode(payload, self.socket_path, self.timeout)
        return u32(AUTH_MUNGE) + packstr(credential)
