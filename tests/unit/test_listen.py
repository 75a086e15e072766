"""The push listener with real sockets on the loopback: good frames, hostile and broken peers,
floods, the memory bound, TLS, bind errors, the wakeup fd and a listener at rest. Clients run
in the test (sometimes in a thread); the listener itself is one non-blocking loop."""
import errno
import os
import resource
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _slurm.errors import RequestError
from _slurm.listen import Frame, Listener

LOOPBACK = "127.0.0.1"
LIBRARY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "plugins", "module_utils")


def framed(data):
    return struct.pack(">I", len(data)) + data


@pytest.fixture
def make():
    """Listener factory on 127.0.0.1 and a free port; everything is closed afterwards."""
    made = []

    def factory(address=LOOPBACK, port=0, **options):
        listener = Listener(address, port, **options)
        made.append(listener)
        return listener
    yield factory
    for listener in made:
        listener.close()


@pytest.fixture
def clients():
    opened = []

    def connect(listener, host=LOOPBACK, family=socket.AF_INET, source=None):
        """A connection to listener, from the loopback address source when given (each
        127.0.0.N is another host to the listener)."""
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(2)
        if source:
            sock.bind((source, 0))
        sock.connect((host, listener.port))
        opened.append(sock)
        return sock
    yield connect
    for sock in opened:
        sock.close()


def said(rejections):
    return [(r.peer, r.reason, r.kind) for r in rejections]


def peer_of(sock):
    host, port = sock.getsockname()[:2]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def collect(listener, frames=0, rejections=0, within=2.0):
    """Waits until at least this many frames and rejections arrived, or within passed."""
    got_frames, got_rejections = [], []
    end = time.monotonic() + within
    while time.monotonic() < end and (len(got_frames) < frames or len(got_rejections) < rejections):
        new_frames, new_rejections, woken = listener.wait(end - time.monotonic())
        assert not woken
        got_frames += new_frames
        got_rejections += new_rejections
    return got_frames, got_rejections


def settle(listener, within=0.3):
    """Everything the listener hands over in the next within seconds."""
    got_frames, got_rejections = [], []
    end = time.monotonic() + within
    while time.monotonic() < end:
        new_frames, new_rejections, _woken = listener.wait(end - time.monotonic())
        got_frames += new_frames
        got_rejections += new_rejections
    return got_frames, got_rejections


def send_in_thread(sock, data, chunk=1 << 16):
    def run():
        try:
            for offset in range(0, len(data), chunk):
                sock.sendall(data[offset:offset + chunk])
        except OSError:
            pass
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# --- good frames ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 12, 4096, 65539, 1 << 20])
def test_good_frame(make, clients, size):
    listener = make()
    client = clients(listener)
    data = os.urandom(size)
    thread = send_in_thread(client, framed(data))
    frames, rejections = collect(listener, frames=1)
    thread.join(2)
    assert frames == [Frame(peer_of(client), data)] and rejections == []
    assert client.recv(1) == b""  # we close once the frame is complete
    assert listener._held == 0 and not listener._connections


def test_five_mib_in_chunks_then_trailing_bytes_ignored(make, clients):
    listener = make()
    client = clients(listener)
    data = os.urandom(5 << 20)
    thread = send_in_thread(client, framed(data) + b"trailing garbage", chunk=100_003)
    frames, rejections = collect(listener, frames=1)
    thread.join(2)
    assert [frame.data == data for frame in frames] == [True] and rejections == []
    assert listener.wait(0.1) == ([], [], False)


def test_two_peers_interleaved(make, clients):
    listener = make()
    one, two = clients(listener), clients(listener)
    first, second = framed(b"a" * 3000), framed(b"b" * 2000)
    frames = []
    for offset in range(0, 3004, 500):
        one.sendall(first[offset:offset + 500])
        two.sendall(second[offset:offset + 500])
        frames += listener.wait(0.02)[0]
    frames += collect(listener, frames=2 - len(frames))[0]
    assert sorted(frames) == sorted([Frame(peer_of(one), b"a" * 3000), Frame(peer_of(two), b"b" * 2000)])


def test_socket_options(make):
    listener = make()
    assert listener._sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    assert not os.get_inheritable(listener._sock.fileno())
    assert listener.port > 0


# --- broken and hostile peers -------------------------------------------------------------------

def test_garbage_length(make, clients):
    listener = make()
    clients(listener).sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
    frames, rejections = collect(listener, rejections=1)
    assert rejections[0].reason == "frame of 1397966893 bytes exceeds the 16777216-byte limit"
    assert not frames and listener._held == 0


