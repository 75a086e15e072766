"""straw --watch through production faults, against real Slurm 26.05 controllers: a controller
killed and restarted, one down for a minute, a push lost while the watcher was stopped (Slurm
then drops the registration), `scontrol takeover` by a backup controller, and a full file
system during a push.

Throughout each, a reader loops on the watched slurm.conf: it must always find one whole
version the controller served, never a missing or partial file. Each test has its own
controller (name and port) and its own push port."""
import os
import signal
import subprocess
import time

import pytest

from lab import down, down_ha, up, up_ha
from watching import Reader, content, munge_args, reconfigure, scontrol, wait_for

RELEASE = "26.05"  # pushes carry the port we listen on (25.05+)


@pytest.fixture(scope="module")
def own(module_closing):
    """Controllers of this module's own, stopped at its end."""
    return lambda port: module_closing(up(RELEASE, name="fault%d" % port, port=port), down)


def a_push_lands(c, w, conf, reader):
    """A new version served and `scontrol reconfigure`: its push lands within 3 s, and the
    watcher says so once (after the write)."""
    time.sleep(1.1)  # a push in the second of the last fetch would be checked by a fetch
    before = pushed(w)
    latest = serve(c, reader.versions)
    reconfigure(c)
    assert lands(conf, latest, 3), "\n".join(w.lines())
    assert wait_for(lambda: pushed(w) == before + 1, 2), "\n".join(w.lines())


def serve(c, versions, name="slurm.conf"):
    """A new version of the controller's file (a line more), made known to versions before
    the controller can serve it; returns its bytes."""
    path = os.path.join(c.conf_dir, name)
    new = content(path) + b"# version %d\n" % time.time_ns()
    versions.add(new)
    with open(path + ".new", "wb") as handle:
        handle.write(new)
    os.chmod(path + ".new", 0o644)
    os.rename(path + ".new", path)
    return new


def watch(watchers, c, directory, listen_port, interval, *extra, servers=None):
    """A watcher registered for pushes and a reader of its slurm.conf, already reading."""
    w = watchers(list(servers or [c.server]) + ["--request", "client", "--interval", interval,
                                                "--listen-port", listen_port]
                 + munge_args(c) + list(extra), directory)
    w.wait_line("registered with", timeout=15)
    reader = Reader(os.path.join(str(directory), "slurm.conf"), {c.expected("slurm.conf")})
    reader.start()
    return w, reader


def lands(directory, wanted, timeout):
    return wait_for(lambda: content(os.path.join(str(directory), "slurm.conf")) == wanted, timeout)


def pushed(w):
    """How many verified pushes arrived (written at once, or checked by a fetch when issued in
    the second of our last fetch: a poll every few seconds makes that likely)."""
    return sum("push from" in line and "hint" not in line and "rejected" not in line for line in w.lines())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def snapshot(directory):
    return {name: content(os.path.join(str(directory), name)) for name in os.listdir(str(directory))}


def test_a_controller_killed_and_restarted(own, watchers, tmp_path):
    c = own(18601)
    conf = tmp_path / "conf"
    w, reader = watch(watchers, c, conf, 18701, 5, "--timeout", 2)
    with open(os.path.join(c.conf_dir, "slurmctld.pid")) as handle:
        pid = int(handle.read())
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not alive(pid), 10)
    up(RELEASE, name=c.name, port=c.port)  # its slurm.conf as it was: a version already served
    time.sleep(1.1)
    new = serve(c, reader.versions)
    reconfigure(c)
    # Pushes may land at once (the controller restored its registrations from its state);
    # the next poll, which registers again, is the safety net.
    assert lands(conf, new, 5 * 1.1 + 5), "\n".join(w.lines())
    a_push_lands(c, w, conf, reader)
    assert w.proc.poll() is None
    reader.finish()


def test_a_controller_down_for_a_minute(own, watchers, tmp_path):
    """The last good files stay, said once; the watcher recovers when the controller is back:
    its fetches back off (5, 10, 20, 40 s, each drawn at random between half and the whole),
    and a verified push proves the controller back at once."""
    c = own(18602)
    conf = tmp_path / "conf"
    w, reader = watch(watchers, c, conf, 18702, 2, "--timeout", 1)
    before = snapshot(conf)
    down(c)
    w.wait_line("cannot fetch", timeout=10)
    back = time.monotonic() + 60
    while time.monotonic() < back:
        time.sleep(5)
        assert snapshot(conf) == before
        assert w.proc.poll() is None
    assert w.count("cannot fetch") == 1, "\n".join(w.lines())
    assert "keeping the last good files" in "\n".join(w.lines())
    up(RELEASE, name=c.name, port=c.port)
    returned = time.monotonic()
    time.sleep(1.1)
    new = serve(c, reader.versions)
    reconfigure(c)
    # The push lands at once (the controller kept the registration in its state); the
    # watcher's own fetches resume at their next try.
    assert lands(conf, new, 25), "\n".join(w.lines())
    w.wait_line("answers again", timeout=25)
    assert time.monotonic() - returned < 25
    assert w.count("cannot fetch") == 1
    reader.finish()


