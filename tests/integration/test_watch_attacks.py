"""The watcher attacked, against a real 26.05 controller and its real pushes: one stranger's
address holding idle connections, announcing big frames or flooding garbage while the
controller pushes; replays of a real push in other spellings; pushes it cannot verify;
credentials too big to be real. Each attack comes from its own loopback address (the
controller's pushes come from 127.0.0.1), is bounded in count and time, and must end with no
write, no fetch, bounded CPU, a short log, and the controller's push applied."""
import os
import time

import pytest

from _slurm.auth import munge_key
from _slurm.auth.body_hash import body_hash
from _slurm.header import encode_header
from _slurm.messages import AUTH_MUNGE, AUTH_SLURM, REQUEST_RECONFIGURE_SACKD
from _slurm.wire import packstr, u32
from fixtures import attacker
from fixtures.servers import Proxy
from lab import down, up
from watching import SLURM_UID, Watcher, change, content, reconfigure, record_a_push, wait_for

RELEASE, PORT = "26.05", 18350  # this module's own controller
PUSH_PORT = 18390


@pytest.fixture(scope="module")
def controller():
    c = up(RELEASE, name="attacks", port=PORT)
    yield c
    down(c)


@pytest.fixture(scope="module")
def key(controller):
    with open(controller.munge_key, "rb") as handle:
        return handle.read()


@pytest.fixture
def watcher(controller, tmp_path):
    """A watcher of the client set that verifies pushes with the MUNGE key, behind a proxy
    that counts its connections to the controller."""
    proxy = Proxy(controller.port)
    w = Watcher([proxy.server, "--request", "client", "--interval", 600, "--auth", "munge",
                 "--munge-key", controller.munge_key, "--slurm-user", SLURM_UID,
                 "--listen-port", PUSH_PORT], tmp_path / "conf")
    try:
        w.wait_line("registered with")
        w.proxy = proxy
        w.conf = tmp_path / "conf"
        yield w
    finally:
        w.stop()
        proxy.close()


def push_lands(c, w, within=1.0):
    """A real reconfigure with a new nodes.conf; how long after scontrol returned the
    watcher held it (None: not within)."""
    time.sleep(1.1)  # credentials count whole seconds: a new second, a new push
    wanted = change(c)
    reconfigure(c)
    start = time.monotonic()
    landed = wait_for(lambda: content(w.conf / "nodes.conf") == wanted, within)
    return None if landed is None else landed - start


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("attack", ["idle", "announce", "garbage"])
def test_a_push_lands_within_a_second_under_attack(controller, watcher, attack):
    """256 idle connections, 16 MiB announced on several connections, or garbage as fast as
    one address can send it: the controller's push still lands within a second."""
    action = {"idle": attacker.idle(PUSH_PORT, 256), "announce": attacker.announce(PUSH_PORT, 6),
              "garbage": attacker.garbage(PUSH_PORT, 3000)}[attack]
    running = attacker.Attack(action, seconds=20)
    try:
        time.sleep(1.0)
        assert running.sent > 0
        delay = push_lands(controller, watcher)
        assert delay is not None, "\n".join(watcher.lines()[-20:])
        assert watcher.rss() < 64 << 20  # no 16 MiB buffers held for strangers
    finally:
        running.stop()
    assert watcher.proc.poll() is None


def test_a_garbage_flood_is_summarised_not_logged_line_by_line(controller, watcher):
    before = len(watcher.lines())
    running = attacker.Attack(attacker.garbage(PUSH_PORT, 3000), seconds=15)
    while running.running() and running.sent < 3000:
        time.sleep(0.1)
    running.stop()
    time.sleep(0.5)
    new = watcher.lines()[before:]
    assert running.sent >= 1000, running.sent
    assert 1 <= len(new) <= 6, "\n".join(new)  # the first of each kind; the rest in a summary
    assert all(attacker.ATTACKER in line for line in new), new
    assert push_lands(controller, watcher) is not None


def respellings(frame):
    """The same push with its MUNGE credential spelled otherwise (whitespace, padding, NULs,
    junk), as a lenient decoder would still read it."""
    start = frame.index(b"MUNGE:")
    end = frame.index(b":", start + 6) + 1
    credential = frame[start:end]
    body = credential[6:-1]
    spelled = [credential + b"\n", b" " + credential, b"MUNGE:" + body[:9] + b"\n" + body[9:] + b":",
               b"MUNGE:" + body + b"==:", credential + b"\0", b"MUNGE:" + body + b"*:"]
    prefix = frame[:start - 4]  # the header and the auth plugin, before the packstr's length
    rest = frame[end + 1:]  # the body, after the credential's NUL
    return [prefix + packstr(other) + rest for other in spelled]


