"""The munged socket client against a scripted munged on a UNIX socket: a credential, an
error munged reports, and replies too short to hold what they declare."""
import os
import socket
import struct
import threading

import pytest

from _slurm.auth import munge
from _slurm.errors import RequestError

HEADER = struct.Struct(">IBBBI")


def scripted_munged(path, body):
    """Answers one request with an ENC_RSP frame carrying body."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def serve():
        connection, _peer = server.accept()
        with connection:
            request = connection.recv(HEADER.size)
            length = HEADER.unpack(request)[4]
            while length > 0:
                length -= len(connection.recv(length))
            connection.sendall(HEADER.pack(0x00606D4B, 4, 3, 0, len(body)) + body)
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def encode_with(tmp_path, body):
    path = os.path.join(str(tmp_path), "munge.socket")
    thread = scripted_munged(path, body)
    try:
        return munge.encode(b"payload", path, timeout=5, attempts=1)
    finally:
        thread.join(5)


def test_credential(tmp_path):
    body = bytes([0, 0]) + struct.pack(">I", 10) + b"MUNGE:abc\0"
    assert encode_with(tmp_path, body) == b"MUNGE:abc"


def test_error_reported_by_munged(tmp_path):
    body = bytes([16, 7]) + b"expired"
    with pytest.raises(RequestError, match="munged refused to encode: expired"):
        encode_with(tmp_path, body)


@pytest.mark.parametrize("body", [b"", b"\0", bytes([0, 0, 0, 0]), bytes([9, 20]) + b"short"])
def test_truncated_reply(tmp_path, body):
    with pytest.raises(RequestError, match="sent a truncated reply"):
        encode_with(tmp_path, body)
