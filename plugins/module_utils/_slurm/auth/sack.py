# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sack socket: a local Slurm daemon (sackd, slurmd, slurmctld) mints an auth/slurm
token for the calling process, identified by the kernel. Used when we hold no key."""

from __future__ import annotations

import errno
import os

from .. import sockets
from ..errors import RequestError
from ..wire import packmem, u16, u32

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Optional, Sequence

SACK_CREATE = 64001
RUID_ANY = 0xFFFFFFFF
DEFAULT_SOCKETS = ("/run/slurm/sack.socket", "/run/slurmctld/sack.socket",
                   "/run/slurmdbd/sack.socket")
_MAX_TOKEN = 1 << 16


def find_socket(path: Optional[str] = None) -> Optional[str]:
    candidates: Sequence[str]
    if path:
        candidates = (path,)
    elif os.environ.get("SLURM_SACK_SOCKET"):
        candidates = (os.environ["SLURM_SACK_SOCKET"],)
    else:
        candidates = DEFAULT_SOCKETS
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate
    if path:
        raise RequestError("the sack socket %s does not exist" % path,
                           "is sackd or slurmd running on this host?")
    return None


def create_token(path: str, payload: bytes, version: int, timeout: float = 5.0) -> str:
    from ..frames import FrameReader
    message = u32(SACK_CREATE) + u32(RUID_ANY) + packmem(payload)
    request = u16(version) + u32(len(message) + 4) + message

    def judge(reader: FrameReader) -> None:
        if not 0 < (reader.length or 0) <= _MAX_TOKEN:
            raise RequestError("the sack socket %s sent %s" % (
                path, "an oversized reply" if reader.length else "a malformed token"))
    reader = FrameReader()
    try:
        sock = sockets.connect_unix(path, timeout)
        try:
            sock.sendall(request)
            whole = sockets.receive(sock, reader, judge)
        finally:
            sock.close()
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:
            raise RequestError("nothing listens on the sack socket %s: it refuses connections"
                               % path, "start sackd or slurmd, or give {slurm_key}") from None
        raise RequestError("cannot get a token from the sack socket %s: %s"
                           % (path, exc.strerror or exc)) from None
    if not whole:
        raise RequestError("the sack socket %s refused to mint a token" % path
                           if not reader.started else
                           "the sack socket %s sent a malformed token" % path)
    token = reader.take()
    if token[-1] != 0:
        raise RequestError("the sack socket %s sent a malformed token" % path)
    return token[:-1].decode("ascii", "replace")
