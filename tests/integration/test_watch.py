"""straw --watch against real controllers: pushes after a real `scontrol reconfigure` (24.11,
26.05), polling (20.11, 22.05), the listener under attack, --on-change and signals.

Each test has its own controller (own name and port) so that registrations never mix: a
controller keys them by the registrant's host name, which is the same for every watcher here.
A counting proxy in front of the controller tells how many connections a push cost."""
import os
import signal
import socket
import struct
import time

import pytest

from _slurm.auth import munge_key
from _slurm.auth.body_hash import body_hash
from _slurm.auth.jwt import mint_token
from _slurm.header import encode_header
from _slurm.messages import (AUTH_MUNGE, REQUEST_RECONFIGURE_SACKD)
from _slurm.wire import packstr, u32
from fixtures.attacker import ATTACKER
from fixtures.servers import Proxy
from lab import down, up
from watching import SLURM_UID, change, content, munge_args, reconfigure, record_a_push, wait_for


@pytest.fixture(scope="module")
def own(module_closing):
    """Controllers of this module's own, stopped at its end."""
    return lambda release, port: module_closing(up(release, name="watch%d" % port, port=port), down)


@pytest.mark.parametrize("release,port", [("24.11", 17230), ("26.05", 17330)])
def test_a_verified_push_lands_with_no_fetch(own, watchers, tmp_path, release, port):
    c = own(release, port)
    proxy = Proxy(c.port)
    listen = [] if release == "24.11" else ["--listen-port", port + 60]  # 24.11: SlurmdPort
    w = watchers([proxy.server, "--request", "client", "--interval", 600] + munge_args(c) + listen,
                 tmp_path / "conf")
    w.wait_line("registered with")
    time.sleep(1.1)  # pushes made in the second of our last fetch are checked by a fetch
    before = proxy.connections
    wanted = change(c)
    reconfigure(c)
    start = time.monotonic()
    landed = wait_for(lambda: content(tmp_path / "conf" / "nodes.conf") == wanted, 5)
    assert landed is not None, "\n".join(w.lines())
    assert landed - start < 5
    time.sleep(0.3)
    assert proxy.connections == before, "a verified push must cost no fetch"
    assert any("push from" in line and "wrote nodes.conf" in line for line in w.lines())
    assert w.stop() == 0
    proxy.close()


def test_a_push_without_proof_is_one_fetch(own, watchers, tmp_path):
    """A JWT-only watcher cannot check the controller's MUNGE signature: the push is a hint,
    answered by exactly one fetch after a random delay."""
    c = own("26.05", 17331)
    proxy = Proxy(c.port)
    token = mint_token(c.jwt_key, "slurm", lifetime=600)
    w = watchers([proxy.server, "--request", "client", "--interval", 600, "--hint-delay", "0.5",
                  "--listen-port", 17391], tmp_path / "conf", env={"SLURM_JWT": token})
    w.wait_line("cannot be verified here")
    before = proxy.connections
    wanted = change(c)
    reconfigure(c)
    assert wait_for(lambda: content(tmp_path / "conf" / "nodes.conf") == wanted, 5.5), \
        "\n".join(w.lines())
    time.sleep(1.0)
    assert proxy.connections == before + 1
    w.wait_line("taken as a hint")
    proxy.close()


@pytest.mark.parametrize("release,port", [("20.11", 17030), ("22.05", 17130)])
def test_polling_catches_changes_before_23_11(own, watchers, tmp_path, release, port):
    c = own(release, port)
    token = mint_token(c.jwt_key, "slurm", lifetime=600)
    w = watchers([c.server, "--interval", "1.5"], tmp_path / "conf", env={"SLURM_JWT": token})
    w.wait_line("pushes nothing before 23.11")
    name = "slurm.conf" if release == "20.11" else "nodes.conf"
    wanted = change(c, name)
    reconfigure(c)
    assert wait_for(lambda: content(tmp_path / "conf" / name) == wanted, 4), "\n".join(w.lines())
    w.wait_line("poll: wrote %s" % name)


