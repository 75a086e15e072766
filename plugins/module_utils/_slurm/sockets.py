# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sockets without the start-up of Python's socket module.

`import socket` costs several milliseconds, more than a whole fetch from a local
controller: it turns every constant into an enum (importing enum, functools and
collections) and imports selectors. Its C core, _socket, has everything a client needs;
this module adds the one piece it lacks, connecting to the first address that accepts.
The TLS paths, which pay for ssl (and so socket) anyway, may use socket itself: the
objects are the same sockets underneath. The watcher's listener does not, as it runs for
days.
"""

from __future__ import annotations

from .frames import LENGTH

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same interface, typed as the socket module's
    import socket as _impl
    from typing import Any, Callable, Optional, Sequence, Tuple

    from .frames import FrameReader
else:
    try:
        import _socket as _impl
    except ImportError:  # an interpreter without CPython's C module: the slower way
        import socket as _impl

socket = _impl.socket
#: Raised when a timeout set with settimeout() expires (TimeoutError from Python 3.10).
timeout = _impl.timeout
#: Raised when a name does not resolve.
gaierror = _impl.gaierror
AF_INET = _impl.AF_INET
AF_INET6 = _impl.AF_INET6
AF_UNIX = _impl.AF_UNIX
SOCK_STREAM = _impl.SOCK_STREAM
SOCK_DGRAM = _impl.SOCK_DGRAM
# For listening (listen.py).
AF_UNSPEC = _impl.AF_UNSPEC
AI_PASSIVE = _impl.AI_PASSIVE
SOL_SOCKET = _impl.SOL_SOCKET
SO_REUSEADDR = _impl.SO_REUSEADDR
IPPROTO_IPV6 = _impl.IPPROTO_IPV6
IPV6_V6ONLY = _impl.IPV6_V6ONLY
SOMAXCONN = _impl.SOMAXCONN
has_ipv6 = _impl.has_ipv6
gethostname = _impl.gethostname
inet_aton = _impl.inet_aton


def _ascii(host: "str | bytes") -> "str | bytes":
    """An ASCII host name as bytes: Python encodes a str host with the idna codec, whose
    import (unicodedata, stringprep) costs a watcher 0.6 MiB for life. An international name
    stays a str, for the codec."""
    return host.encode() if isinstance(host, str) and host.isascii() else host


def getaddrinfo(host: "str | bytes | None", port: "int | str | None", family: int = 0,
                kind: int = 0, proto: int = 0,
                flags: int = 0) -> "Sequence[Tuple[int, int, int, str, Tuple[Any, ...]]]":
    """socket.getaddrinfo, without the idna codec for an ASCII name."""
    return _impl.getaddrinfo(None if host is None else _ascii(host), port, family, kind, proto,
                             flags)


def gethostbyname(name: "str | bytes") -> str:
    """socket.gethostbyname, without the idna codec for an ASCII name."""
    host: "Any" = _ascii(name)  # bytes pass as well as str, whatever the stubs say
    return _impl.gethostbyname(host)


#: Idle seconds before the first probe, seconds between probes, probes unanswered: a
#: connection whose peer died or rebooted fails within about 25 s.
_KEEPALIVE = (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))


def keep_alive(sock: "_impl.socket") -> None:
    """Has the kernel probe the connection while it is idle: a client that waits long for a
    busy controller's reply then learns that the controller's host went away, instead of
    waiting on to the end. A busy controller's kernel answers the probes."""
    sock.setsockopt(SOL_SOCKET, _impl.SO_KEEPALIVE, 1)
    for name, value in _KEEPALIVE:
        option = getattr(_impl, name, None)  # Linux's names; elsewhere the system's defaults
        if option is not None:
            sock.setsockopt(_impl.IPPROTO_TCP, option, value)


def _reachable_from(family: int, source: "Optional[str]") -> bool:
    """Whether a connection to an address of family can leave from source (any, when None)."""
    return source is None or (family == AF_INET6) == (":" in source)


def _no_address(host: "str | bytes", source: "Optional[str]") -> OSError:
    return OSError("%r has no address to connect to%s"
                   % (host, " from %s" % source if source else ""))


def first_address(host: "str | bytes", port: int,
                  source: "Optional[str]" = None) -> "Tuple[object, ...]":
    """The socket address of host's first stream address (of source's family, when given)."""
    for family, _kind, _proto, _name, where in getaddrinfo(host, port, 0, SOCK_STREAM):
        if _reachable_from(family, source):
            return where
    raise _no_address(host, source)


def connect_tcp(host: "str | bytes", port: int, seconds: float,
                source: "Optional[str]" = None) -> "_impl.socket":
    """A socket connected to the first of host's addresses that accepts within seconds
    (each address gets that long), or the last address's error. source, when given, is the
    local address to connect from; addresses of the other family are skipped."""
    error: Optional[OSError] = None
    for family, kind, proto, _name, where in getaddrinfo(host, port, 0, SOCK_STREAM):
        if not _reachable_from(family, source):
            continue
        sock = socket(family, kind, proto)
        try:
            sock.settimeout(seconds)
            keep_alive(sock)
            if source is not None:
                sock.bind((source, 0))
            sock.connect(where)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or _no_address(host, source)


def connect_unix(path: str, seconds: float) -> "_impl.socket":
    """A stream socket connected to the Unix socket at path, with that timeout set."""
    sock = socket(AF_UNIX, SOCK_STREAM)
    try:
        sock.settimeout(seconds)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def receive(sock: "_impl.socket", reader: "FrameReader", judge: "Callable[[FrameReader], None]",
            seconds_left: "Optional[Callable[[], float]]" = None) -> bool:
    """Reads one frame into reader from a blocking socket: True once it is complete, False
    when the peer closed first (reader.progress() says how far it got). judge(reader) sees
    the length before anything is allocated for it, and raises to refuse it; seconds_left,
    when given, bounds each read (and raises timeout when nothing is left)."""
    while not reader.complete:
        if seconds_left is not None:
            sock.settimeout(seconds_left())
        count = sock.recv_into(reader.space())
        if count == 0:
            return False
        if reader.received(count) == LENGTH:
            judge(reader)
            reader.allow()
    return True
