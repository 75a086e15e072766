"""A long-running process that tests and benchmarks start and watch: its stderr is its log,
/proc tells its memory, CPU time and descriptors, and stopping it is SIGTERM, then SIGKILL.
A `straw --watch` (watching.Watcher) or a sackd (sackd.SackdHost); used by
tests/integration/test_watch*.py, benchmarks/soak and benchmarks/straw_bench/watch.py."""
import os
import signal
import subprocess
import time


def wait_for(predicate, timeout, step=0.02):
    """When predicate() first held (time.monotonic()), or None after timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return time.monotonic()
        time.sleep(step)
    return None


class Daemon:
    """One process started in a session of its own, with nothing on stdin and stdout, its
    stderr written to log_path. label names it in errors."""

    def __init__(self, argv, log_path, env=None, label=""):
        self.label = label or os.path.basename(str(argv[0]))
        self.log_path = str(log_path)
        self.log = open(self.log_path, "w")  # noqa: SIM115  (closed by stop())
        self.proc = subprocess.Popen([str(a) for a in argv], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log,
                                     start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def text(self):
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def lines(self):
        return self.text().splitlines()

    def count(self, words):
        return sum(words in line for line in self.lines())

    def wait_line(self, words, timeout=10, count=1):
        """Asserts that the log says words (count times) within timeout seconds."""
        assert wait_for(lambda: self.count(words) >= count, timeout), \
            "no %r in:\n%s" % (words, "\n".join(self.lines()))

    def wait_until(self, ready, timeout=30):
        """Returns once ready() holds; raises RuntimeError, with the log's end, when the
        process exits or timeout seconds pass first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if ready():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("%s did not become ready (status %s):\n%s"
                           % (self.label, self.proc.poll(), self.text()[-2000:]))

    def rss(self):
        """Resident memory (VmRSS) in bytes."""
        return self.memory().get("rss", 0)

    def memory(self):
        """RSS in bytes, split: anonymous (the process's own) and file pages (the interpreter's
        or daemon's code, shared with every process that maps the same files)."""
        return resident(self.pid)

    def cpu_seconds(self):
        """User and system CPU time used so far."""
        with open("/proc/%d/stat" % self.pid) as handle:
            fields = handle.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def descriptors(self):
        """The open file descriptors, by what they point at."""
        directory = "/proc/%d/fd" % self.pid
        found = []
        for fd in os.listdir(directory):
            try:
                found.append(os.readlink(os.path.join(directory, fd)))
            except FileNotFoundError:  # closed meanwhile
                pass
        return sorted(found)

    def stop(self):
        """Stops the process (SIGTERM, SIGKILL after 10 s); its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def resident(pid):
    """VmRSS, RssAnon and RssFile of process pid, in bytes."""
    wanted = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file"}
    figures = {}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            key, _colon, value = line.partition(":")
            if key in wanted:
                figures[wanted[key]] = int(value.split()[0]) * 1024
    return figures
