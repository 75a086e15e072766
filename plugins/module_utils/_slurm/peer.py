# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who answered: names the peer from the first bytes it sent. Pure functions, no I/O.

A wrong host or port answers with something that is not Slurm at all: an SSH banner, a TLS
record, a web server's error page, binary noise. Read as a Slurm frame, those are "a reply
of 1397966893 bytes" or "a truncated reply"; this says what they are instead.
"""

from __future__ import annotations

from .errors import HttpReplyError, NotSlurmError
from .messages import RESPONSE_CONFIG, RESPONSE_SLURM_RC, RESPONSE_SLURM_RC_MSG
from .header import header_size, type_offset
from .versions import NEWEST, PROTO_20_02, shifted

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Optional

TLS = "a TLS server (this controller or proxy speaks TLS: give {tls_ca})"
WRONG_PORT = "check the host and port; slurmctld listens on SlurmctldPort, 6817 by default"

_REPLY_TYPES = (RESPONSE_CONFIG, RESPONSE_SLURM_RC, RESPONSE_SLURM_RC_MSG)
# Replies come in the version we asked for, or in the controller's own (a rejection, a TLS
# demand): allow a few releases newer than we know, not more.
_NEWEST_PLAUSIBLE = shifted(NEWEST, 4)
_TLS_CONTENT_TYPES = (20, 21, 22, 23)  # change_cipher_spec, alert, handshake, application_data
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def describe(data: bytes) -> Optional[str]:
    """What sent data, as a phrase to follow "X is"; None when it may well be slurmctld."""
    if not data:
        return None
    if data.startswith(b"SSH-"):
        return "an SSH server (%s)" % _first_line(data)
    if is_tls_record(data):
        return TLS
    if data.startswith(b"HTTP/"):
        if is_slurm_http(data):
            return None
        return "an HTTP server, not Slurm (%s)" % _http_summary(data)
    if plausible_frame(data):
        return None
    if all(byte in _PRINTABLE for byte in data[:64]):
        return "a server of some text protocol, not Slurm (it said: %s)" % _first_line(data)
    return "not a Slurm controller: the reply's first bytes are 0x%s (unknown binary)" % data[:16].hex()


def is_tls_record(data: bytes) -> bool:
    """A TLS record header: content type, then major version 3, minor 0 (SSL 3) to 4."""
    return len(data) >= 3 and data[0] in _TLS_CONTENT_TYPES and data[1] == 3 and data[2] <= 4


def is_slurm_http(data: bytes) -> bool:
    """slurmctld 25.11+ with HTTP on answers a binary request in a protocol it does not take
    with its own HTTP rejection ("HTTP/1.1 405 NOT ALLOWED", Content-Length, Content-Type:
    text/plain, the error text). Its reason phrases are upper case and it sends no Server
    header, unlike web servers and proxies ("400 Bad Request", "Server: nginx")."""
    lines = _head_lines(data)
    status = lines[0].split(b" ", 2)
    if len(status) != 3 or status[0] not in (b"HTTP/1.0", b"HTTP/1.1") or not status[1].isdigit():
        return False
    reason = status[2]
    if not reason.replace(b" ", b"").isalpha() or reason != reason.upper():
        return False
    return not any(line.lower().startswith(b"server:") for line in lines[1:])


def plausible_frame(data: bytes) -> bool:
    """Whether data can begin a Slurm reply frame, judged on the bytes at hand: a length a
    header and a body fit in, a version a controller answers in, a reply message type, and
    a body length within the frame."""
    if len(data) < 4:
        return True  # too little to tell
    length = int.from_bytes(data[:4], "big")
    if len(data) < 6:
        return length >= 20
    version = int.from_bytes(data[4:6], "big")
    if version & 0xFF or not PROTO_20_02 <= version <= _NEWEST_PLAUSIBLE:
        return False
    header = header_size(version)
    type_at = 4 + type_offset(version)  # after the frame's length
    if length < header + 4:  # the smallest body, a return code, is 4 bytes
        return False
    if len(data) >= type_at + 2:
        msg_type = int.from_bytes(data[type_at:type_at + 2], "big")
        if msg_type not in _REPLY_TYPES:
            return False
    if len(data) >= type_at + 6:
        body_length = int.from_bytes(data[type_at + 2:type_at + 6], "big")
        if body_length > length - header:
            return False
    return True


def _head_lines(data: bytes) -> List[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def _first_line(data: bytes) -> str:
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    text = line[:80].decode("ascii", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)


def _http_summary(data: bytes) -> str:
    """The status line and the Server header, e.g. "HTTP/1.1 400 Bad Request, Server: nginx"."""
    lines = _head_lines(data)
    parts = [_first_line(lines[0])]
    for line in lines[1:]:
        if line.lower().startswith(b"server:"):
            parts.append("Server: " + _first_line(line[7:].strip()))
    return ", ".join(parts)


def not_slurm(address: object, what: str, symptom: Optional[str] = None) -> NotSlurmError:
    """The error for a peer that describe() named; symptom is how its bytes read as Slurm."""
    if what == TLS:
        return NotSlurmError("%s is %s" % (address, what))
    if symptom and what.startswith("not a Slurm controller"):
        what += "; read as Slurm, " + symptom
    elif "not " not in what:
        what += ", not slurmctld"
    return NotSlurmError("%s is %s" % (address, what), WRONG_PORT)


def check(address: object, data: bytes, symptom: str) -> None:
    """Raises NotSlurmError when the first bytes show that something else answered."""
    what = describe(data)
    if what is not None:
        raise not_slurm(address, what, symptom)


def http_answer(address: object, data: bytes, symptom: Optional[str] = None) -> Exception:
    """The error for an answer that began with HTTP: slurmctld's own (HttpReplyError, which
    negotiation takes as a refusal of the version) or another server's (NotSlurmError)."""
    what = describe(data)
    if what is not None:
        return not_slurm(address, what, symptom)
    line = data.split(b"\r\n")[0]
    return HttpReplyError("the controller answered HTTP: %s" % line[:80].decode("ascii", "replace"))
