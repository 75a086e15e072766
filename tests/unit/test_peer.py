"""peer.describe: the first bytes a peer sent -> what it is, or None when it may be slurmctld.
Every valid reply layout (and every prefix of one, as a short first read brings) must stay
None; SSH, TLS, web servers, text protocols and noise must each be named."""
import pytest

from _slurm.cli import COMMAND_WORDS
from _slurm.errors import worded
from _slurm import peer
from _slurm.header import encode_header
from _slurm.wire import u32
from fixtures.hostile import binary_reply, config_frame, frame, seed_frames

NGINX_400 = (b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 05:32:16 GMT\r\n"
             b"Content-Type: text/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n")
# What slurmctld 25.11+ (HTTP on) sends for a binary request in a version it does not take:
# its status table writes reason phrases in capitals, and it sends no Server header.
SLURM_405 = (b"HTTP/1.1 405 NOT ALLOWED\r\nContent-Length: 19\r\nContent-Type: text/plain\r\n\r\n"
             b"Invalid HTTP method")


def slurm_frames():
    frames = [f if f[:4] == u32(len(f) - 4) else u32(len(f)) + f for f in seed_frames()]
    frames += [config_frame(v << 8, [(True, False, b"slurm.conf", b"x\n")]) for v in range(35, 50)]
    frames += [frame(encode_header(v << 8, 8001, 4, 0x40) + u32(rc)) for v in (42, 44, 46, 48)
               for rc in (1007, 13000)]
    frames.append(binary_reply(43 << 8))
    return frames


@pytest.mark.parametrize("index", range(len(slurm_frames())))
def test_slurm_replies_and_their_prefixes_are_slurm(index):
    data = slurm_frames()[index]
    for end in range(len(data) + 1):
        assert peer.describe(data[:end]) is None, (data[:end].hex(), end)


@pytest.mark.parametrize("data", [SLURM_405, SLURM_405.split(b"\r\n", maxsplit=1)[0] + b"\r\n",
                                  b"HTTP/1.1 405 NOT ALLOWED\r\nContent-Length: 0\r\n\r\n",
                                  b"HTTP/1.1 400 BAD REQUEST\r\n\r\nInvalid HTTP method"])
def test_slurm_http_answer_is_slurm(data):
    assert peer.is_slurm_http(data)
    assert peer.describe(data) is None


def test_ssh_banner():
    assert peer.describe(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") == "an SSH server (SSH-2.0-OpenSSH_9.2p1 Debian-2)"
    assert peer.describe(b"SSH-2.0-OpenSSH_9.2\r\nInvalid SSH identification string.\r\n") \
        == "an SSH server (SSH-2.0-OpenSSH_9.2)"


@pytest.mark.parametrize("data", [b"\x15\x03\x03\x00\x02\x02\x46", b"\x15\x03\x01\x00\x02\x02\x28",
                                  b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03",
                                  b"\x17\x03\x03\x00\x20" + b"\0" * 32])
def test_tls_records(data):
    assert peer.describe(data) == peer.TLS
    assert "give tls_ca" in worded(peer.TLS) and "give --tls-ca" in worded(peer.TLS, COMMAND_WORDS)


def test_web_server():
    assert peer.describe(NGINX_400) == \
        "an HTTP server, not Slurm (HTTP/1.1 400 Bad Request, Server: nginx/1.22.1)"
    assert peer.describe(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n") == \
        "an HTTP server, not Slurm (HTTP/1.1 405 Method Not Allowed)"
    # Capitals, but a Server header: a web server, not slurmctld.
    assert not peer.is_slurm_http(b"HTTP/1.1 400 BAD REQUEST\r\nServer: thing\r\n\r\n")
    assert not peer.is_slurm_http(b"HTTP/2 400 BAD REQUEST\r\n\r\n")


@pytest.mark.parametrize("data, said", [(b"220 mail.example ESMTP Postfix\r\n", "220 mail.example ESMTP Postfix"),
                                        (b"-ERR unknown command 'x'\r\n", "-ERR unknown command 'x'"),
                                        (b"+OK POP3 ready\r\n", "+OK POP3 ready")])
def test_text_protocols(data, said):
    assert peer.describe(data) == "a server of some text protocol, not Slurm (it said: %s)" % said


def test_noise_is_named_with_its_first_bytes():
    noise = bytes(range(256)) * 4
    assert peer.describe(noise) == ("not a Slurm controller: the reply's first bytes are "
                                    "0x000102030405060708090a0b0c0d0e0f (unknown binary)")


@pytest.mark.parametrize("why, data", [
    ("version older than 20.02", u32(100) + encode_header(34 << 8, 2016, 80)),
    ("version far newer than we know", u32(100) + encode_header(60 << 8, 2016, 80)),
    ("version with a low byte", u32(100) + b"\x2b\x01" + encode_header(43 << 8, 2016, 80)[2:]),
    ("a request type, not a reply", u32(100) + encode_header(43 << 8, 2015, 80)),
    ("body longer than the frame", u32(100) + encode_header(43 << 8, 2016, 85)),
    ("frame too short for a header", u32(8) + encode_header(43 << 8, 8001, 4)[:4]),
    ("zeros", u32(500) + bytes(10)),
])
def test_implausible_headers(why, data):
    assert not peer.plausible_frame(data), why
    assert peer.describe(data).startswith("not a Slurm controller"), why


def test_plausible_allows_a_few_releases_newer_than_known():
    assert peer.plausible_frame(frame(encode_header(47 << 8, 8001, 4, 0x40) + u32(13000)))


def test_nothing_says_nothing():
    assert peer.describe(b"") is None
