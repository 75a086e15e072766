"""Version negotiation against simulated controllers of every rejection style, through the
client's injected exchange (no I/O): the same decisions the lab proves with real daemons."""
import pytest

from _slurm import client
from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.errors import ClosedError, FetchError, ReplyError
from _slurm.header import encode_header
from _slurm.messages import decode_body
from _slurm.wire import Reader, u32
from fixtures.simulated import Controller, rc_reply


CASES = {
    "20.11": (36, [34, 35, 36], "close", 36),
    "21.08": (37, [35, 36, 37], "close", 37),
    "22.05": (38, [36, 37, 38], "close", 38),
    "23.02": (39, [37, 38, 39], "close", 39),
    "23.11": (40, [38, 39, 40], "close", 40),
    "24.05": (41, [39, 40, 41], "close", 41),
    "24.11": (42, [39, 40, 41, 42], "rc1007", 42),
    "25.05": (43, [40, 41, 42, 43], "rc1007", 43),
    "25.11 (HTTP off)": (44, [41, 42, 43, 44], "rc1007", 44),
    "25.11 (HTTP on)": (44, [41, 42, 43, 44], "http", 44),
    "26.05": (45, [42, 43, 44, 45], "close", 45),
    "26.05 (HTTP on)": (45, [42, 43, 44, 45], "http", 45),
    "26.11": (46, [43, 44, 45, 46], "close", 46),
    "26.11 (HTTP on)": (46, [43, 44, 45, 46], "http", 46),
    "27.05 (as master will be next)": (47, [44, 45, 46, 47], "close", 46),
}


@pytest.mark.parametrize("release", CASES)
def test_finds_the_highest_common_version(release):
    native, window, reject, expected = CASES[release]
    controller = Controller(native, window, reject)
    result = client.fetch(["ctl"], JwtCredentials("t"), exchange=controller)
    assert result.protocol_version == expected << 8
    assert result.files[0].content == b"X=1\n"


def test_rc1007_jumps_straight_to_the_controllers_version():
    controller = Controller(42, [39, 40, 41, 42], "rc1007")
    client.fetch(["ctl"], JwtCredentials("t"), exchange=controller)
    assert controller.seen == [46, 42]


def test_the_version_that_worked_is_tried_first_next_time():
    controller = Controller(38, [36, 37, 38], "close")
    session = client.Session(["ctl"], JwtCredentials("t"), exchange=controller)
    session.fetch()
    controller.seen.clear()
    session.fetch()
    assert controller.seen == [38]


def test_each_session_negotiates_for_itself():
    controller = Controller(38, [36, 37, 38], "close")
    client.fetch(["ctl"], JwtCredentials("t"), exchange=controller)
    controller.seen.clear()
    client.fetch(["ctl"], JwtCredentials("t"), exchange=controller)
    assert controller.seen[0] == 46


def test_pinned_release_outside_the_window_names_the_controllers_release():
    controller = Controller(42, [39, 40, 41, 42], "rc1007")
    with pytest.raises(FetchError, match="speaks Slurm 24.11"):
        client.fetch(["ctl"], JwtCredentials("t"), protocol="26.05", exchange=controller)
    assert controller.seen == [45]


def test_26_11_is_spoken_natively_and_named():
    controller = Controller(46, [43, 44, 45, 46], "close")
    result = client.fetch(["ctl"], JwtCredentials("t"), exchange=controller)
    assert result.release == "26.11" and controller.seen == [46]


def test_26_05_costs_one_refusal_then_its_own_version():
    controller = Controller(45, [42, 43, 44, 45], "close")
    assert client.fetch(["ctl"], JwtCredentials("t"), exchange=controller).release == "26.05"
    assert controller.seen == [46, 45]


def test_http_after_a_remembered_old_version_tries_every_version_from_25_11s():
    """A controller that answered 24.11's version and now answers HTTP was upgraded to 25.11
    or newer: every version from 25.11's up is a candidate, not 25.11's alone."""
    controller = Controller(45, [42, 43, 44, 45], "http")
    session = client.Session(["ctl"], JwtCredentials("t"), exchange=controller)
    session.negotiated[client.parse_address("ctl")] = 41 << 8  # remembered from before
    assert session.fetch().release == "26.05"
    assert controller.seen == [41, 46, 45]


def test_silence_at_every_version_is_reported_as_ambiguous_with_a_hint():
    controller = Controller(38, [], "close")
    with pytest.raises(FetchError) as info:
        client.fetch(["ctl"], JwtCredentials("t"), exchange=controller)
    message = str(info.value)
    assert "closed the connection without replying" in message
    assert "20.02 to 26.11" in message and "auth jwt" in message
    assert len(controller.seen) == 12


def test_real_answers_stop_the_probing():
    seen = []

    def denied(address, frame, timeout):
        seen.append(frame)
        return rc_reply(int.from_bytes(frame[4:6], "big"), 2010)
    with pytest.raises(FetchError, match="rc 2010"):
        client.fetch(["ctl"], JwtCredentials("t"), exchange=denied)
    assert len(seen) == 1


def test_decode_body_of_rc_is_signed():
    header = encode_header(43 << 8, 8001, 4, 0x40)
    from _slurm.header import decode_header
    reader = Reader(header + u32(0xFFFFFFFF))
    assert decode_body(decode_header(reader), reader).rc == -1


def test_reply_error_is_not_closed_error():
    assert not issubclass(ReplyError, ClosedError)
