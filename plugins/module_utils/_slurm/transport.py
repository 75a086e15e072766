# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place that touches the network: one request frame out, one reply frame in.

slurmctld serves one RPC per connection. The whole exchange runs under one deadline, the
reply length is checked against a limit before anything is read, and the reply is read
with recv_into a buffer allocated once.
"""

from __future__ import annotations

import struct
import time

from . import sockets
from .errors import ClosedError, NetworkError, ReplyError, SlurmConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, NamedTuple, Optional
else:
    from .records import NamedTuple

if TYPE_CHECKING:  # ssl costs milliseconds to import; only TLS users pay for it
    import ssl

DEFAULT_PORT = 6817
DEFAULT_MAX_FRAME = 64 << 20
_HTTP = b"HTTP"
_FIRST_READ = 64 << 10


class Address(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (host, self.port)


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> Address:
    """host, host:port, [v6addr], [v6addr]:port, or a bare IPv6 address."""
    from .errors import RequestError
    value = str(text).strip()
    port_text = ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (end + 1 < len(value) and value[end + 1] != ":"):
            raise RequestError("malformed server %r: expected [address] or [address]:port" % text)
        host, port_text = value[1:end], value[end + 2:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    else:
        host = value  # a name, an IPv4 address or a bare IPv6 address
    if not host:
        raise RequestError("malformed server %r: no host" % text)
    if port_text == "":
        return Address(host, default_port)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RequestError("malformed server %r: bad port %r" % (text, port_text))
    return Address(host, int(port_text))


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise sockets.timeout("deadline")
        return remaining


def _recv_into(sock: sockets.socket, view: memoryview, deadline: Deadline) -> int:
    """Fills view until it is full or the peer closes; the deadline bounds the whole read."""
    got = 0
    while got < len(view):
        sock.settimeout(deadline.left())
        count = sock.recv_into(view[got:])
        if count == 0:
            break
        got += count
    return got


#: The socket address each Address was last reached at: parallel attempts (probe.py) go
#: where the first one went, not to a name's first address, which may be dead.
reached: Dict[Address, "tuple[object, ...]"] = {}


def resolver_host(address: Address) -> "str | bytes":
    """address's host as the resolver should get it: an ASCII name as bytes, since a str makes
    Python load its IDNA codec (a millisecond, more than a whole exchange with a local
    controller)."""
    return address.host.encode("ascii") if address.host.isascii() else address.host


def connect(address: Address, deadline: Deadline) -> sockets.socket:
    try:
        sock = sockets.connect_tcp(resolver_host(address), address.port, deadline.left())
        reached[address] = sock.getpeername()
        return sock
    except sockets.timeout:
        raise NetworkError("connection timed out after %gs" % deadline.seconds) from None
    except sockets.gaierror as exc:
        raise NetworkError("cannot resolve %s: %s" % (address.host, exc.strerror or exc)) from None
    except OSError as exc:
        raise NetworkError("cannot connect: %s" % (exc.strerror or exc)) from None


def exchange(address: Address, frame: bytes, timeout: float,
             max_frame: int = DEFAULT_MAX_FRAME,
             tls: Optional["ssl.SSLContext"] = None) -> bytearray:
    """Sends frame, returns the reply frame without its length prefix.

    Raises ClosedError when the peer closes without a byte, HttpReplyError when slurmctld
    answers HTTP, NotSlurmError when what answered is not slurmctld (an SSH, web or TLS
    server, binary noise), ReplyError for an oversized or truncated frame, NetworkError
    otherwise.
    """
    deadline = Deadline(timeout)
    sock = connect(address, deadline)
    got = 0
    try:
        try:
            if tls is not None:
                sock = _handshake(sock, tls, address, deadline)
            sock.settimeout(deadline.left())
            sock.sendall(frame)
            # One read usually brings the length prefix and, for a small configuration, the
            # whole reply: it lands in a buffer allocated once, not in growing strings.
            first = bytearray(_FIRST_READ)
            got = sock.recv_into(first)
            if got == 0:
                raise ClosedError("the controller closed the connection without replying")
            if got < 4:
                got += _recv_into(sock, memoryview(first)[got:4], deadline)
                if got < 4:
                    raise ReplyError("truncated reply: %d of 4 length bytes" % got)
            (length,) = struct.unpack_from(">I", first)
            if first[:4] == _HTTP:
                _http(address, sock, bytes(first[:got]), deadline)
            if length > max_frame or got - 4 < length:
                # Who answered is judged from the first bytes, before waiting for more.
                from .peer import check
                check(address, bytes(first[:got]), "its reply of %d bytes exceeds the "
                      "%d-byte limit" % (length, max_frame) if length > max_frame
                      else "its length prefix announces %d bytes" % length)
            if length > max_frame:
                raise ReplyError("reply of %d bytes exceeds the %d-byte limit"
                                 % (length, max_frame))
            if got - 4 >= length:
                return first[4:4 + length]
            buffer = bytearray(length)
            buffer[:got - 4] = memoryview(first)[4:got]
            got = got - 4 + _recv_into(sock, memoryview(buffer)[got - 4:], deadline)
            if got < length:
                raise ReplyError("truncated reply: %d of %d bytes before the connection closed"
                                 % (got, length))
            return buffer
        except sockets.timeout:
            raise NetworkError("no complete reply within %gs" % timeout) from None
        except ConnectionResetError:
            if not got and tls is None:
                _check_for_tls(address, deadline)
            raise ClosedError("the controller reset the connection without replying") from None
        except OSError as exc:
            if type(exc).__module__ == "ssl":
                raise NetworkError("TLS failed: %s" % (getattr(exc, "reason", None) or exc)) from None
            raise NetworkError("connection failed: %s" % (exc.strerror or exc)) from None
    finally:
        sock.close()


_HTTP_HEAD_LIMIT = 8 << 10
_HTTP_HEAD_WAIT = 1.0
#: Whether a peer that reset a plaintext request speaks TLS: checked once per peer, with
#: one extra connection, and remembered.
_speaks_tls: Dict[Address, bool] = {}


def _http(address: Address, sock: sockets.socket, data: bytes, deadline: Deadline) -> None:
    """An HTTP answer: slurmctld's own (HttpReplyError, negotiation goes on) or a web
    server's (NotSlurmError). Its header is read to its end, briefly: both close after it."""
    from . import peer
    end = time.monotonic() + min(_HTTP_HEAD_WAIT, deadline.left())
    try:
        while b"\r\n\r\n" not in data and len(data) < _HTTP_HEAD_LIMIT:
            sock.settimeout(max(end - time.monotonic(), 0.001))
            chunk = sock.recv(_HTTP_HEAD_LIMIT - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        pass  # judge by what came
    raise peer.http_answer(address, data)


def _check_for_tls(address: Address, deadline: Deadline) -> None:
    """A reset before any byte: slurmctld reads a whole request before it answers or closes,
    while a TLS server drops a plaintext one unread after five bytes. One TLS handshake on a
    second connection tells them apart; raises NotSlurmError for a TLS server."""
    if address not in _speaks_tls:
        _speaks_tls[address] = False
        try:
            sock = connect(address, deadline)
        except SlurmConfigError:
            return
        try:
            sock.settimeout(deadline.left())
            from .tls import speaks_tls
            _speaks_tls[address] = speaks_tls(sock, address.host)
        except OSError:
            return
        finally:
            sock.close()
    if _speaks_tls[address]:
        from . import peer
        raise peer.not_slurm(address, peer.TLS)


def _handshake(sock: sockets.socket, context: "ssl.SSLContext", address: Address,
               deadline: Deadline) -> sockets.socket:
    """The TLS handshake; a failure names its cause (no TLS there, the wrong CA file)."""
    sock.settimeout(deadline.left())
    try:
        return context.wrap_socket(sock, server_hostname=address.host)
    except sockets.timeout:
        raise NetworkError("no TLS handshake within %gs" % deadline.seconds,
                           "does the controller speak TLS? (TLSType=tls/s2n)") from None
    except OSError as exc:
        import ssl
        from .tls import handshake_error
        certificate = None
        if isinstance(exc, ssl.SSLCertVerificationError):
            certificate = _certificate(address, deadline)
        raise handshake_error(exc, context, address.host, certificate) from None


def _certificate(address: Address, deadline: Deadline) -> Optional[bytes]:
    """The peer's certificate, from a second handshake that verifies nothing."""
    try:
        sock = connect(address, deadline)
    except SlurmConfigError:
        return None
    try:
        sock.settimeout(deadline.left())
        from .tls import peer_certificate
        return peer_certificate(sock, address.host)
    except OSError:
        return None
    finally:
        sock.close()
