# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Several request frames to one controller at once, one connection each, in one round trip.

A first contact with a controller of unknown release would otherwise wait for each version
to be refused before trying the next. Every candidate goes out at the same moment over
non-blocking sockets driven by one poll(); the caller decides from the replies as they land
and stops as soon as it knows. One poll(), no threads, which would cost milliseconds of
imports. Replies are read and judged as transport.py reads and judges one.
"""

from __future__ import annotations

import select

from . import sockets
from .errors import ClosedError, NetworkError, ReplyError, SlowError
from .frames import LENGTH, FrameReader
from .transport import Deadline, Judge, closed_early, resolver_host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, Optional, Union

    from .transport import Address, Network

    Outcome = Union[bytearray, Exception]

_IN, _OUT = select.POLLIN, select.POLLOUT
_BAD = select.POLLERR | select.POLLHUP | select.POLLNVAL
_CHUNK = 256 << 10


class _Attempt:
    """One connection: connect, (TLS handshake), send the frame, read one reply frame."""

    __slots__ = ("key", "frame", "sock", "sent", "reader", "shaking", "judge")

    def __init__(self, key: int, frame: bytes, sock: sockets.socket, judge: Judge) -> None:
        self.key = key
        self.frame = memoryview(frame)
        self.sock = sock
        self.sent = 0
        self.reader = FrameReader()
        self.shaking = False
        self.judge = judge

    def wants(self) -> int:
        return _OUT if self.sent < len(self.frame) else _IN

    def step(self) -> "Optional[bytearray]":
        """Advances as far as the socket allows; the reply frame once complete."""
        if self.shaking:
            self.sock.do_handshake()  # type: ignore[attr-defined]
            self.shaking = False
        while self.sent < len(self.frame):
            self.sent += self.sock.send(self.frame[self.sent:])
        reader = self.reader
        while not reader.complete:
            count = self.sock.recv_into(reader.space(_CHUNK))
            if count == 0:
                raise closed_early(reader)
            if reader.received(count) == LENGTH:
                self.judge(reader)
                reader.allow()
        return reader.take()


def _open(network: "Network", address: "Address", key: int, frame: bytes,
          deadline: Deadline) -> _Attempt:
    where = network.reached.get(address)
    if where is None:  # not reached before: the name's first address
        where = sockets.first_address(resolver_host(address), address.port, network.source)
    family = sockets.AF_INET6 if len(where) == 4 else sockets.AF_INET
    sock = sockets.socket(family, sockets.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sockets.keep_alive(sock)
        if network.source is not None:
            sock.bind((network.source, 0))
        sock.connect(where)
    except BlockingIOError:
        pass
    except OSError:
        sock.close()
        raise
    judge = Judge(address, sock, network.max_frame, deadline, partial=False)
    attempt = _Attempt(key, frame, sock, judge)
    if network.tls is not None:
        attempt.sock = network.tls.wrap_socket(sock, server_hostname=address.host,
                                               do_handshake_on_connect=False)
        attempt.judge.sock = attempt.sock
        attempt.shaking = True
    return attempt


def exchange_all(network: "Network", address: "Address", frames: "Dict[int, bytes]",
                 timeout: float, settled: "Callable[[Dict[int, Outcome]], bool]") -> "Dict[int, Outcome]":
    """Sends every frame on its own connection at once; returns each key's reply frame or
    the error it met, as soon as settled(outcomes so far) is true or all are done."""
    deadline = Deadline(timeout)
    outcomes = {}  # type: Dict[int, Outcome]
    attempts = {}  # type: Dict[int, _Attempt]
    try:
        for key, frame in frames.items():
            try:
                attempt = _open(network, address, key, frame, deadline)
            except OSError as exc:
                raise NetworkError("cannot connect: %s" % (exc.strerror or exc)) from None
            attempts[attempt.sock.fileno()] = attempt
        poller = select.poll()
        for fd in attempts:
            poller.register(fd, _OUT)
        while attempts and not settled(outcomes):
            try:
                events = poller.poll(deadline.left() * 1000)
            except sockets.timeout:
                break
            for fd, event in events:
                attempt = attempts[fd]
                try:
                    reply = attempt.step()
                except (BlockingIOError, InterruptedError):
                    poller.modify(fd, attempt.wants())
                    continue
                except Exception as exc:  # each connection's fault is its own outcome
                    reply = None
                    name = type(exc).__name__
                    if name in ("SSLWantReadError", "SSLWantWriteError"):
                        poller.modify(fd, _IN if name == "SSLWantReadError" else _OUT)
                        continue
                    outcomes[attempt.key] = _classify(exc).with_traceback(None)
                if reply is not None:
                    outcomes[attempt.key] = reply
                elif attempt.key not in outcomes and not event & _BAD:
                    continue
                elif attempt.key not in outcomes:
                    outcomes[attempt.key] = ClosedError("the connection failed")
                poller.unregister(fd)
                attempt.sock.close()
                del attempts[fd]
        if not settled(outcomes):  # the deadline passed: what is still open timed out
            for attempt in attempts.values():
                if attempt.key not in outcomes:
                    outcomes[attempt.key] = SlowError("no complete reply within %gs" % timeout)
    finally:
        for attempt in attempts.values():
            attempt.sock.close()
    return outcomes


def _classify(exc: Exception) -> Exception:
    """The error a failed connection stands for, as transport.exchange would name it."""
    if isinstance(exc, (ReplyError, NetworkError)):
        return exc
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return ClosedError("the controller reset the connection without replying")
    if isinstance(exc, OSError) and type(exc).__module__ == "ssl":
        return NetworkError("TLS failed: %s" % (getattr(exc, "reason", None) or exc))
    if isinstance(exc, OSError):
        return NetworkError("connection failed: %s" % (exc.strerror or exc))
    return exc