def _forged_push(version, body, key, uid):
    credential = munge_key.encode(key, body_hash(version, REQUEST_RECONFIGURE_SACKD, body), uid, uid)
    message = (encode_header(version, REQUEST_RECONFIGURE_SACKD, len(body))
               + u32(AUTH_MUNGE) + packstr(credential.encode()) + body)
    return struct.pack(">I", len(message)) + message


def _send(port, data, drip=0.0):
    """From a stranger's address of its own: the controller's pushes come from 127.0.0.1."""
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((ATTACKER, 0))
        sock.connect(("127.0.0.1", port))
        if drip:
            for byte in data:
                sock.sendall(bytes((byte,)))
                time.sleep(drip)
        else:
            sock.sendall(data)


def test_the_listener_refuses_what_peers_send(own, watchers, tmp_path):
    c = own("26.05", 17332)
    with open(c.munge_key, "rb") as handle:
        key = handle.read()
    port = 17392
    w = watchers([c.server, "--request", "client", "--interval", 600, "--auth", "munge",
                  "--munge-key", c.munge_key, "--slurm-user", SLURM_UID, "--listen-port", port],
                 tmp_path / "conf")
    w.wait_line("registered with")
    conf = tmp_path / "conf"
    # A real push, caught by a recorder registered under another name on its own port.
    old_push = record_a_push(c, key)
    assert wait_for(lambda: content(conf / "nodes.conf") == content(os.path.join(c.conf_dir, "nodes.conf")), 5)
    time.sleep(1.1)
    current = change(c)
    reconfigure(c)
    assert wait_for(lambda: content(conf / "nodes.conf") == current, 5), "\n".join(w.lines())
    before = {p.name: p.read_bytes() for p in conf.iterdir()}

    idle = []  # from an address of their own: one address holds only a few connections
    for _unused in range(100):
        sock = socket.socket()
        sock.bind(("127.0.0.67", 0))
        sock.connect_ex(("127.0.0.1", port))
        idle.append(sock)
    _send(port, b"SSH-2.0-OpenSSH_9.2\r\n" * 3)
    _send(port, os.urandom(300))
    _send(port, struct.pack(">I", 1 << 30))                            # oversized
    body = old_push[-200:]  # any bytes: a forged push fails before they matter
    _send(port, _forged_push(45 << 8, body, key, uid=1234))            # signed for another uid
    _send(port, _forged_push(45 << 8, body, os.urandom(64), SLURM_UID))  # signed with a wrong key
    _send(port, struct.pack(">I", len(old_push)) + old_push)           # a replay of an old push
    _send(port, struct.pack(">I", 40) + b"\x00" * 12, drip=0.05)      # a drip that never ends
    for sock in idle:
        sock.close()
    w.wait_line("rejected", count=5, timeout=15)
    assert w.proc.poll() is None, "\n".join(w.lines())
    assert {p.name: p.read_bytes() for p in conf.iterdir()} == before
    text = "\n".join(w.lines())
    assert "not by SlurmUser (uid %d)" % SLURM_UID in text
    # The wrong key's push, the second forgery of the minute, is counted for the minute's
    # summary rather than said (tests/unit/test_rejection_log.py); nothing was written.
    assert "bad MAC" not in text
    assert "stale" in text or "replay" in text

    time.sleep(1.1)
    latest = change(c)
    reconfigure(c)
    assert wait_for(lambda: content(conf / "nodes.conf") == latest, 5), text


