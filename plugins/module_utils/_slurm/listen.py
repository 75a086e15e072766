# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Accepts the frames slurmctld pushes to a registered sackd (REQUEST_RECONFIGURE_SACKD):
one length-prefixed frame per connection, nothing sent back, then the connection closes.

Anyone who can reach the port can connect, so nothing a peer sends may raise, block the
loop or take unbounded memory: a length is checked before its buffer is allocated, every
connection has a deadline counted from accept, and both the number of connections and the
bytes buffered across them are bounded. One poll loop, no threads: select.poll and
_socket (sockets.py) rather than selectors and socket, whose enums and namedtuples
(collections, functools, enum) would stay resident in the watcher for good; a TLS listener
wraps socket's sockets, as ssl needs (it imports socket itself). Decoding and
verifying a frame is the caller's business.

The bounds are shared fairly between source addresses, so that one stranger cannot spend
them all and keep the controller's push out: each source may hold a few connections and
one frame's worth of bytes, and when the listener is full, a source that holds less takes
room from the one that holds the most.
"""

from __future__ import annotations

import errno
import select
import time

from . import sockets
from .frames import FRAME, LENGTH, FrameReader

TYPE_CHECKING = False
if TYPE_CHECKING:  # never true at run time: typing costs milliseconds to import
    import socket
    import ssl
    from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Type

    from .errors import RequestError
else:
    from .records import NamedTuple


class Frame(NamedTuple):
    """A complete frame from peer, without its 4-byte length prefix."""

    peer: str
    data: bytes


class Rejection(NamedTuple):
    """A connection closed without a frame, and why (one line); peer is "" when the
    listener itself could not accept. kind sorts reasons for a log that summarises."""

    peer: str
    reason: str
    kind: str


READ_BUDGET = 1 << 20     # bytes read from one connection per round, so that others get their turn
ACCEPT_BATCH = 1024       # connections accepted per round, so that a flood cannot hold the loop
ACCEPT_PAUSE = 1.0        # seconds without accepting when the process is out of descriptors
MAX_PER_SOURCE = 8        # connections at once from one address: a push needs one
# accept() errors that mean "out of resources": the socket stays readable, so retrying spins.
EXHAUSTED = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
LISTENING, WAKEUP = "listening", "wakeup"
EVENT_READ, EVENT_WRITE = select.POLLIN, select.POLLOUT
# Kinds of rejection.
GARBAGE, OVERSIZED, SLOW, CLOSED, BUSY, TLS, LOCAL = (
    "garbage", "oversized", "slow", "closed", "busy", "tls", "local")


class _Source:
    """What one address holds: its connections (oldest first) and its frame buffers' bytes."""

    __slots__ = ("connections", "held")

    def __init__(self) -> None:
        self.connections: Dict[int, _Connection] = {}
        self.held = 0


class _Connection:
    """One accepted peer and the frame it is sending (frames.py reads it)."""

    __slots__ = ("events", "expires", "handshaking", "peer", "reader", "sock", "source")

    def __init__(self, sock: "socket.socket", peer: str, source: str, expires: float,
                 handshaking: bool) -> None:
        self.sock = sock
        self.peer = peer
        self.source = source
        self.expires = expires
        self.handshaking = handshaking
        self.reader = FrameReader()
        self.events = EVENT_READ

    @property
    def held(self) -> int:
        """Bytes of frame buffer this connection holds."""
        return len(self.reader.body) if self.reader.body is not None else 0


