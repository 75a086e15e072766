"""Byte-exact vectors produced by real Slurm code (protocol-wire.md §11)."""
import pytest

from _slurm.errors import ReplyError
from _slurm.header import encode_header
from _slurm.messages import (ConfigReply, RcReply, decode_reply, encode_request,
                             encode_request_body)
from _slurm.wire import packstr, u32

H = bytes.fromhex
AUTH_NONE = H("00000064 00000000 00000000 00000003 6d6500")  # uid 0, gid 0, host "me"


@pytest.mark.parametrize("version, flags, expected", [
    (43 << 8, 1, "00000029 2b00000007df0000000600000000 0000 | 00000064000000000000000000000003 6d6500 | 000000010000"),
    (42 << 8, 0, "00000027 2a00000007df0000000400000000 0000 | 00000064000000000000000000000003 6d6500 | 00000000"),
    (38 << 8, 1, "00000027 2600000007df0000000400000000 0000 | 00000064000000000000000000000003 6d6500 | 00000001"),
    (36 << 8, 1, "00000029 240000000000 07df 00000004 0000 0000 0000 | 00000064000000000000000000000003 6d6500 | 00000001"),
    (35 << 8, 1, "0000002d 230000000000 07df 00000004 0000 0000 000000000000 | 00000064000000000000000000000003 6d6500 | 00000001"),
])
def test_request_frames(version, flags, expected):
    body = encode_request_body(version, flags)
    assert encode_request(version, AUTH_NONE, body) == H(expected.replace("|", ""))


def test_rc_reply_in_controller_version():
    # 25.05 rejecting an unsupported version: rc 1007 in its own version (43).
    frame = H("2b0000401f410000000400000000 0000 000003ef")
    assert decode_reply(frame) == RcReply(43 << 8, 1007)


def test_configless_disabled_and_user_id_missing():
    assert decode_reply(H("2b0000441f410000000400000000 0000 0000084e")).rc == 2126
    assert decode_reply(H("2b0000441f410000000400000000 0000 000007da")).rc == 2010


R3_BODY = H(
    "00000003"
    "01 00 0000000b 736c75726d2e636f6e6600 0000000f 436c75737465724e616d653d630a00"
    "00 00 0000000a 677265732e636f6e6600 00000000"
    "01 01 0000000a 70726f6c6f672e736800 00000001 00"
    "00000012 2f7661722f73706f6f6c2f736c75726d6400")


def test_r3_reply():
    assert len(R3_BODY) == 103
    reply = decode_reply(H("2b00004007e00000006700000000 0000") + R3_BODY)
    assert isinstance(reply, ConfigReply)
    assert reply.spool_dir == "/var/spool/slurmd"
    assert [(f.name, f.exists, f.executable, f.content) for f in reply.files] == [
        ("slurm.conf", True, False, b"ClusterName=c\n"),
        ("gres.conf", False, False, None),
        ("prolog.sh", True, True, b""),
    ]


def test_r2_reply_with_munge_auth_section():
    body = (u32(2) + b"\x01" + packstr("slurm.conf") + packstr("ClusterName=c\n")
            + b"\x00" + packstr("gres.conf") + u32(0) + packstr("/var/spool/slurmd"))
    assert len(body) == 80
    header = encode_header(38 << 8, 2016, len(body))
    auth = u32(101) + packstr("MUNGE:abc:")
    reply = decode_reply(header + auth + body)
    assert [(f.name, f.exists) for f in reply.files] == [("slurm.conf", True), ("gres.conf", False)]


def test_r1_reply():
    nulls = u32(0)
    body = (packstr("ClusterName=c\n") + nulls + packstr("CgroupPlugin=x\n") + nulls * 7
            + packstr("JC\n") + packstr("/var/spool/slurmd"))
    assert len(body) == 101
    reply = decode_reply(encode_header(36 << 8, 2016, len(body)) + u32(100) + u32(0) + u32(0)
                         + packstr("me") + body)
    files = {f.name: f for f in reply.files}
    assert files["slurm.conf"].content == b"ClusterName=c\n"
    assert files["cgroup.conf"].content == b"CgroupPlugin=x\n"
    assert files["job_container.conf"].content == b"JC\n"
    assert not files["gres.conf"].exists
    assert reply.spool_dir == "/var/spool/slurmd"


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../x", "a/b", "a\0b", "a\nb", "..", "."])
def test_hostile_names_are_refused(name):
    raw = name.encode()
    body = u32(1) + b"\x01\x00" + u32(len(raw) + 1) + raw + b"\0" + packstr("x") + u32(0)
    with pytest.raises(ReplyError):
        decode_reply(encode_header(43 << 8, 2016, len(body), 0x40) + body)


def test_duplicate_names_are_refused():
    entry = b"\x01\x00" + packstr("slurm.conf") + packstr("x")
    body = u32(2) + entry + entry + u32(0)
    with pytest.raises(ReplyError, match="twice"):
        decode_reply(encode_header(43 << 8, 2016, len(body), 0x40) + body)


def test_count_larger_than_frame_is_refused_before_allocation():
    body = u32(0x7FFFFFFF) + b"\x00" * 16
    with pytest.raises(ReplyError, match="claims"):
        decode_reply(encode_header(43 << 8, 2016, len(body), 0x40) + body)


@pytest.mark.parametrize("cut", range(1, 40))
def test_every_truncation_is_a_reply_error(cut):
    frame = H("2b00004007e00000006700000000 0000") + R3_BODY
    with pytest.raises(ReplyError):
        decode_reply(frame[:-cut])