def test_zero_length(make, clients):
    listener = make()
    client = clients(listener)
    client.sendall(b"\0\0\0\0")
    _ignored, rejections = collect(listener, rejections=1)
    assert said(rejections) == [(peer_of(client), "frame of 0 bytes (an empty length)", "garbage")]


def test_oversized_refused_and_limit_accepted(make, clients):
    listener = make(max_frame=1000)
    clients(listener).sendall(struct.pack(">I", 1001))
    clients(listener).sendall(framed(b"x" * 1000))
    frames, rejections = collect(listener, frames=1, rejections=1)
    assert [r.reason for r in rejections] == ["frame of 1001 bytes exceeds the 1000-byte limit"]
    assert [len(f.data) for f in frames] == [1000]


@pytest.mark.parametrize("sent, reason", [
    (b"", "closed without sending anything"),
    (b"\0\0\0", "closed after 3 of 4 length bytes"),
    (framed(b"x" * 10)[:9], "closed after 5 of 10 frame bytes"),
])
def test_closed_early(make, clients, sent, reason):
    listener = make()
    client = clients(listener)
    client.sendall(sent)
    client.shutdown(socket.SHUT_WR)
    _ignored, rejections = collect(listener, rejections=1)
    assert said(rejections) == [(peer_of(client), reason, "closed")]
    assert listener.wait(0.05) == ([], [], False)


def test_peer_reset(make, clients):
    listener = make()
    client = clients(listener)
    peer = peer_of(client)
    client.sendall(framed(b"x" * 100)[:14])
    assert listener.wait(0.2) == ([], [], False)  # the 14 bytes are read
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    _ignored, rejections = collect(listener, rejections=1)
    assert said(rejections) == [(peer, "connection reset after 10 of 100 frame bytes", "closed")]


def test_drip_exceeds_deadline(make, clients):
    listener = make(deadline=0.5)
    client = clients(listener)
    start = time.monotonic()
    rejections = []
    for byte in framed(b"x" * 100):
        client.sendall(bytes([byte]))
        rejections += listener.wait(0.1)[1]
        if rejections:
            break
    elapsed = time.monotonic() - start
    assert [r.reason for r in rejections] == ["no complete frame within 0.5s (1 of 100 frame bytes)"]
    assert 0.45 <= elapsed < 1.5
    assert listener._held == 0 and not listener._connections


def test_idle_peers_do_not_delay_a_good_frame(make, clients):
    listener = make(max_per_source=100)
    idle = [clients(listener) for _unused in range(100)]
    for sock in idle[::2]:
        sock.sendall(b"\0\0")  # half of them stall inside the length
    assert listener.wait(0.1) == ([], [], False)
    client = clients(listener, source="127.0.0.2")
    start = time.monotonic()
    client.sendall(framed(b"push"))
    frames, rejections = collect(listener, frames=1)
    assert frames == [Frame(peer_of(client), b"push")] and not rejections
    assert time.monotonic() - start < 1.0
    assert len(listener._connections) == 100


# --- fairness: one address cannot take what every address shares --------------------------------

def test_one_address_holds_a_few_connections_and_a_push_from_another_lands(make, clients):
    """256 idle connections from one attacker address: it keeps 8, the rest are closed at
    once, and the controller's push lands."""
    listener = make()
    idle = [clients(listener, source="127.0.0.2") for _unused in range(256)]
    _ignored, rejections = collect(listener, rejections=256 - 8)
    assert {r.reason for r in rejections} == {"too many connections from this address (8 open)"}
    assert {r.kind for r in rejections} == {"busy"} and len(listener._connections) == 8
    controller = clients(listener, source="127.0.0.3")
    start = time.monotonic()
    controller.sendall(framed(b"push"))
    frames, _ignored = collect(listener, frames=1)
    assert frames == [Frame(peer_of(controller), b"push")] and time.monotonic() - start < 1.0
    assert len(idle) == 256


def test_one_address_announcing_big_frames_holds_one_frame_of_bytes(make, clients):
    listener = make(max_frame=1 << 20, max_total_bytes=2 << 20)
    for _unused in range(4):
        clients(listener, source="127.0.0.2").sendall(struct.pack(">I", 1 << 20))
    _ignored, rejections = collect(listener, rejections=3)
    assert all("limit on bytes buffered for one address" in r.reason for r in rejections)
    controller = clients(listener, source="127.0.0.3")
    data = os.urandom(1 << 20)
    send_in_thread(controller, framed(data))
    frames, _ignored = collect(listener, frames=1)
    assert frames == [Frame(peer_of(controller), data)]


