"""Version negotiation over real sockets on 127.0.0.1: probe.exchange_all and the client's
negotiate() with the real exchange, against scripted controllers of each rejection style
(22.05: close silently; 24.11: rc 1007 in its own version; 25.11: HTTP), one that accepts
nothing, one whose accepted versions answer slowly, and ones that reset. The highest accepted
version wins; the first attempt goes alone, then at most one connection per other version;
the version that worked makes the next fetch one connection; a remembered version that
now fails sends the client back to negotiating without a word."""
import os
import socket
import struct
import time

import pytest

from _slurm import client, known_versions, sockets
from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.errors import ClosedError, FetchError, HttpReplyError, NetworkError, ReplyError
from _slurm.header import encode_header
from _slurm.messages import decode_reply
from _slurm.probe import exchange_all
from _slurm.transport import Address, Network
from _slurm.versions import NEWEST, OLDEST, probe_order
from _slurm.wire import packstr, u32
from fixtures.hostile import GOOD, NO_AUTH, config_frame, frame
from fixtures import startup
from fixtures.servers import Listener, ScriptedController, refused_port

ALL = [v >> 8 for v in probe_order()]  # 46 .. 35
#: A well-formed dummy JWT (these controllers never check it; the client's own check_token
#: passes it): header {"alg":"HS256","typ":"JWT"}, claims {"iat":1700000000,
#: "exp":4102444800,"sun":"slurm"}, a signature of 32 zero bytes.
TOKEN = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
         "eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwic3VuIjoic2x1cm0ifQ."
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
HTTP_405 = (b"HTTP/1.1 405 NOT ALLOWED\r\nContent-Length: 21\r\nContent-Type: text/plain\r\n\r\n"
            b"Invalid HTTP method\r\n")
TIMEOUT = 5.0
NETWORK = Network(max_frame=1 << 20)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


SESSIONS = {}


@pytest.fixture(autouse=True)
def forget():
    SESSIONS.clear()
    yield
    SESSIONS.clear()


def session(controller, protocol="auto"):
    """The fetch session a test holds for one controller, as a caller keeps one."""
    key = (controller.server, protocol)
    if key not in SESSIONS:
        SESSIONS[key] = client.Session([controller.server], JwtCredentials(token=TOKEN),
                                       timeout=TIMEOUT, protocol=protocol)
    return SESSIONS[key]


@pytest.fixture
def controllers(closing):
    """Starts controllers for a test and closes them afterwards."""
    return closing


def config_reply(version):
    """A RESPONSE_CONFIG frame in the layout of version (R1 up to 20.11's protocol 36)."""
    if version <= 36 << 8:
        body = packstr(b"ClusterName=lab\n") + u32(0) * 10 + packstr("/var/spool/slurmd")
        return frame(encode_header(version, 2016, len(body), NO_AUTH) + body)
    return config_frame(version, GOOD)


def rc_reply(version, rc):
    return frame(encode_header(version, 8001, 4, NO_AUTH) + u32(rc))


def scripted(window, reject="close", native=None, slow=None, drop_first=False):
    """A controller that accepts the protocol numbers in window and turns the others down the
    way its release does; slow maps accepted numbers to a delay before the answer;
    drop_first closes the first connection unanswered, whatever it asked."""
    native = (native or max(window or [NEWEST >> 8])) << 8
    arrivals = []

    def reply(version, _request):
        arrivals.append((version >> 8, time.monotonic()))
        number = version >> 8
        if drop_first and len(arrivals) == 1:
            return None
        if number in window:
            delay = (slow or {}).get(number)
            data = config_reply(version)
            if delay:
                def later(conn):
                    time.sleep(delay)
                    conn.sendall(data)
                return later
            return data
        if reject == "rc1007":
            return rc_reply(native, 1007)
        if reject == "http":
            return HTTP_405
        return None
    controller = ScriptedController(reply)
    controller.arrivals = arrivals
    return controller