def test_a_push_lost_while_the_watcher_is_stopped(own, watchers, tmp_path):
    """Slurm drops a registrant whose push failed (MessageTimeout, 10 s, without the peer
    closing); the watcher registers again with its next poll, and pushes land again."""
    c = own(18603)
    conf = tmp_path / "conf"
    interval = 8
    w, reader = watch(watchers, c, conf, 18703, interval)
    time.sleep(1.1)
    removed = c.log().count("sackd_mgr_remove_node")
    w.proc.send_signal(signal.SIGSTOP)
    try:
        new = serve(c, reader.versions)
        reconfigure(c)
        assert wait_for(lambda: c.log().count("sackd_mgr_remove_node") > removed, 30), \
            "the controller kept the registration of a stopped watcher"
        registered = c.log().count("sackd_mgr_add_node")
    finally:
        w.proc.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    assert wait_for(lambda: c.log().count("sackd_mgr_add_node") > registered, interval * 1.1 + 3), \
        "the watcher did not register again:\n" + "\n".join(w.lines())
    assert time.monotonic() - resumed < interval * 1.1 + 3
    assert lands(conf, new, 5), "\n".join(w.lines())
    a_push_lands(c, w, conf, reader)
    reader.finish()


@pytest.fixture
def pair():
    c = up_ha(RELEASE, "faultha18604", 18604)
    yield c
    down_ha(c)


def test_a_takeover_by_the_backup_controller(pair, watchers, tmp_path):
    """ctlA (127.0.0.1) is the primary, ctlB (127.0.0.2) the backup, one machine; the watcher
    knows both. After `scontrol takeover` ctlA is gone: fetches fail over to ctlB, which takes
    the registration, and its pushes land."""
    c = pair
    conf = tmp_path / "conf"
    interval = 4
    w, reader = watch(watchers, c, conf, 18704, interval, "--timeout", 5, servers=c.servers)
    assert "registered with 127.0.0.1:18604" in "\n".join(w.lines())
    primary = c.pid("ctlA")
    registered = c.host_log("ctlB").count("sackd_mgr_add_node")
    scontrol(c, "takeover")
    assert wait_for(lambda: not alive(primary), 15), "ctlA did not give up control"
    assert "Running as primary controller" in c.host_log("ctlB")
    assert wait_for(lambda: c.host_log("ctlB").count("sackd_mgr_add_node") > registered,
                    interval * 1.1 + 10), "no fetch reached ctlB:\n" + "\n".join(w.lines())
    a_push_lands(c, w, conf, reader)  # scontrol, too, finds ctlA gone and asks ctlB
    assert "cannot fetch" not in "\n".join(w.lines())
    reader.finish()


@pytest.fixture
def small_fs(tmp_path):
    """A 512 KiB tmpfs of our own for the watcher's directory (its log stays outside),
    unmounted afterwards."""
    mount = tmp_path / "conf"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


FILLER = ".filler"


def fill(mount):
    """Fills the file system to the last byte."""
    fd = os.open(str(mount / FILLER), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_a_full_file_system_during_a_push(own, small_fs, watchers, tmp_path):
    c = own(18605)
    conf = small_fs
    interval = 3
    w, reader = watch(watchers, c, conf, 18705, interval)
    before = snapshot(conf)
    fill(conf)
    time.sleep(1.1)
    new = serve(c, reader.versions)
    reconfigure(c)
    w.wait_line("no space left", timeout=5)
    assert "push from" in [line for line in w.lines() if "no space left" in line][0]
    assert "nothing changed" not in "\n".join(w.lines())
    time.sleep(interval * 1.1 + 0.5)  # a poll fails too, the same way
    assert {k: v for k, v in snapshot(conf).items() if k != FILLER} == before, \
        "the old files must stay, and no temporary file"
    assert w.proc.poll() is None
    os.unlink(str(conf / FILLER))
    # The next poll writes what the failed push could not.
    assert lands(conf, new, interval * 1.1 + 3), "\n".join(w.lines())
    a_push_lands(c, w, conf, reader)
    reader.finish()