def test_a_replayed_push_in_any_spelling_costs_nothing(controller, key, watcher):
    frame = record_a_push(controller, key)
    assert wait_for(lambda: content(watcher.conf / "nodes.conf") == controller.expected("nodes.conf"), 5)
    time.sleep(1.0)
    before_files = {p.name: p.read_bytes() for p in watcher.conf.iterdir()}
    before_fetches = watcher.proxy.connections
    lines = len(watcher.lines())
    for _unused in range(5):
        attacker.send(PUSH_PORT, attacker.framed(frame))
        for other in respellings(frame):
            attacker.send(PUSH_PORT, attacker.framed(other))
    time.sleep(7)  # longer than the throttle and any hint delay
    assert watcher.proxy.connections == before_fetches, "\n".join(watcher.lines()[lines:])
    assert {p.name: p.read_bytes() for p in watcher.conf.iterdir()} == before_files
    said = "\n".join(watcher.lines()[lines:])
    assert "replay" in said or "canonical" in said, said
    assert push_lands(controller, watcher) is not None


def test_a_push_it_cannot_verify_is_noise(controller, watcher):
    """An auth/slurm token sent to a watcher that checks MUNGE: no hint, no fetch."""
    body = b"\0" * 16
    token = b"eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjY0MDMwfQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2lnbmF0dQ"
    message = encode_header(45 << 8, REQUEST_RECONFIGURE_SACKD, len(body)) + u32(AUTH_SLURM) + packstr(token) + body
    before = watcher.proxy.connections
    for _unused in range(20):
        attacker.send(PUSH_PORT, attacker.framed(message))
    time.sleep(7)
    assert watcher.proxy.connections == before, "\n".join(watcher.lines())
    assert any("no slurm.key" in line for line in watcher.lines())


def test_a_huge_credential_costs_no_real_cpu(controller, key, watcher):
    """Real credentials are a few hundred bytes; a 1.4 MB one, sealed with AES, used to cost
    a second of pure-Python decryption before its MAC was checked."""
    body = b"\0" * 16
    credential = munge_key.encode(os.urandom(64), b"x" * (1 << 20), SLURM_UID, SLURM_UID,
                                  cipher=munge_key.CIPHER_AES128)
    small = munge_key.encode(os.urandom(64), body_hash(45 << 8, REQUEST_RECONFIGURE_SACKD, body) + b"y" * 400,
                             SLURM_UID, SLURM_UID, cipher=munge_key.CIPHER_AES128)
    before = cpu_seconds(watcher.proc.pid)
    for made in [credential] * 10 + [small] * 100:
        message = (encode_header(45 << 8, REQUEST_RECONFIGURE_SACKD, len(body)) + u32(AUTH_MUNGE)
                   + packstr(made.encode()) + body)
        attacker.send(PUSH_PORT, attacker.framed(message))
    time.sleep(1.0)
    spent = cpu_seconds(watcher.proc.pid) - before
    assert spent < 0.5, spent  # 110 pushes, 14 MB of them: reading them is the cost
    assert push_lands(controller, watcher) is not None


def test_the_munge_key_is_followed_without_a_restart(controller, key, tmp_path):
    """The watcher's munge.key replaced (a secret rotated away from the controller's key): the
    controller's genuine push is refused, as signed with a key that is gone. The key put
    back: the next push lands, with no restart."""
    key_path = tmp_path / "munge.key"

    def install(content):
        temporary = tmp_path / "munge.key.new"
        temporary.write_bytes(content)
        temporary.chmod(0o600)
        os.rename(str(temporary), str(key_path))  # as a secret mount swaps its files
    install(key)
    w = Watcher([controller.server, "--request", "client", "--interval", 600, "--auth", "munge",
                 "--munge-key", key_path, "--slurm-user", SLURM_UID, "--listen-port", PUSH_PORT + 1],
                tmp_path / "conf")
    w.conf = tmp_path / "conf"
    try:
        w.wait_line("registered with")
        assert push_lands(controller, w) is not None
        install(os.urandom(1024))
        before = content(w.conf / "nodes.conf")
        assert push_lands(controller, w, within=2.0) is None
        assert content(w.conf / "nodes.conf") == before
        w.wait_line("bad MAC")
        install(key)
        assert push_lands(controller, w) is not None, "\n".join(w.lines())
        assert w.proc.poll() is None
    finally:
        w.stop()