def _recv_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def resetting(window=()):
    """Reads a whole request, then answers those in window and resets the rest (RST, not a
    FIN); anything that is not a frame (a TLS hello) is reset at once."""
    arrivals = []

    def handle(conn):
        conn.settimeout(TIMEOUT)
        head = _recv_exactly(conn, 4)
        if head is not None and struct.unpack(">I", head)[0] < 1 << 20:
            request = _recv_exactly(conn, struct.unpack(">I", head)[0])
            version = struct.unpack(">H", request[:2])[0]
            arrivals.append((version >> 8, time.monotonic()))
            if version >> 8 in window:
                conn.sendall(config_reply(version))
                return
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    listener = Listener(handle)
    listener.arrivals = arrivals
    return listener


def settled_count(listener, wait=1.0):
    """Connections accepted, once the accept thread has caught up (no new ones for 0.2 s)."""
    end = time.monotonic() + wait
    seen, quiet_since = listener.connections, time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.02)
        if listener.connections != seen:
            seen, quiet_since = listener.connections, time.monotonic()
        elif time.monotonic() - quiet_since >= 0.2:
            break
    return listener.connections


def fetch(controller, **options):
    return session(controller, **options).fetch()


def versions_seen(controller):
    return [number for number, _when in controller.arrivals]


def check_first_alone(controller):
    """The newest went first, alone; then each other version at most once."""
    seen = versions_seen(controller)
    assert seen[0] == NEWEST >> 8
    assert len(seen[1:]) == len(set(seen[1:])) and NEWEST >> 8 not in seen[1:]
    first_at = controller.arrivals[0][1]
    assert all(when >= first_at for _number, when in controller.arrivals[1:])


# -- the styles of rejection ---------------------------------------------------------------

def test_22_05_style_silent_close_the_highest_accepted_wins(controllers):
    controller = controllers(scripted([36, 37, 38]))
    result = fetch(controller)
    assert result.protocol_version == 38 << 8 and result.release == "22.05"
    assert bytes(result.files[0].content) == b"ClusterName=x\n"
    assert result.warnings == []
    assert settled_count(controller) <= 1 + (len(ALL) - 1)
    check_first_alone(controller)
    assert session(controller).negotiated[Address("127.0.0.1", controller.port)] == 38 << 8


def test_24_11_style_rc1007_jumps_to_the_controllers_version(controllers):
    controller = controllers(scripted([39, 40, 41, 42], reject="rc1007", native=42))
    result = fetch(controller)
    assert result.protocol_version == 42 << 8 and result.release == "24.11"
    assert settled_count(controller) == 2
    assert versions_seen(controller) == [46, 42]


def test_25_11_style_http_the_highest_accepted_wins(controllers):
    controller = controllers(scripted([41, 42, 43, 44], reject="http"))
    result = fetch(controller)
    assert result.protocol_version == 44 << 8 and result.release == "25.11"
    assert settled_count(controller) <= len(ALL)
    check_first_alone(controller)


def test_newest_accepted_at_once_is_one_connection(controllers):
    controller = controllers(scripted([43, 44, 45, 46]))
    result = fetch(controller)
    assert result.protocol_version == 46 << 8 and result.release == "26.11"
    assert settled_count(controller) == 1


def test_26_05_style_silent_close_of_26_11s_version_then_its_own(controllers):
    """26.05 turns 26.11's version down silently; its own, the highest of what follows,
    settles the search without waiting for the rest."""
    controller = controllers(scripted([42, 43, 44, 45]))
    result = fetch(controller)
    assert result.protocol_version == 45 << 8 and result.release == "26.05"
    check_first_alone(controller)
    assert settled_count(controller) <= len(ALL)


def test_20_11_style_oldest_window(controllers):
    controller = controllers(scripted([35, 36]))
    result = fetch(controller)
    assert result.protocol_version == 36 << 8
    assert [f.name for f in result.files][:1] == ["slurm.conf"]


