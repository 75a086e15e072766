# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that touches the network: one request frame out, one reply frame in.

slurmctld serves one RPC per connection. The whole exchange runs under one deadline, the
reply length is checked against a limit before anything is read, and the reply is read
with recv_into a buffer allocated once.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import TYPE_CHECKING, NamedTuple, Optional

from .errors import ClosedError, NetworkError, ReplyError

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


class HttpReplyError(ReplyError):
    """The port answered with HTTP: a 25.11+ controller that did not take our version."""


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
            raise socket.timeout("deadline")
        return remaining


def _recv_into(sock: socket.socket, view: memoryview, deadline: Deadline) -> int:
    """Fills view until it is full or the peer closes; the deadline bounds the whole read."""
    got = 0
    while got < len(view):
        sock.settimeout(deadline.left())
        count = sock.recv_into(view[got:])
        if count == 0:
            break
        got += count
    return got


def connect(address: Address, deadline: Deadline) -> socket.socket:
    # An ASCII name goes to the resolver as bytes: a str makes Python load its IDNA codec
    # (a millisecond, more than the whole exchange with a local controller).
    host = address.host.encode("ascii") if address.host.isascii() else address.host
    try:
        return socket.create_connection((host, address.port), timeout=deadline.left())  # type: ignore[arg-type]
    except socket.timeout:
        raise NetworkError("connection timed out after %gs" % deadline.seconds) from None
    except socket.gaierror as exc:
        raise NetworkError("cannot resolve %s: %s" % (address.host, exc.strerror or exc)) from None
    except OSError as exc:
        raise NetworkError("cannot connect: %s" % (exc.strerror or exc)) from None


def exchange(address: Address, frame: bytes, timeout: float,
             max_frame: int = DEFAULT_MAX_FRAME,
             tls: Optional["ssl.SSLContext"] = None) -> bytearray:
    """Sends frame, returns the reply frame without its length prefix.

    Raises ClosedError when the peer closes without a byte, HttpReplyError when it answers
    HTTP, ReplyError for an oversized or truncated frame, NetworkError otherwise.
    """
    deadline = Deadline(timeout)
    sock = connect(address, deadline)
    try:
        try:
            if tls is not None:
                sock.settimeout(deadline.left())
                sock = tls.wrap_socket(sock, server_hostname=address.host)
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
            if first[:4] == _HTTP:
                line = bytes(first[:got]).split(b"\r\n")[0]
                raise HttpReplyError("the controller answered HTTP: %s"
                                     % line[:80].decode("ascii", "replace"))
            (length,) = struct.unpack_from(">I", first)
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
        except socket.timeout:
            raise NetworkError("no complete reply within %gs" % timeout) from None
        except ConnectionResetError:
            raise ClosedError("the controller reset the connection without replying") from None
        except OSError as exc:
            if type(exc).__module__ == "ssl":
                raise NetworkError("TLS failed: %s" % (getattr(exc, "reason", None) or exc)) from None
            raise NetworkError("connection failed: %s" % (exc.strerror or exc)) from None
    finally:
        sock.close()
