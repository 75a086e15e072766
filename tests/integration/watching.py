"""What the tests of `straw --watch` share: a watcher process (a daemons.Daemon), a
controller's reconfigure, waiting, a reader of the watched files
(tests/integration/test_watch*.py, benchmarks/soak, benchmarks/straw_bench/watch.py)."""
import os
import re
import socket
import subprocess
import sys
import threading
import time

from _slurm.auth import munge_key
from _slurm.auth.body_hash import body_hash
from _slurm.auth.credentials import Credentials
from _slurm.listen import Listener
from _slurm.messages import AUTH_MUNGE, CONFIG_REQUEST_SACKD, REQUEST_CONFIG, encode_request, encode_request_body
from _slurm.wire import packstr, u32
from daemons import Daemon, wait_for
from lab import ROOT

STRAW = os.path.join(ROOT, "bin", "straw")
SLURM_UID = 64030  # SlurmUser of the lab's Debian chroots


def scontrol(c, *words, timeout=30):
    """scontrol WORDS against controller c, from inside its chroot."""
    subprocess.run(["chroot", c.root, "env", "SLURM_CONF=/srv/%s/slurm.conf" % c.name,
                    "scontrol"] + list(words), check=True, timeout=timeout,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def reconfigure(c):
    scontrol(c, "reconfigure")


def change(c, name="nodes.conf"):
    """A new line in nodes.conf, which both request sets carry (from 22.05: 20.11 sends no
    included file); returns the new bytes."""
    path = os.path.join(c.conf_dir, name)
    with open(path, "a") as handle:
        handle.write("# changed %d\n" % time.time_ns())
    with open(path, "rb") as handle:
        return handle.read()


def content(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def munge_args(c):
    return ["--auth", "munge", "--munge-socket", c.munge_socket, "--slurm-user", SLURM_UID]


class Watcher(Daemon):
    """`straw --watch` writing into directory, its log beside it (directory + ".log"). env
    adds to the environment, which has no SLURM_JWT unless env gives one; a value of None
    removes a variable."""

    def __init__(self, args, directory, env=None, label="watcher"):
        self.directory = str(directory)
        environment = {k: v for k, v in os.environ.items() if k != "SLURM_JWT"}
        environment.update(env or {})
        super().__init__([sys.executable, STRAW] + list(args) + ["-o", self.directory, "--watch"],
                         self.directory + ".log",
                         {k: v for k, v in environment.items() if v is not None}, label)


class Reader(threading.Thread):
    """Reads one watched file in a loop, as a daemon reading its configuration would, and
    keeps every read that was not one of the versions the controller served: a file missing
    or partial, even for an instant, shows here. The test adds each version to `versions`
    before the controller can serve it."""

    def __init__(self, path, versions):
        super().__init__(daemon=True)
        self.path = str(path)
        self.versions = versions
        self.reads = 0
        self.wrong = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            data = content(self.path)
            self.reads += 1
            if data not in self.versions:
                self.wrong.append(data)
            time.sleep(0.001)

    def finish(self):
        """Stops; every read was a whole version (and there were many reads)."""
        self.halt.set()
        self.join(5)
        assert self.reads > 100, "the reader read %d times only" % self.reads
        assert not self.wrong, "%d of %d reads found %s" % (
            len(self.wrong), self.reads,
            "no file" if self.wrong[0] is None else "%d bytes of no version" % len(self.wrong[0]))
        return self.reads


def soak(c, work, reconfigures, every, pace, listen_port, timeout=15.0):
    """Reconfigures controller c (23.11+, pushing to listen_port) that many times against one
    watcher of the client set with a munged at hand, each round changing a line of nodes.conf
    and waiting until the watcher's copy holds it, a round starting at least pace seconds after
    the one before. Returns the figures: samples (round, RSS, descriptors) at the start and
    every `every` rounds, the seconds each round took, and what the watcher said."""
    nodes = os.path.join(c.conf_dir, "nodes.conf")
    with open(nodes, "rb") as handle:
        base = re.sub(rb"# soak round \d+\n", b"", handle.read())
    copy = os.path.join(str(work), "conf", "nodes.conf")
    watcher = Watcher([c.server, "--request", "client", "--interval", 600,
                       "--listen-port", listen_port] + munge_args(c), os.path.join(str(work), "conf"))
    try:
        watcher.wait_line("registered with", timeout=30)
        time.sleep(1.1)  # the first push in a second of its own
        samples = [(0, watcher.rss(), watcher.descriptors())]
        rounds, missed = [], 0
        started = time.monotonic()
        previous = 0.0
        for number in range(1, reconfigures + 1):
            time.sleep(max(0.0, previous + pace - time.monotonic()))
            wanted = base + b"# soak round %06d\n" % number
            with open(nodes + ".soak", "wb") as handle:
                handle.write(wanted)
            os.rename(nodes + ".soak", nodes)
            previous = time.monotonic()
            reconfigure(c)
            landed = wait_for(lambda w=wanted: content(copy) == w, timeout, step=0.002)
            if landed is None:
                missed += 1
            else:
                rounds.append(landed - previous)
            if number % every == 0:
                time.sleep(0.05)  # the fetch that may follow a push is over
                samples.append((number, watcher.rss(), watcher.descriptors()))
        elapsed = time.monotonic() - started
        alive = watcher.proc.poll() is None
        lines = watcher.lines()
    finally:
        watcher.stop()
    return dict(reconfigures=reconfigures, samples=samples, rounds=rounds, missed=missed,
                elapsed=elapsed, alive=alive, pace=pace,
                pushes=sum("push from" in line and "wrote" in line for line in lines),
                checked=sum("fetching to be sure" in line for line in lines),
                other=[line for line in lines if "rejected" in line or "cannot" in line])


class KeyCredentials(Credentials):
    """MUNGE from the key with another origin address: the controller registers this
    recorder under another host name than the watcher's."""
    name = "munge"

    def __init__(self, key):
        self.key = key

    def auth_section(self, version, msg_type, body):
        credential = munge_key.encode(self.key, body_hash(version, msg_type, body), 0, 0,
                                      addr=b"\x7f\x00\x00\x09")
        return u32(AUTH_MUNGE) + packstr(credential.encode())


def register_from(source, port, credentials, push_port):
    """Registers for pushes from another loopback address, so that the controller keeps
    this registration apart from the watcher's (it keys them by the peer's host)."""
    version = 45 << 8
    body = encode_request_body(version, CONFIG_REQUEST_SACKD, push_port)
    frame = encode_request(version, credentials.auth_section(version, REQUEST_CONFIG, body), body)
    with socket.socket() as sock:
        sock.settimeout(10)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(frame)
        while sock.recv(65536):
            pass


def record_a_push(c, key, source="127.0.0.9"):
    """A real push of controller c after a reconfigure with a new nodes.conf, caught by a
    recorder registered from source under another name (the frame, without its length)."""
    recorder = Listener(source, 0)
    try:
        register_from(source, c.port, KeyCredentials(key), recorder.port)
        time.sleep(1.1)
        change(c)
        reconfigure(c)
        frames, _rejections, _woken = recorder.wait(5)
        assert frames, "the controller pushed nothing to the recorder"
        return frames[0].data
    finally:
        recorder.close()