def test_a_controller_that_accepts_nothing(controllers):
    controller = controllers(scripted([]))
    with pytest.raises(FetchError) as info:
        fetch(controller)
    message = str(info.value)
    assert "closed the connection without replying to every protocol version from Slurm " \
           "20.02 to 26.11" in message
    assert "auth jwt" in message  # the hint: the credential may be what is refused
    (_server, error), = info.value.attempts
    assert isinstance(error, ClosedError)
    assert settled_count(controller) == len(ALL)
    assert sorted(versions_seen(controller)) == sorted(ALL)
    check_first_alone(controller)
    assert Address("127.0.0.1", controller.port) not in session(controller).negotiated


def test_http_for_every_version_names_http(controllers):
    controller = controllers(scripted([], reject="http"))
    with pytest.raises(FetchError, match="HTTP on\\) accepted none of every protocol version"):
        fetch(controller)


def test_slow_accepted_versions_the_best_still_wins(controllers):
    # 36 and 37 answer at once, 38 only after a while: the client waits for 38.
    controller = controllers(scripted([36, 37, 38], slow={38: 0.6}))
    started = time.monotonic()
    result = fetch(controller)
    assert result.protocol_version == 38 << 8
    assert time.monotonic() - started >= 0.6
    assert settled_count(controller) <= len(ALL)


def test_all_accepted_versions_slow(controllers):
    controller = controllers(scripted([40, 41, 42, 43], reject="rc1007", native=43,
                                      slow={40: 0.3, 41: 0.3, 42: 0.3, 43: 0.3}))
    assert fetch(controller).protocol_version == 43 << 8
    assert versions_seen(controller) == [46, 43]


def test_a_controller_that_resets_everything(controllers):
    controller = controllers(resetting())
    with pytest.raises(FetchError) as info:
        fetch(controller)
    (_server, error), = info.value.attempts
    assert isinstance(error, ClosedError)
    assert "every protocol version from Slurm 20.02 to 26.11" in str(error)
    # Each version once, plus one TLS handshake to tell slurmctld from a TLS server.
    assert settled_count(controller) <= len(ALL) + 1
    assert sorted(versions_seen(controller)) == sorted(ALL)


def test_a_controller_that_resets_other_versions(controllers):
    controller = controllers(resetting(window=(37, 38, 39)))
    assert fetch(controller).protocol_version == 39 << 8
    assert settled_count(controller) <= len(ALL) + 1


# -- what is remembered ------------------------------------------------------------------------

def test_the_negotiated_version_makes_the_next_fetch_one_connection(controllers):
    controller = controllers(scripted([36, 37, 38]))
    fetch(controller)
    before = settled_count(controller)
    result = fetch(controller)
    assert result.protocol_version == 38 << 8
    assert settled_count(controller) == before + 1
    assert versions_seen(controller)[-1] == 38


def test_a_remembered_version_that_now_fails_falls_back_to_negotiating(controllers):
    # Remembered from a 22.05 controller, now upgraded to 24.05 (accepts 39-41).
    controller = controllers(scripted([39, 40, 41]))
    address = Address("127.0.0.1", controller.port)
    session(controller).negotiated[address] = 38 << 8  # as remembered
    result = fetch(controller)
    assert result.protocol_version == 41 << 8 and result.warnings == []
    seen = versions_seen(controller)
    # 38 worked before: it goes out once more beside the others, in case the first
    # connection met a passing fault.
    assert seen[0] == 38 and seen.count(38) == 2
    assert settled_count(controller) <= len(ALL) + 1
    assert session(controller).negotiated[address] == 41 << 8


def test_a_remembered_version_dropped_once_is_kept(controllers):
    """The version that worked meets a connection closed without a word (a fault in between,
    not a refusal): the search asks it again beside the others, and it still wins."""
    controller = controllers(scripted([43, 44, 45, 46], drop_first=True))
    address = Address("127.0.0.1", controller.port)
    session(controller).negotiated[address] = 46 << 8  # as remembered
    assert fetch(controller).protocol_version == 46 << 8


