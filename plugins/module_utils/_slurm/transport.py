# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Talking to controllers: one request frame out, one reply frame in, per connection.

slurmctld serves one RPC per connection. The whole exchange runs under one deadline, the
reply's length is judged (frames.FrameReader tells it first) before anything is allocated
for it, and a small reply arrives whole in one read. probe.py sends several at once over
the same Network. What else touches a socket is local (munged, the sack socket) or listens
(listen.py).
"""

from __future__ import annotations

import errno
import time

from . import sockets
from .errors import ClosedError, NetworkError, ReplyError, SlowError, SlurmConfigError
from .frames import FrameReader

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
_HTTP_HEAD_LIMIT = 8 << 10
_HTTP_HEAD_WAIT = 1.0


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


def resolver_host(address: Address) -> "str | bytes":
    """address's host as the resolver should get it: an ASCII name as bytes, since a str makes
    Python load its IDNA codec (a millisecond, more than a whole exchange with a local
    controller)."""
    return address.host.encode("ascii") if address.host.isascii() else address.host


class Network:
    """How one session reaches its controllers, and what it learned of each on the way: the
    socket address each was reached at (parallel attempts in probe.py go where the first one
    went, not to a name's first address, which may be dead) and whether a peer that reset a
    plaintext request speaks TLS (checked once, with one extra connection).

    source, when given, is the local address every connection leaves from: a controller
    pushes to the address a registration came from.
    """

    def __init__(self, tls: Optional["ssl.SSLContext"] = None,
                 max_frame: int = DEFAULT_MAX_FRAME, source: Optional[str] = None) -> None:
        self.tls = tls
        self.max_frame = max_frame
        self.source = source
        self.reached: Dict[Address, "tuple[object, ...]"] = {}
        self.speaks_tls: Dict[Address, bool] = {}

    def connect(self, address: Address, deadline: Deadline) -> sockets.socket:
        try:
            sock = sockets.connect_tcp(resolver_host(address), address.port, deadline.left(),
                                       self.source)
            self.reached[address] = sock.getpeername()
            return sock
        except sockets.timeout:
            raise NetworkError("connection timed out after %gs" % deadline.seconds) from None
        except sockets.gaierror as exc:
            raise NetworkError("cannot resolve %s: %s" % (address.host, exc.strerror or exc)) from None
        except OSError as exc:
            raise NetworkError("cannot connect%s: %s" % (
                " from %s" % self.source if self.source and exc.errno == errno.EADDRNOTAVAIL else "",
                exc.strerror or exc)) from None

    def exchange(self, address: Address, frame: bytes, timeout: float) -> bytearray:
        """Sends frame, returns the reply frame without its length prefix.

        Raises ClosedError when the peer closes without a byte, HttpReplyError when
        slurmctld answers HTTP, NotSlurmError when what answered is not slurmctld (an SSH,
        web or TLS server, binary noise), ReplyError for an oversized or truncated frame,
        NetworkError otherwise.
        """
        deadline = Deadline(timeout)
        sock = self.connect(address, deadline)
        tls = self.tls
        # One read usually brings the length prefix and, for a small configuration, the
        # whole reply: it lands in a buffer allocated once, not in growing strings.
        reader = FrameReader(first_read=_FIRST_READ)
        try:
            try:
                if tls is not None:
                    sock = self._handshake(sock, tls, address, deadline)
                sock.settimeout(deadline.left())
                sock.sendall(frame)
                judge = Judge(address, sock, self.max_frame, deadline)
                if not sockets.receive(sock, reader, judge, deadline.left):
                    raise closed_early(reader)
                return reader.take()
            except sockets.timeout:
                raise SlowError("no complete reply within %gs" % timeout) from None
            except ConnectionResetError:
                if not reader.started and tls is None:
                    self._check_for_tls(address, deadline)
                raise ClosedError("the controller reset the connection without replying") from None
            except OSError as exc:
                if type(exc).__module__ == "ssl":
                    raise NetworkError("TLS failed: %s" % (getattr(exc, "reason", None) or exc)) from None
                raise NetworkError("connection failed: %s" % (exc.strerror or exc)) from None
        finally:
            sock.close()

    def _check_for_tls(self, address: Address, deadline: Deadline) -> None:
        """A reset before any byte: slurmctld reads a whole request before it answers or
        closes, while a TLS server drops a plaintext one unread after five bytes. One TLS
        handshake on a second connection tells them apart; raises NotSlurmError for a TLS
        server."""
        if address not in self.speaks_tls:
            self.speaks_tls[address] = False
            try:
                sock = self.connect(address, deadline)
            except SlurmConfigError:
                return
            try:
                sock.settimeout(deadline.left())
                from .tls import speaks_tls
                self.speaks_tls[address] = speaks_tls(sock, address.host)
            except OSError:
                return
            finally:
                sock.close()
        if self.speaks_tls[address]:
            from . import peer
            raise peer.not_slurm(address, peer.TLS)

    def _certificate(self, address: Address, deadline: Deadline) -> Optional[bytes]:
        """The peer's certificate, from a second handshake that verifies nothing."""
        try:
            sock = self.connect(address, deadline)
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

    def _handshake(self, sock: sockets.socket, context: "ssl.SSLContext", address: Address,
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
                certificate = self._certificate(address, deadline)
            raise handshake_error(exc, context, address.host, certificate) from None


def closed_early(reader: FrameReader) -> SlurmConfigError:
    """The error for a controller that closed before its reply was whole: nothing at all,
    a length cut short, or a body cut short."""
    if not reader.started:
        return ClosedError("the controller closed the connection without replying")
    if reader.body is None:
        return ReplyError("truncated reply: %s" % reader.progress())
    return ReplyError("truncated reply: %s before the connection closed"
                      % reader.progress().replace(" frame", ""))


class Judge:
    """What answered, judged from the first bytes of a reply once its length is known and
    before anything is allocated for it: slurmctld's own HTTP answer (HttpReplyError, a
    turned-down version), something that is not slurmctld (NotSlurmError), or a reply over
    the limit (ReplyError). A blocking read that did not bring the whole reply (partial) is
    judged too, before waiting for more; probe.py, whose non-blocking reads come in pieces
    anyway, judges its replies here with partial off."""

    __slots__ = ("address", "sock", "max_frame", "deadline", "partial")

    def __init__(self, address: Address, sock: sockets.socket, max_frame: int,
                 deadline: Deadline, partial: bool = True) -> None:
        self.address, self.sock, self.max_frame, self.deadline = address, sock, max_frame, deadline
        self.partial = partial

    def __call__(self, reader: FrameReader) -> None:
        length = reader.length or 0
        data = reader.first_bytes()
        if data[:4] == _HTTP:
            self._http(data)
        too_big = length > self.max_frame
        if too_big or (self.partial and len(data) - 4 < length):
            from .peer import check
            check(self.address, data, "its reply of %d bytes exceeds the %d-byte limit"
                  % (length, self.max_frame) if too_big
                  else "its length prefix announces %d bytes" % length)
        if too_big:
            raise ReplyError("reply of %d bytes exceeds the %d-byte limit" % (length, self.max_frame))

    def _http(self, data: bytes) -> None:
        """An HTTP answer: slurmctld's own or a web server's. Its header is read to its end,
        briefly: both close after it."""
        from . import peer
        end = time.monotonic() + min(_HTTP_HEAD_WAIT, self.deadline.left())
        try:
            while b"\r\n\r\n" not in data and len(data) < _HTTP_HEAD_LIMIT:
                self.sock.settimeout(max(end - time.monotonic(), 0.001))
                chunk = self.sock.recv(_HTTP_HEAD_LIMIT - len(data))
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass  # judge by what came
        raise peer.http_answer(self.address, data)
