"""auth/sack.create_token against a Unix socket of our own that answers as the sack socket
does (a u32 length, then the token and its NUL), and as it must not: what comes back is the
token, or one line that names the socket and what was wrong."""
import os
import socket
import struct
import threading

import pytest

from _slurm.auth.sack import create_token
from _slurm.errors import RequestError


@pytest.fixture
def sack(tmp_path):
    """Serves one connection: reads the request, sends what the test set, closes."""
    path = str(tmp_path / "sack.socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    answer = {}

    def serve():
        conn, _address = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(answer["bytes"])
    thread = threading.Thread(target=serve, daemon=True)

    def start(data):
        answer["bytes"] = data
        thread.start()
        return path
    yield start
    server.close()
    thread.join(2)


def framed(body):
    return struct.pack(">I", len(body)) + body


def test_a_token(sack):
    assert create_token(sack(framed(b"header.claims.sig\0")), b"x", 45 << 8) == "header.claims.sig"


@pytest.mark.parametrize("data, words", [
    (b"", "refused to mint a token"),
    (framed(b"no-nul"), "malformed token"),
    (framed(b"")[:4], "malformed token"),
    (struct.pack(">I", 1 << 20), "oversized reply"),
    (struct.pack(">I", 40) + b"short\0", "malformed token"),
])
def test_what_the_socket_must_not_send(sack, data, words):
    with pytest.raises(RequestError, match=words) as info:
        create_token(sack(data), b"x", 45 << 8)
    assert "sack socket" in str(info.value)


def test_nothing_listens(tmp_path):
    path = str(tmp_path / "dead.socket")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()
    with pytest.raises(RequestError, match="refuses connections") as info:
        create_token(path, b"x", 45 << 8)
    assert "slurm_key" in str(info.value) and os.path.exists(path)