def test_a_remembered_version_refused_with_rc1007_jumps(controllers):
    controller = controllers(scripted([40, 41, 42, 43], reject="rc1007", native=43))
    address = Address("127.0.0.1", controller.port)
    session(controller).negotiated[address] = 38 << 8  # as remembered
    assert fetch(controller).protocol_version == 43 << 8
    assert versions_seen(controller) == [38, 43]


def test_a_remembered_version_still_accepted_is_kept(controllers):
    controller = controllers(scripted([36, 37, 38]))
    session(controller).negotiated[Address("127.0.0.1", controller.port)] = 37 << 8  # as remembered
    assert fetch(controller).protocol_version == 37 << 8
    assert settled_count(controller) == 1


def test_a_versions_file_is_read_first_and_updated(controllers, tmp_path):
    controller = controllers(scripted([36, 37, 38]))
    path = str(tmp_path / "versions")
    address = Address("127.0.0.1", controller.port)
    known_versions.save(path, {address: 36 << 8})
    remembering = client.Session([controller.server], JwtCredentials(token=TOKEN),
                                 timeout=TIMEOUT, versions_path=path)
    assert remembering.negotiated[address] == 36 << 8
    assert remembering.fetch().protocol_version == 36 << 8 and settled_count(controller) == 1
    pinned = client.Session([controller.server], JwtCredentials(token=TOKEN), timeout=TIMEOUT,
                            versions_path=path, protocol="21.08")
    assert pinned.fetch().protocol_version == 37 << 8
    assert known_versions.load(path) == {address: 36 << 8}  # a pinned version is not remembered


def test_a_pinned_release_is_tried_alone(controllers):
    controller = controllers(scripted([36, 37, 38]))
    with pytest.raises(FetchError, match="Slurm 23.02 \\(protocol 39\\)"):
        fetch(controller, protocol="23.02")
    assert settled_count(controller) == 1
    assert fetch(controller, protocol="21.08").protocol_version == 37 << 8


def test_a_dead_controller_then_a_live_one(controllers):
    controller = controllers(scripted([36, 37, 38]))
    result = client.fetch(["127.0.0.1:%d" % refused_port(), controller.server],
                          JwtCredentials(token=TOKEN), timeout=TIMEOUT)
    assert result.protocol_version == 38 << 8 and result.controller == controller.server