def test_a_full_listener_makes_room_for_an_address_that_holds_less(make, clients):
    """Attackers from two addresses fill every byte and connection; a third address still gets
    in, by closing the largest frame or oldest connection of the address that holds the most."""
    listener = make(max_frame=1000, max_total_bytes=2000, max_connections=6, max_per_source=4)
    for source in ("127.0.0.2", "127.0.0.4"):
        clients(listener, source=source).sendall(struct.pack(">I", 1000) + b"x" * 10)
    for source in ("127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.4"):
        clients(listener, source=source)
    assert settle(listener) == ([], [])
    assert len(listener._connections) == 6 and listener._held == 2000
    controller = clients(listener, source="127.0.0.3")
    controller.sendall(framed(b"p" * 1000))
    frames, rejections = collect(listener, frames=1)
    assert frames == [Frame(peer_of(controller), b"p" * 1000)]
    assert [r.reason for r in rejections if "make room" in r.reason], said(rejections)
    assert all(r.peer.startswith(("127.0.0.2", "127.0.0.4")) for r in rejections if "make room" in r.reason)


def test_too_many_connections(make, clients):
    listener = make(max_connections=2)
    keep = [clients(listener), clients(listener)]
    assert listener.wait(0.1) == ([], [], False)
    extra = clients(listener)
    _ignored, rejections = collect(listener, rejections=1)
    assert said(rejections) == [(peer_of(extra), "too many connections (2 open)", "busy")]
    assert extra.recv(1) == b""  # accepted and closed at once
    flood = [clients(listener) for _unused in range(10)]
    _ignored, rejections = collect(listener, rejections=10)
    assert {r.peer for r in rejections} == {peer_of(sock) for sock in flood}
    for sock in keep:  # the two kept connections still work
        sock.sendall(framed(b"ok"))
    frames, _ignored = collect(listener, frames=2)
    assert sorted(frames) == sorted(Frame(peer_of(sock), b"ok") for sock in keep)


def test_total_bytes_bound(make, clients):
    listener = make(max_frame=800, max_total_bytes=1000)
    first = clients(listener)
    first.sendall(framed(b"a" * 600)[:100])
    assert listener.wait(0.1) == ([], [], False)
    second = clients(listener, source="127.0.0.2")
    second.sendall(struct.pack(">I", 600))
    _ignored, rejections = collect(listener, rejections=1)
    assert said(rejections) == [(peer_of(second), "frame of 600 bytes would exceed the 1000-byte limit "
                                                  "on buffered bytes (600 held)", "busy")]
    first.sendall(framed(b"a" * 600)[100:])
    frames, _ignored = collect(listener, frames=1)
    assert frames == [Frame(peer_of(first), b"a" * 600)] and listener._held == 0
    third = clients(listener)
    third.sendall(framed(b"c" * 600))
    assert collect(listener, frames=1)[0] == [Frame(peer_of(third), b"c" * 600)]


def test_many_large_announcements_stay_within_memory(make, clients):
    """20 addresses announcing 1 MiB each with a 4 MiB bound: 4 buffers, 16 rejections."""
    listener = make(max_frame=1 << 20, max_total_bytes=4 << 20)
    tracemalloc.start()
    try:
        for index in range(20):
            clients(listener, source="127.0.0.%d" % (10 + index)).sendall(struct.pack(">I", 1 << 20) + b"x" * 1000)
        _ignored, rejections = collect(listener, rejections=16)
        _ignored, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rejections) == 16 and len(listener._connections) == 4
    assert listener._held == 4 << 20
    assert peak < (4 << 20) + (512 << 10)


# --- the loop: wakeup, rest, descriptors ---------------------------------------------------------

def test_wakeup_fd_already_readable(make):
    listener = make()
    reader, writer = socket.socketpair()
    with reader, writer:
        writer.send(b"!")
        start = time.monotonic()
        assert listener.wait(5, wakeup=reader.fileno()) == ([], [], True)
        assert time.monotonic() - start < 0.5
        reader.recv(1)
        assert listener.wait(0.05, wakeup=reader.fileno()) == ([], [], False)