def test_on_change_once_and_signals(own, watchers, tmp_path):
    c = own("26.05", 17333)
    marks = tmp_path / "marks"
    w = watchers([c.server, "--request", "client", "--interval", 600, "--listen-port", 17393,
                  "--on-change", 'echo "$STRAW_CHANGED" >> %s' % marks] + munge_args(c),
                 tmp_path / "conf")
    w.wait_line("registered with")
    assert wait_for(marks.exists, 3)
    assert marks.read_text().splitlines() == ["plugstack.conf slurm.conf nodes.conf"] or \
        len(marks.read_text().splitlines()) == 1
    time.sleep(1.1)
    change(c)
    reconfigure(c)
    assert wait_for(lambda: len(marks.read_text().splitlines()) == 2, 5), "\n".join(w.lines())
    assert marks.read_text().splitlines()[1] == "nodes.conf"
    time.sleep(1.1)
    reconfigure(c)  # nothing changed: no run
    time.sleep(1.5)
    assert len(marks.read_text().splitlines()) == 2
    w.proc.send_signal(signal.SIGHUP)
    w.wait_line("SIGHUP: fetching now")
    assert len(marks.read_text().splitlines()) == 2
    start = time.monotonic()
    assert w.stop() == 0
    assert time.monotonic() - start < 3
    assert not [p for p in (tmp_path / "conf").iterdir() if p.name.endswith(".tmp") or p.name.startswith(".straw.")]


def test_controller_down_keeps_files_and_says_so_once(own, watchers, tmp_path):
    c = own("24.11", 17235)
    token = mint_token(c.jwt_key, "slurm", lifetime=600)
    w = watchers([c.server, "--interval", "1", "--listen-port", 17295, "--timeout", "1"],
                 tmp_path / "conf", env={"SLURM_JWT": token})
    w.wait_line("registered with")
    before = content(tmp_path / "conf" / "slurm.conf")
    down(c)
    w.wait_line("cannot fetch")
    time.sleep(2.5)
    assert sum("cannot fetch" in line for line in w.lines()) == 1
    assert content(tmp_path / "conf" / "slurm.conf") == before
    up("24.11", name=c.name, port=c.port)
    w.wait_line("answers again", timeout=15)
    assert w.proc.poll() is None


def test_a_push_to_a_watcher_of_the_slurmd_set_fetches_that_set(own, watchers, tmp_path):
    """A push carries the client set: a watcher of the slurmd set fetches the slurmd set on a
    verified push, and removes nothing that the client set lacks."""
    c = own("26.05", 17334)
    proxy = Proxy(c.port)
    w = watchers([proxy.server, "--interval", 600, "--listen-port", 17394, "--prune"]
                 + munge_args(c), tmp_path / "conf")
    w.wait_line("registered with")
    slurmd_only = content(tmp_path / "conf" / "cgroup.conf")
    assert slurmd_only is not None  # the slurmd set's own file, absent from the client set
    time.sleep(1.1)
    before = proxy.connections
    wanted = change(c, "cgroup.conf")
    reconfigure(c)
    assert wait_for(lambda: content(tmp_path / "conf" / "cgroup.conf") == wanted, 5), \
        "\n".join(w.lines())
    time.sleep(0.3)
    assert proxy.connections == before + 1
    assert (tmp_path / "conf" / "prolog.sh").exists() and (tmp_path / "conf" / "gres.conf").exists()
    w.wait_line("fetching the slurmd set")
    proxy.close()


def test_strangers_ringing_cost_at_most_one_fetch_per_interval(own, watchers, tmp_path):
    """A JWT-only watcher takes any well-formed push as a hint; a stranger ringing twenty
    times in a row still costs the controller one fetch."""
    c = own("26.05", 17335)
    proxy = Proxy(c.port)
    w = watchers([proxy.server, "--request", "client", "--interval", 600, "--hint-delay", "0.2",
                  "--listen-port", 17395], tmp_path / "conf",
                 env={"SLURM_JWT": mint_token(c.jwt_key, "slurm", lifetime=600)})
    w.wait_line("registered with")
    before = proxy.connections
    frame = _forged_push(45 << 8, b"\x00" * 8, os.urandom(64), SLURM_UID)
    for _unused in range(20):
        _send(17395, frame)
    w.wait_line("taken as a hint")
    time.sleep(2.0)
    assert proxy.connections == before + 1, "\n".join(w.lines())
    assert w.proc.poll() is None
    proxy.close()