@pytest.fixture
def dual_stack(monkeypatch):
    """A controller name with two addresses, as DNS gives a dual-stack host: IPv6 first
    (where slurmctld, without EnableIPv6, does not listen) and IPv4. Only the resolver is
    simulated (where the library resolves); the connections are real."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host in ("dualstack.test", b"dualstack.test"):
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)
    monkeypatch.setattr(sockets, "getaddrinfo", resolve)
    return "dualstack.test"


def test_a_name_whose_first_address_is_dead_serves_a_single_attempt(controllers, dual_stack):
    controller = controllers(scripted([43, 44, 45, 46]))
    result = client.fetch(["%s:%d" % (dual_stack, controller.port)], JwtCredentials(token=TOKEN),
                          timeout=TIMEOUT)
    assert result.protocol_version == 46 << 8


def test_a_name_whose_first_address_is_dead_negotiates(controllers, dual_stack):
    controller = controllers(scripted([36, 37, 38]))
    result = client.fetch(["%s:%d" % (dual_stack, controller.port)], JwtCredentials(token=TOKEN),
                          timeout=TIMEOUT)
    assert result.protocol_version == 38 << 8


def test_a_source_address_probes_the_address_of_its_family(controllers, dual_stack):
    # A watcher listening on an IPv4 address connects from it: the IPv6 address the name
    # gives first cannot be reached from there, so the probes go to the IPv4 one.
    controller = controllers(scripted([36, 37, 38]))
    frames = {v << 8: request(v << 8) for v in (36, 37, 38)}
    outcomes = exchange_all(Network(source="127.0.0.1"), Address(dual_stack, controller.port),
                            frames, TIMEOUT, lambda got: False)
    assert decode_reply(outcomes[38 << 8]).version == 38 << 8
    assert settled_count(controller) == 3


def test_a_source_with_no_address_of_its_family_is_named():
    with pytest.raises(OSError, match="no address to connect to from ::1"):
        sockets.first_address("127.0.0.1", 6817, "::1")


# -- probe.exchange_all directly ----------------------------------------------------------------

def request(version):
    message = encode_header(version, 2015, 4) + u32(102) + packstr(TOKEN) + packstr(None) + u32(1)
    return u32(len(message)) + message


def address_of(controller):
    return Address("127.0.0.1", controller.port)


def test_exchange_all_returns_each_reply_or_error(controllers):
    controller = controllers(scripted([37, 38], reject="close"))
    frames = {v << 8: request(v << 8) for v in (36, 37, 38, 39)}
    outcomes = exchange_all(NETWORK, address_of(controller), frames, TIMEOUT, lambda got: False)
    assert sorted(outcomes) == sorted(frames)
    assert decode_reply(outcomes[38 << 8]).version == 38 << 8
    assert decode_reply(outcomes[37 << 8]).version == 37 << 8
    assert isinstance(outcomes[36 << 8], ClosedError) and isinstance(outcomes[39 << 8], ClosedError)
    assert settled_count(controller) == 4


def test_exchange_all_names_http_and_resets():
    http = scripted([], reject="http")
    reset = resetting()
    try:
        outcome = exchange_all(NETWORK, address_of(http), {1: request(45 << 8)}, TIMEOUT,
                               lambda got: False)[1]
        assert isinstance(outcome, HttpReplyError)
        outcome = exchange_all(NETWORK, address_of(reset), {1: request(45 << 8)}, TIMEOUT,
                               lambda got: False)[1]
        assert isinstance(outcome, ClosedError) and "reset" in str(outcome)
    finally:
        http.close()
        reset.close()


def test_exchange_all_stops_once_settled(controllers):
    # 38 answers at once, the others after two seconds: settled on 38, the others abandoned.
    controller = controllers(scripted([36, 37, 38], slow={36: 2.0, 37: 2.0}))
    frames = {v << 8: request(v << 8) for v in (36, 37, 38)}
    started = time.monotonic()
    outcomes = exchange_all(NETWORK, address_of(controller), frames, TIMEOUT,
                            lambda got: (38 << 8) in got)
    assert time.monotonic() - started < 1.5
    assert decode_reply(outcomes[38 << 8]).version == 38 << 8
    # The ones cut short are neither waited for nor reported: nothing went wrong with them.
    assert all(v << 8 not in outcomes for v in (36, 37))


def test_exchange_all_deadline(controllers):
    controller = controllers(scripted([38], slow={38: 3.0}))
    started = time.monotonic()
    outcomes = exchange_all(NETWORK, address_of(controller), {1: request(38 << 8)}, 0.4,
                            lambda got: False)
    assert time.monotonic() - started < 2.0
    assert isinstance(outcomes[1], NetworkError) and "no complete reply within 0.4s" in str(outcomes[1])


def test_exchange_all_enforces_the_frame_limit(controllers):
    controller = controllers(scripted([38]))
    outcomes = exchange_all(
        Network(max_frame=16), address_of(controller), {1: request(38 << 8)}, TIMEOUT, lambda got: False)
    assert isinstance(outcomes[1], ReplyError) and "exceeds the 16-byte limit" in str(outcomes[1])


def test_exchange_all_truncated_reply():
    def half(conn):
        conn.settimeout(TIMEOUT)
        _recv_exactly(conn, 4)
        conn.recv(65536)
        conn.sendall(config_reply(38 << 8)[:20])
    listener = Listener(half)
    try:
        outcome = exchange_all(NETWORK, address_of(listener), {1: request(38 << 8)}, TIMEOUT,
                               lambda got: False)[1]
        assert isinstance(outcome, ReplyError) and "truncated reply" in str(outcome)
    finally:
        listener.close()


def test_exchange_all_refused_connection():
    outcome = exchange_all(Network(), Address("127.0.0.1", refused_port()), {1: request(45 << 8)},
                           TIMEOUT, lambda got: False)[1]
    assert isinstance(outcome, NetworkError) and not isinstance(outcome, ClosedError)
    assert "refused" in str(outcome)


def test_exchange_all_many_at_once_in_one_round_trip(controllers):
    # Every answer waits 0.5 s: all in parallel take about 0.5 s, not 11 x 0.5 s.
    controller = controllers(scripted(ALL, slow=dict.fromkeys(ALL, 0.5)))
    frames = {v << 8: request(v << 8) for v in ALL}
    started = time.monotonic()
    outcomes = exchange_all(NETWORK, address_of(controller), frames, TIMEOUT, lambda got: False)
    assert time.monotonic() - started < 2.5
    assert all(decode_reply(outcomes[v << 8]).version == v << 8 for v in ALL if v > 36)


def test_the_dummy_token_is_well_formed():
    from _slurm.auth.jwt_claims import check_token
    assert check_token(TOKEN, False) == []


def test_versions_span():
    assert ALL[0] == NEWEST >> 8 and ALL[-1] == OLDEST >> 8 and len(ALL) == 12


def test_negotiation_imports_nothing_heavy():
    """probe and client run in the caller's thread on poll(): a whole first contact's modules
    load no threads, nor anything else startup.HEAVY names."""
    library = os.path.join(ROOT, "plugins", "module_utils")
    status, imported = startup.imported(["-c", "import _slurm.client, _slurm.negotiation, _slurm.probe"],
                                        dict(os.environ, PYTHONPATH=library))
    assert status == 0 and "_slurm.probe" in imported
    assert not startup.HEAVY & imported, sorted(startup.HEAVY & imported)


def test_http_from_the_newest_leaves_only_25_11s_version_and_newer(controllers):
    """Only 25.11 and newer answer HTTP, and all of them accept 25.11's version: after the
    newest, only the versions between go out (25.11's and 26.05's), together."""
    controller = controllers(scripted([41, 42, 43, 44], reject="http"))
    assert fetch(controller).protocol_version == 44 << 8
    assert sorted(versions_seen(controller)) == [44, 45, 46]


def test_26_05_with_http_answers_http_to_26_11s_version_and_is_found(controllers):
    controller = controllers(scripted([42, 43, 44, 45], reject="http"))
    result = fetch(controller)
    assert result.protocol_version == 45 << 8 and result.release == "26.05"
    assert set(versions_seen(controller)) <= {44, 45, 46} and versions_seen(controller)[0] == 46


def test_a_window_of_three_old_versions_settles_without_waiting_for_rejections(controllers):
    """Three consecutive accepted versions ending at 23.11 or before end at the controller's
    own: slow rejections of the newer ones are not waited for."""
    def reply(version, _request):
        number = version >> 8
        if number in (36, 37, 38):
            return config_reply(version)
        if number == NEWEST >> 8:
            return None  # the first attempt, turned down at once
        return lambda conn: time.sleep(1.5)  # the others, turned down slowly
    controller = controllers(ScriptedController(reply))
    started = time.monotonic()
    assert fetch(controller).protocol_version == 38 << 8
    assert time.monotonic() - started < 1.0


def test_four_accepted_versions_end_at_the_controllers_own(controllers):
    def reply(version, _request):
        number = version >> 8
        if number in (40, 41, 42, 43):
            return config_reply(version)
        if number == NEWEST >> 8:
            return None
        return lambda conn: time.sleep(1.5)
    controller = controllers(ScriptedController(reply))
    started = time.monotonic()
    assert fetch(controller).protocol_version == 43 << 8
    assert time.monotonic() - started < 1.0