def test_wakeup_fd_from_a_signal(make):
    listener = make()
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    caught = []
    previous = signal.signal(signal.SIGALRM, lambda number, frame: caught.append(number))
    old_fd = signal.set_wakeup_fd(writer.fileno())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        start = time.monotonic()
        assert listener.wait(2.5, wakeup=reader.fileno()) == ([], [], True)
        assert 0.15 < time.monotonic() - start < 1.0 and caught == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGALRM, previous)
        reader.close()
        writer.close()


def test_no_busy_loop_at_rest(make):
    listener = make()
    cpu, start = time.process_time(), time.monotonic()
    assert listener.wait(2.0) == ([], [], False)
    assert time.monotonic() - start >= 1.95
    assert time.process_time() - cpu < 0.05


OUT_OF_DESCRIPTORS = r"""
import resource, socket, sys, time
from _slurm.listen import Listener
listener = Listener("127.0.0.1", 0)
resource.setrlimit(resource.RLIMIT_NOFILE, (len(__import__("os").listdir("/proc/self/fd")) + 2, %d))
print(listener.port, flush=True)
sys.stdin.readline()
cpu, rejections = time.process_time(), []
end = time.monotonic() + 0.5
while time.monotonic() < end:
    rejections += listener.wait(end - time.monotonic())[1]
print(repr([r.reason for r in rejections]), round(time.process_time() - cpu, 3), flush=True)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_out_of_descriptors_does_not_spin(clients):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    child = subprocess.Popen([sys.executable, "-c", OUT_OF_DESCRIPTORS % hard], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=LIBRARY))
    socks = []
    try:
        port = int(child.stdout.readline())
        for _unused in range(6):
            sock = socket.create_connection((LOOPBACK, port), timeout=2)
            socks.append(sock)
        child.stdin.write("\n")
        child.stdin.flush()
        reasons, cpu = child.stdout.readline().rsplit(" ", 1)
        assert reasons == repr(["cannot accept connections for 1s: Too many open files"])
        assert float(cpu) < 0.1
    finally:
        child.kill()
        child.wait()
        for sock in socks:
            sock.close()


# --- addresses and bind errors --------------------------------------------------------------------

def test_port_in_use(make):
    taken = make()
    with pytest.raises(RequestError) as caught:
        Listener(LOOPBACK, taken.port)
    assert str(caught.value) == "port %d on 127.0.0.1 is in use (is slurmd or sackd running here?)" % taken.port
    with pytest.raises(RequestError) as caught:
        Listener("", taken.port)
    assert str(caught.value) == "port %d is in use (is slurmd or sackd running here?)" % taken.port


def test_address_not_on_this_host():
    with pytest.raises(RequestError, match="^the address 192.0.2.1 is not on this host$"):
        Listener("192.0.2.1", 0)


def test_bad_port_and_name():
    with pytest.raises(RequestError, match="not between 0 and 65535"):
        Listener(LOOPBACK, 70000)
    with pytest.raises(RequestError, match="^cannot resolve the listen address no-such-host.invalid: "):
        Listener("no-such-host.invalid", 0)


LOW_PORT = r"""
import os
from _slurm.errors import RequestError
from _slurm.listen import Listener
"".encode("idna")  # getaddrinfo's codec
if os.geteuid() == 0:  # root may bind anything: try as nobody (imports first: root's files)
    os.setgid(65534)
    os.setuid(65534)
try:
    Listener("127.0.0.1", 1).close()
    print("bound")
except RequestError as exc:
    print(exc)
