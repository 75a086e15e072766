"""What the tests of `straw --watch` share: a watcher process and its log, a controller's
reconfigure, waiting, a reader of the watched files, and the process's RSS and descriptors
(tests/integration/test_watch*.py, benchmarks/soak)."""
import os
import signal
import subprocess
import sys
import threading
import time

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


def wait_for(predicate, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return time.monotonic()
        time.sleep(step)
    return None


def content(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def munge_args(c):
    return ["--auth", "munge", "--munge-socket", c.munge_socket, "--slurm-user", SLURM_UID]


class Watcher:
    def __init__(self, args, directory, env=None):
        self.log_path = str(directory) + ".log"
        self.directory = str(directory)
        environment = {k: v for k, v in os.environ.items() if k != "SLURM_JWT"}
        environment.update(env or {})
        self.log = open(self.log_path, "w")  # noqa: SIM115  (closed by stop())
        self.proc = subprocess.Popen([sys.executable, STRAW] + [str(a) for a in args]
                                     + ["-o", self.directory, "--watch"], env=environment,
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    def lines(self):
        with open(self.log_path) as handle:
            return handle.read().splitlines()

    def count(self, words):
        return sum(words in line for line in self.lines())

    def wait_line(self, words, timeout=10, count=1):
        assert wait_for(lambda: self.count(words) >= count, timeout), \
            "no %r in:\n%s" % (words, "\n".join(self.lines()))

    def rss(self):
        """Resident memory in bytes."""
        with open("/proc/%d/status" % self.proc.pid) as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def descriptors(self):
        """The open file descriptors, by what they point at."""
        directory = "/proc/%d/fd" % self.proc.pid
        found = []
        for fd in os.listdir(directory):
            try:
                found.append(os.readlink(os.path.join(directory, fd)))
            except FileNotFoundError:  # closed meanwhile
                pass
        return sorted(found)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


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