class _Poller:
    """What the loop needs of a selector: each descriptor's events and the object that
    stands for it, and poll() giving those objects for the descriptors that are ready."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self._data: Dict[int, object] = {}

    def register(self, fd: int, events: int, data: object) -> None:
        if fd in self._data:
            raise KeyError("descriptor %d is already registered" % fd)
        self._poll.register(fd, events)
        self._data[fd] = data

    def modify(self, fd: int, events: int, data: object) -> None:
        self._poll.modify(fd, events)
        self._data[fd] = data

    def unregister(self, fd: int) -> None:
        del self._data[fd]
        self._poll.unregister(fd)

    def select(self, timeout: Optional[float]) -> List[object]:
        """The objects of the descriptors ready (or in error: the handler finds out which)
        within timeout seconds (None: no limit)."""
        wait = None if timeout is None else -int(-timeout * 1000 // 1)  # milliseconds, rounded up
        return [self._data[fd] for fd, _events in self._poll.poll(wait) if fd in self._data]

    def close(self) -> None:
        self._data.clear()


class Listener:
    """Listens for pushes; wait() hands over complete frames and the reasons others failed."""

    def __init__(self, address: str = "", port: int = 6818, *, max_frame: int = 16 << 20,
                 deadline: float = 10.0, max_connections: int = 256,
                 tls: Optional[ssl.SSLContext] = None, max_total_bytes: int = 64 << 20,
                 max_per_source: int = MAX_PER_SOURCE, max_source_bytes: Optional[int] = None) -> None:
        """Binds and listens: "" means every address (IPv6 dual-stack when available, else
        IPv4); a literal or host name binds that address (the first of its addresses that
        binds). RequestError says why it cannot. A TLS context is set to issue no session
        tickets (see below). One source address holds at most max_per_source connections
        and max_source_bytes of frame buffers (default: one frame of max_frame)."""
        if not 0 <= port <= 65535:
            raise _request_error("port %r is not between 0 and 65535" % (port,))
        source_bytes = max_frame if max_source_bytes is None else max_source_bytes
        limits = (max_frame, max_connections, max_total_bytes, max_per_source, source_bytes)
        if min(limits) < 1 or deadline <= 0:
            raise _request_error("max_frame, deadline, max_connections, max_total_bytes, max_per_source "
                                 "and max_source_bytes must be positive")
        self.max_frame = max_frame
        self.deadline = deadline
        self.max_connections = max_connections
        self.max_total_bytes = max_total_bytes
        self.max_per_source = max_per_source
        self.max_source_bytes = source_bytes
        self._tls = tls
        self._would_block: Tuple[Type[BaseException], ...] = (BlockingIOError,)
        self._want_write: Tuple[Type[BaseException], ...] = ()
        self._tls_eof: Tuple[Type[BaseException], ...] = ()
        if tls is not None:
            import ssl
            self._would_block = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
            self._want_write = (ssl.SSLWantWriteError,)
            self._tls_eof = (ssl.SSLZeroReturnError, ssl.SSLEOFError)
            # TLS 1.3 session tickets are useless on one-shot connections, and a client that
            # sends its frame and closes without reading them resets the connection: the
            # kernel then drops the frame's tail before we read it.
            try:
                tls.num_tickets = 0
            except (AttributeError, ValueError):  # not a TLS 1.3 server context
                pass
        self._socket: Callable[..., Any] = sockets.socket
        if tls is not None:
            import socket
            self._socket = socket.socket  # what ssl wraps
        self._sock = _bind(address, port)
        self.port: int = self._sock.getsockname()[1]
        self._selector = _Poller()
        self._selector.register(self._sock.fileno(), EVENT_READ, LISTENING)
        # Insertion order is accept order, so the first connection is the next to expire.
        self._connections: Dict[int, _Connection] = {}
        self._sources: Dict[str, _Source] = {}
        self._held = 0              # bytes of frame buffers allocated, including frames not yet handed over
        self._paused_until: Optional[float] = None
        self._closed = False

    def wait(self, timeout: Optional[float],
             wakeup: Optional[int] = None) -> Tuple[List[Frame], List[Rejection], bool]:
        """Serves connections until a frame or rejection is ready, timeout (None: forever)
        passes, or wakeup becomes readable (the third value; the caller drains it)."""
        if self._closed:
            raise _request_error("the listener is closed")
        frames: List[Frame] = []
        rejections: List[Rejection] = []
        woken = False
        end = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if wakeup is not None:
            self._selector.register(wakeup, EVENT_READ, WAKEUP)
        try:
            while True:
                now = time.monotonic()
                self._resume_accepting(now)
                for data in self._selector.select(self._delay(now, end)):
                    if data is WAKEUP:
                        woken = True
                    elif data is LISTENING:
                        self._accept(time.monotonic(), rejections)
                    else:
                        self._serve(data, frames, rejections)  # type: ignore[arg-type]
                now = time.monotonic()
                self._expire(now, rejections)
                if frames or rejections or woken or (end is not None and now >= end):
                    break
        finally:
            if wakeup is not None:
                self._selector.unregister(wakeup)
        self._held -= sum(len(frame.data) for frame in frames)
        return frames, rejections, woken

    def close(self) -> None:
        """Closes every connection and the listening socket; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        for conn in list(self._connections.values()):
            self._drop(conn)
        self._selector.close()
        self._sock.close()

    # --- the loop's parts ------------------------------------------------------------------

    def _delay(self, now: float, end: Optional[float]) -> Optional[float]:
        """How long select may sleep: until the caller's timeout, the first connection's
        deadline or the end of an accept pause (None: no limit)."""
        times: List[float] = [] if end is None else [end]
        if self._connections:
            times.append(next(iter(self._connections.values())).expires)
        if self._paused_until is not None:
            times.append(self._paused_until)
        return max(0.0, min(times) - now) if times else None

    def _accept(self, now: float, rejections: List[Rejection]) -> None:
        for _unused in range(ACCEPT_BATCH):
            try:
                fd, address = self._sock._accept()  # type: ignore[attr-defined]
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in EXHAUSTED:  # the backlog keeps the peers until we resume
                    self._selector.unregister(self._sock.fileno())
                    self._paused_until = now + ACCEPT_PAUSE
                    rejections.append(Rejection("", "cannot accept connections for %gs: %s"
                                                % (ACCEPT_PAUSE, exc.strerror or exc), LOCAL))
                    return
                continue  # ECONNABORTED, EPERM (a firewall), EPROTO: that peer is gone
            listening = self._sock
            sock = self._socket(listening.family, listening.type, listening.proto, fileno=fd)
            source, peer = _peer(address)
            refusal = self._room_for_connection(source, rejections)
            if refusal:
                sock.close()  # at once, so that the backlog never fills with them
                rejections.append(Rejection(peer, refusal, BUSY))
                continue
            try:
                sock.setblocking(False)
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            except (OSError, ValueError) as exc:
                sock.close()
                rejections.append(Rejection(peer, "TLS handshake failed: %s" % _why(exc), TLS))
                continue
            conn = _Connection(sock, peer, source, now + self.deadline, self._tls is not None)
            self._connections[sock.fileno()] = conn
            self._sources.setdefault(source, _Source()).connections[sock.fileno()] = conn
            self._selector.register(sock.fileno(), EVENT_READ, conn)

    def _room_for_connection(self, source: str, rejections: List[Rejection]) -> str:
        """"" when source may open one more connection (room taken from the source that
        holds the most, if the listener is full and it holds more); else why not."""
        mine = self._sources.get(source)
        count = len(mine.connections) if mine is not None else 0
        if count >= self.max_per_source:
            return "too many connections from this address (%d open)" % count
        if len(self._connections) < self.max_connections:
            return ""
        heaviest = max(self._sources.values(), key=lambda other: len(other.connections))
        if len(heaviest.connections) <= count + 1:
            return "too many connections (%d open)" % self.max_connections
        victim = next(iter(heaviest.connections.values()))
        self._reject(victim, rejections, "closed to make room for another address (%d connections "
                     "from this one)" % len(heaviest.connections), BUSY)
        return ""

    def _resume_accepting(self, now: float) -> None:
        if self._paused_until is not None and now >= self._paused_until:
            self._paused_until = None
            self._selector.register(self._sock.fileno(), EVENT_READ, LISTENING)

    def _serve(self, conn: _Connection, frames: List[Frame], rejections: List[Rejection]) -> None:
        """Handshakes or reads without blocking; whatever goes wrong closes only this peer."""
        try:
            if conn.handshaking and not self._handshake(conn, rejections):
                return
            self._read(conn, frames, rejections)
        except Exception as exc:  # a peer must never take the loop down
            self._reject(conn, rejections, "unexpected %s: %s" % (type(exc).__name__, exc), GARBAGE)

    def _handshake(self, conn: _Connection, rejections: List[Rejection]) -> bool:
        """True when the TLS handshake is done and the frame can be read."""
        try:
            conn.sock.do_handshake()  # type: ignore[attr-defined]
        except self._would_block as exc:
            self._blocked(conn, exc)
            return False
        except OSError as exc:
            reason = _why(exc)
            if "WRONG_VERSION_NUMBER" in reason or "HTTP_REQUEST" in reason:
                reason += " (the peer does not speak TLS)"
            self._reject(conn, rejections, "TLS handshake failed: %s" % reason, TLS)
            return False
        conn.handshaking = False
        self._want(conn, EVENT_READ)
        return True

    def _read(self, conn: _Connection, frames: List[Frame], rejections: List[Rejection]) -> None:
        budget = READ_BUDGET
        reader = conn.reader
        while True:
            view = reader.space()
            try:
                count = conn.sock.recv_into(view)
            except self._would_block as exc:
                self._blocked(conn, exc)
                return
            except self._tls_eof:
                count = 0
            except ConnectionResetError:
                self._reject(conn, rejections, "connection reset after %s" % reader.progress(), CLOSED)
                return
            except OSError as exc:
                self._reject(conn, rejections, "read failed after %s: %s" % (reader.progress(), _why(exc)),
                             CLOSED)
                return
            finally:
                view.release()
            if count == 0:
                reason = "closed after %s" % reader.progress() if reader.started \
                    else "closed without sending anything"
                self._reject(conn, rejections, reason, CLOSED)
                return
            budget -= count
            state = reader.received(count)
            if state == LENGTH and not self._allocate(conn, rejections):
                return
            if state == FRAME:
                held = conn.held
                frames.append(Frame(conn.peer, bytes(reader.take())))
                self._release(conn, held)
                self._drop(conn)
                self._held += held  # the frame's bytes stay counted until wait() hands it over
                return
            if budget <= 0 and not _pending(conn.sock):
                return  # select will say when there is more

    def _allocate(self, conn: _Connection, rejections: List[Rejection]) -> bool:
        """Checks the announced length against every limit before allocating its buffer."""
        length = conn.reader.length or 0
        if length == 0:
            self._reject(conn, rejections, "frame of 0 bytes (an empty length)", GARBAGE)
            return False
        if length > self.max_frame:
            self._reject(conn, rejections, "frame of %d bytes exceeds the %d-byte limit"
                         % (length, self.max_frame), OVERSIZED)
            return False
        source = self._sources[conn.source]
        if source.held + length > self.max_source_bytes:
            self._reject(conn, rejections, "frame of %d bytes would exceed the %d-byte limit on bytes "
                         "buffered for one address (%d held)" % (length, self.max_source_bytes, source.held),
                         BUSY)
            return False
        if not self._room_for_bytes(conn.source, length, rejections):
            self._reject(conn, rejections, "frame of %d bytes would exceed the %d-byte limit on buffered "
                         "bytes (%d held)" % (length, self.max_total_bytes, self._held), BUSY)
            return False
        try:
            conn.reader.allow()
        except MemoryError:
            self._reject(conn, rejections, "cannot allocate %d bytes for a frame" % length, LOCAL)
            return False
        self._held += length
        source.held += length
        return True

    def _room_for_bytes(self, source: str, length: int, rejections: List[Rejection]) -> bool:
        """True when length more bytes fit, after taking room from sources that hold more than
        source would: the largest frame of the heaviest first."""
        mine = self._sources[source].held + length
        while self._held + length > self.max_total_bytes:
            heaviest = max(self._sources.values(), key=lambda other: other.held)
            if heaviest.held <= mine:
                return False
            victim = max(heaviest.connections.values(), key=lambda c: c.held)
            self._reject(victim, rejections, "closed to make room for another address (%d bytes "
                         "buffered for this one)" % heaviest.held, BUSY)
        return True

    def _expire(self, now: float, rejections: List[Rejection]) -> None:
        while self._connections:
            conn = next(iter(self._connections.values()))
            if conn.expires > now:
                return
            if conn.handshaking:
                reason = "no TLS handshake within %gs" % self.deadline
            else:
                reason = "no complete frame within %gs (%s)" % (self.deadline, conn.reader.progress())
            self._reject(conn, rejections, reason, SLOW)

    def _blocked(self, conn: _Connection, exc: BaseException) -> None:
        """Waits for what TLS wants next: usually more input, sometimes room to write."""
        self._want(conn, EVENT_WRITE if isinstance(exc, self._want_write) else EVENT_READ)

    def _want(self, conn: _Connection, events: int) -> None:
        if conn.events != events:
            self._selector.modify(conn.sock.fileno(), events, conn)
            conn.events = events

    def _reject(self, conn: _Connection, rejections: List[Rejection], reason: str, kind: str) -> None:
        rejections.append(Rejection(conn.peer, reason, kind))
        self._drop(conn)

    def _release(self, conn: _Connection, held: int) -> None:
        """Forgets the bytes a connection's buffer held."""
        self._held -= held
        source = self._sources.get(conn.source)
        if source is not None:
            source.held -= held

    def _drop(self, conn: _Connection) -> None:
        """Forgets and closes a connection, freeing its buffer."""
        self._release(conn, conn.held)
        conn.reader.take()
        source = self._sources.get(conn.source)
        fd = conn.sock.fileno()
        if fd >= 0:
            self._connections.pop(fd, None)
            self._selector.unregister(fd)
            if source is not None:
                source.connections.pop(fd, None)
        if source is not None and not source.connections and not source.held:
            del self._sources[conn.source]
        conn.sock.close()