"""


def unprivileged_low_ports():
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as handle:
            return int(handle.read()) <= 1
    except (OSError, ValueError):
        return False


@pytest.mark.skipif(unprivileged_low_ports(), reason="every user may bind low ports here")
def test_low_port_permission_denied():
    result = subprocess.run([sys.executable, "-c", LOW_PORT], capture_output=True, text=True, timeout=10, check=False,
                            env=dict(os.environ, PYTHONPATH=LIBRARY), cwd="/")
    assert result.stdout == ("permission denied to listen on port 1 on 127.0.0.1 "
                             "(ports below 1024 need root or CAP_NET_BIND_SERVICE)\n"), result.stderr


def ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_loopback(make, clients):
    listener = make("::1")
    client = clients(listener, "::1", socket.AF_INET6)
    client.sendall(framed(b"six"))
    frames, _ignored = collect(listener, frames=1)
    assert frames == [Frame("[::1]:%d" % client.getsockname()[1], b"six")]


def test_all_addresses_reports_ipv4_peers_as_ipv4(make, clients):
    listener = make("")
    client = clients(listener)
    client.sendall(framed(b"four"))
    frames, _ignored = collect(listener, frames=1)
    assert frames == [Frame("127.0.0.1:%d" % client.getsockname()[1], b"four")]


# --- TLS ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-days", "2"],
                   check=True, capture_output=True, timeout=20)
    return cert, key


def server_context(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def tls_client_send(certificate, port, data):
    """A blocking TLS client in a thread that sends and closes without reading, as slurmctld does."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(certificate[0])
    result = {}

    def run():
        try:
            with socket.create_connection((LOOPBACK, port), timeout=2) as raw, context.wrap_socket(raw) as sock:
                result["peer"] = peer_of(sock)
                sock.sendall(data)
        except OSError as exc:
            result["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_tls_frame(make, certificate):
    context = server_context(certificate)
    listener = make(tls=context)
    assert context.num_tickets == 0  # unread tickets would make the closing client reset
    data = os.urandom(300_000)
    thread, result = tls_client_send(certificate, listener.port, framed(data))
    frames, rejections = collect(listener, frames=1)
    thread.join(2)
    assert frames == [Frame(result["peer"], data)] and not rejections and "error" not in result


def test_plaintext_client_to_tls_listener(make, clients, certificate):
    listener = make(tls=server_context(certificate))
    plain = clients(listener)
    plain.sendall(framed(b"not TLS at all"))
    _ignored, rejections = collect(listener, rejections=1)
    assert len(rejections) == 1 and rejections[0].peer == peer_of(plain)
    assert rejections[0].reason.startswith("TLS handshake failed: ")
    assert rejections[0].reason.endswith("(the peer does not speak TLS)")
    assert "\n" not in rejections[0].reason and "_ssl.c" not in rejections[0].reason
    thread, result = tls_client_send(certificate, listener.port, framed(b"after"))
    frames, _ignored = collect(listener, frames=1)
    thread.join(2)
    assert frames == [Frame(result["peer"], b"after")]


def test_tls_client_distrusting_us(make, clients, certificate):
    """A client that rejects our certificate sends an alert: one rejection, nothing more."""
    listener = make(tls=server_context(certificate))
    context = ssl.create_default_context()  # the system CAs, which never signed our certificate
    raw = clients(listener)
    with pytest.raises(ssl.SSLError):
        sock = context.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
        while True:  # our listener answers only inside wait(): drive both sides
            try:
                sock.setblocking(False)
                sock.do_handshake()
                break
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                listener.wait(0.05)
    _ignored, rejections = collect(listener, rejections=1)
    assert len(rejections) == 1 and rejections[0].reason.startswith("TLS handshake failed: ")


def test_tls_silent_client_hits_deadline(make, clients, certificate):
    listener = make(tls=server_context(certificate), deadline=0.5)
    client = clients(listener)
    _ignored, rejections = collect(listener, rejections=1)
    assert said(rejections) == [(peer_of(client), "no TLS handshake within 0.5s", "slow")]


# --- property: whatever peers send, wait() never raises and the bound holds -------------------------

chunks = st.one_of(
    st.binary(max_size=64),
    st.integers(0, 5000).map(lambda n: struct.pack(">I", n)),
    st.integers(0, 3000).map(lambda n: framed(b"z" * n)),
)
actions = st.lists(st.tuples(st.integers(0, 4), st.one_of(chunks, st.sampled_from(["close", "reset"]))),
                   max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions)
def test_random_peers_never_break_the_listener(make, steps):
    listener = make(max_frame=4096, max_total_bytes=6000, deadline=5)
    peers = {}
    frames = []
    try:
        for index, action in steps:
            sock = peers.get(index)
            if sock is None:
                sock = peers[index] = socket.create_connection((LOOPBACK, listener.port), timeout=2)
            if action in ("close", "reset"):
                if action == "reset":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                del peers[index]
            else:
                try:
                    sock.sendall(action)
                except OSError as exc:  # we closed it after a frame or a rejection
                    assert exc.errno in (errno.EPIPE, errno.ECONNRESET)
                    sock.close()
                    del peers[index]
            new_frames, rejections, _ignored = listener.wait(0)
            frames += new_frames
            assert listener._held <= listener.max_total_bytes
            assert all(r.kind and "\n" not in r.reason for r in rejections)
        assert listener.wait(0.01) is not None
        assert all(0 < len(frame.data) <= 4096 for frame in frames)
    finally:
        for sock in peers.values():
            sock.close()
