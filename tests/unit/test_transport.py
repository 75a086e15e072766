"""transport: one request and its reply over a real loopback socket, against scripted peers
(a reply in one piece or dripped, silence, a close, a reset, an oversized or truncated
reply, an HTTP answer), and the server addresses users write."""
import socket
import struct
import time

import pytest

from _slurm import sockets
from _slurm.errors import ClosedError, HttpReplyError, NetworkError, ReplyError, RequestError
from _slurm.transport import DEFAULT_MAX_FRAME, Address, Network, parse_address
from fixtures.hostile import raw_body
from fixtures.servers import ScriptedController, refused_port, silent_listener


def exchange(address, frame, timeout, max_frame=DEFAULT_MAX_FRAME):
    """One exchange in a network of its own, as a one-shot fetch makes it."""
    return Network(max_frame=max_frame).exchange(address, frame, timeout)


REQUEST = struct.pack(">I", 6) + b"\x2d\x00" + b"ping"  # a frame: only its length matters here


@pytest.fixture
def peers():
    made = []

    def serve(reply):
        peer = ScriptedController(reply)
        made.append(peer)
        return Address("127.0.0.1", peer.port)
    yield serve
    for peer in made:
        peer.close()


def reply(size):
    """A plausible reply frame of a controller (RESPONSE_CONFIG, 26.05's header) whose body
    is size bytes; the frame with its length prefix."""
    return raw_body(45 << 8, bytes(range(256)) * (size // 256) + bytes(size % 256))


def test_a_reply_in_one_piece(peers):
    whole = reply(40)
    assert exchange(peers(lambda version, request: whole), REQUEST, 2) == whole[4:]


def test_a_large_reply_dripped_in_pieces(peers):
    whole = reply(256 << 10)  # past the first read

    def drip(conn):
        for start in range(0, len(whole), 50000):
            conn.sendall(whole[start:start + 50000])
            time.sleep(0.01)
    assert exchange(peers(lambda version, request: drip), REQUEST, 5) == whole[4:]


def test_the_length_prefix_split_across_reads(peers):
    whole = reply(30)

    def split(conn):
        conn.sendall(whole[:2])
        time.sleep(0.05)
        conn.sendall(whole[2:])
    assert exchange(peers(lambda version, request: split), REQUEST, 2) == whole[4:]


def test_a_close_without_a_reply_is_named(peers):
    with pytest.raises(ClosedError, match="closed the connection without replying"):
        exchange(peers(lambda version, request: None), REQUEST, 2)


def test_an_oversized_reply_is_refused_before_it_is_read(peers):
    whole = reply(2 << 20)
    address = peers(lambda version, request: whole)
    with pytest.raises(ReplyError, match="exceeds the 1048576-byte limit"):
        exchange(address, REQUEST, 2, max_frame=1 << 20)


def test_a_truncated_reply_is_named(peers):
    whole = reply(200)
    address = peers(lambda version, request: whole[:60])
    with pytest.raises(ReplyError, match="truncated reply: 56 of %d bytes" % (len(whole) - 4)):
        exchange(address, REQUEST, 2)


def test_silence_ends_at_the_deadline():
    listener = silent_listener()
    try:
        start = time.monotonic()
        with pytest.raises(NetworkError, match="no complete reply within 0.5s"):
            exchange(Address("127.0.0.1", listener.port), REQUEST, 0.5)
        assert time.monotonic() - start < 2
    finally:
        listener.close()


def test_connections_are_kept_alive():
    """A client that waits long for a busy controller learns within about 25 s that its host
    went away, rather than at the end of the wait."""
    listener = silent_listener()
    try:
        sock = sockets.connect_tcp("127.0.0.1", listener.port, 2)
        try:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
            idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
            every = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL)
            count = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)
            assert idle + every * count <= 30
        finally:
            sock.close()
    finally:
        listener.close()


def test_nobody_listening_is_named():
    with pytest.raises(NetworkError, match="cannot connect"):
        exchange(Address("127.0.0.1", refused_port()), REQUEST, 2)


def test_a_reset_is_a_close(peers):
    def reset(conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with pytest.raises((ClosedError, NetworkError)):
        exchange(peers(lambda version, request: reset), REQUEST, 2)


def test_slurmctlds_own_http_answer(peers):
    answer = b"HTTP/1.1 403 FORBIDDEN\r\nConnection: Close\r\n\r\n"
    with pytest.raises(HttpReplyError, match="answered HTTP: HTTP/1.1 403 FORBIDDEN"):
        exchange(peers(lambda version, request: answer), REQUEST, 2)


@pytest.mark.parametrize("text,expected", [
    ("ctl1", Address("ctl1", 6817)), ("ctl1:7000", Address("ctl1", 7000)),
    ("10.0.0.1", Address("10.0.0.1", 6817)), ("[2001:db8::1]:7000", Address("2001:db8::1", 7000)),
    ("2001:db8::1", Address("2001:db8::1", 6817)), (" ctl1 ", Address("ctl1", 6817)),
])
def test_server_addresses(text, expected):
    assert parse_address(text) == expected
    assert str(expected) == ("[%s]:%d" if ":" in expected.host else "%s:%d") % expected


@pytest.mark.parametrize("text", ["", ":6817", "ctl1:0", "ctl1:99999", "ctl1:x", "[::1", "[::1]x"])
def test_malformed_server_addresses_are_named(text):
    with pytest.raises(RequestError, match="malformed server"):
        parse_address(text)