def _pending(sock: "socket.socket") -> int:
    """Bytes TLS has decrypted but select cannot see (0 for plain sockets)."""
    pending = getattr(sock, "pending", None)
    return pending() if pending is not None else 0


def _peer(address: object) -> Tuple[str, str]:
    """(source address, peer): ("127.0.0.1", "127.0.0.1:40312") or ("::1", "[::1]:40312");
    IPv4-mapped IPv6 addresses read as IPv4."""
    if not isinstance(address, tuple) or len(address) < 2:
        return str(address), str(address)
    host, port = str(address[0]), address[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host, ("[%s]:%s" if ":" in host else "%s:%s") % (host, port)


def source_of(peer: str) -> str:
    """The address of a peer as Frame and Rejection name it ("[::1]:40312" -> "::1")."""
    host = peer.rsplit(":", 1)[0] if peer.count(":") == 1 or peer.startswith("[") else peer
    return host[1:-1] if host.startswith("[") else host


def _why(exc: BaseException) -> str:
    """An OSError or SSLError as one line, without OpenSSL's source position."""
    text = str(exc.args[1]) if isinstance(exc, OSError) and len(exc.args) > 1 else str(exc)
    if text.endswith(")") and " (_ssl.c:" in text:
        text = text[:text.rindex(" (_ssl.c:")]
    return text or type(exc).__name__


def _request_error(message: str, hint: Optional[str] = None) -> RequestError:
    from .errors import RequestError  # imports typing: only on the way to an error
    return RequestError(message, hint)


def _bind(address: str, port: int) -> "socket.socket":
    """A listening non-blocking socket on address, or RequestError naming the cause."""
    if address:
        try:
            infos = sockets.getaddrinfo(address, port, sockets.AF_UNSPEC, sockets.SOCK_STREAM, 0,
                                        sockets.AI_PASSIVE)
        except (sockets.gaierror, UnicodeError) as exc:
            raise _request_error("cannot resolve the listen address %s: %s" % (address, _why(exc))) from None
        candidates: "List[Tuple[int, Any]]" = [
            (info[0], info[4]) for info in infos if info[0] in (sockets.AF_INET, sockets.AF_INET6)]
    else:
        candidates = [(int(sockets.AF_INET), ("0.0.0.0", port))]
        if sockets.has_ipv6:
            candidates.insert(0, (int(sockets.AF_INET6), ("::", port)))
    failure: Optional[OSError] = None
    for family, sockaddr in candidates:
        try:
            sock = sockets.socket(family, sockets.SOCK_STREAM)
        except OSError as exc:  # IPv6 compiled in but not available
            failure = failure or exc
            continue
        try:
            sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_REUSEADDR, 1)
            if family == sockets.AF_INET6 and not address:
                sock.setsockopt(sockets.IPPROTO_IPV6, sockets.IPV6_V6ONLY, 0)
            sock.bind(sockaddr)
            sock.listen(sockets.SOMAXCONN)
            sock.setblocking(False)
            return sock
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise _bind_error(exc, address, port) from None
            if failure is None or failure.errno == errno.EAFNOSUPPORT:
                failure = exc
    if failure is None:
        raise _request_error("the listen address %s has no IPv4 or IPv6 address" % address)
    raise _bind_error(failure, address, port) from None


def _bind_error(exc: OSError, address: str, port: int) -> RequestError:
    where = "port %d" % port if not address else "port %d on %s" % (port, address)
    if exc.errno == errno.EADDRINUSE:
        return _request_error("%s is in use" % where, "is slurmd or sackd running here?")
    if exc.errno == errno.EACCES:
        hint = "ports below 1024 need root or CAP_NET_BIND_SERVICE" if 0 < port < 1024 else None
        return _request_error("permission denied to listen on %s" % where, hint)
    if exc.errno == errno.EADDRNOTAVAIL:
        return _request_error("the address %s is not on this host" % (address or "::"))
    return _request_error("cannot listen on %s: %s" % (where, exc.strerror or exc))
