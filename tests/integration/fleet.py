"""A fleet on one machine: N hosts registered with one lab controller, each its own host as
the controller sees it. Host i has its own loopback address (127.0.1.i, 127.0.2.i, ...;
Linux routes all of 127/8 to lo with no set-up), its own host name (a UTS namespace) and
its own port.

* Watchers (`straw --watch --listen-address ADDR`) connect from ADDR and name it as their
  MUNGE origin, so the controller, which keys a registration by the peer's address when the
  origin is a loopback one and pushes to that peer, tells them apart and pushes to each.
* sackd (26.05+, which takes --port) all connect from 127.0.0.1, so each gets a munged of
  its own whose credentials name a TEST-NET origin (192.0.2.i, 198.51.100.i): the controller
  keys them by that, and pushes to 127.0.0.1 on each one's port.

Used by tests/integration/test_fleet_smoke.py and benchmarks/straw_bench/fleet.py.
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

import lab
from daemons import Daemon, wait_for
from watching import STRAW, change, content

TESTNETS = ("192.0.2", "198.51.100", "203.0.113")


def address(i):
    """Host i's own loopback address (i from 1)."""
    return "127.0.%d.%d" % (1 + (i - 1) // 250, 1 + (i - 1) % 250)


def in_uts(name, argv):
    """argv run under the host name name, in a UTS namespace of its own."""
    return ["unshare", "--uts", "sh", "-c", 'hostname "$1" && shift && exec "$@"', "sh", name] + \
        [str(a) for a in argv]


class WatcherFleet:
    """N `straw --watch` hosts; extra adds to each one's arguments, env to the environment
    (SLURM_JWT, say). ports(i) is where host i listens (None: SlurmdPort, as 24.11 needs)."""

    def __init__(self, c, n, work, extra=(), env=None, port_base=None, name="fleet",
                 barrier=None, stagger=0.0):
        self.c, self.work, self.daemons = c, str(work), []
        os.makedirs(self.work, exist_ok=True)
        environment = {k: v for k, v in os.environ.items() if k != "SLURM_JWT"}
        environment.update(env or {})
        for i in range(1, n + 1):
            directory = os.path.join(self.work, "%s%d" % (name, i))
            argv = [sys.executable, STRAW, c.server, "--request", "client", "--interval", "600",
                    "--listen-address", address(i), "-o", directory, "--watch"] + list(extra)
            if port_base:
                argv += ["--listen-port", port_base + i]
            if barrier is not None:
                argv = barrier.wrap(argv)
            self.daemons.append(Daemon(in_uts("%s%d" % (name, i), argv), directory + ".log",
                                       environment, "%s%d" % (name, i)))
            if stagger:
                time.sleep(stagger)

    def watched(self):
        return [os.path.join(self.work, os.path.basename(d.log_path)[:-4], "nodes.conf")
                for d in self.daemons]

    def registered(self, timeout):
        """How many said they registered within timeout seconds."""
        wait_for(lambda: all("registered with" in d.text() or d.proc.poll() is not None
                             for d in self.daemons), timeout, step=0.2)
        return sum("registered with" in d.text() for d in self.daemons)

    def memory(self):
        return sum_memory([d.pid for d in self.daemons])

    def stop(self):
        stop_together(self.daemons)


def stop_together(daemons, grace=10.0):
    """SIGTERM to every one at once, SIGKILL to those still there after grace seconds in all
    (a slurmd still fetching its configuration ignores SIGTERM)."""
    for d in daemons:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: all(d.proc.poll() is not None for d in daemons), grace, step=0.1)
    for d in daemons:
        if d.proc.poll() is None:
            d.proc.kill()
        d.stop()


class OneShotFleet:
    """N one-shot `bin/straw` runs, host i in a UTS namespace of its own named NAMEi, writing
    into work/NAMEi; with a barrier, all of them wait there and go together."""

    def __init__(self, c, n, work, extra=(), env=None, name="shot", barrier=None):
        self.work, self.daemons = str(work), []
        environment = {k: v for k, v in os.environ.items() if k != "SLURM_JWT"}
        environment.update(env or {})
        for i in range(1, n + 1):
            directory = os.path.join(self.work, "%s%d" % (name, i))
            argv = [sys.executable, STRAW, c.server, "--request", "client", "-o", directory] + \
                list(extra)
            if barrier is not None:
                argv = barrier.wrap(argv)
            self.daemons.append(Daemon(in_uts("%s%d" % (name, i), argv), directory + ".log",
                                       environment, "%s%d" % (name, i)))

    def watched(self):
        return [os.path.join(self.work, os.path.basename(d.log_path)[:-4], "nodes.conf")
                for d in self.daemons]

    def statuses(self):
        return [d.proc.poll() for d in self.daemons]

    def stop(self):
        stop_together(self.daemons)


class Barrier:
    """Processes that start together: each waits in opening a FIFO for reading (which blocks
    until someone opens it for writing), and open() releases them all at once; the FIFO stays
    open for writing until close(), so that a late one passes at once."""

    def __init__(self, directory):
        self.path = os.path.join(str(directory), "barrier.fifo")
        if os.path.exists(self.path):
            os.unlink(self.path)
        os.mkfifo(self.path)
        self.fd = None

    def wrap(self, argv):
        """argv, run once the barrier opens."""
        return ["sh", "-c", ': < "$0" && exec "$@"', self.path] + [str(a) for a in argv]

    @staticmethod
    def waiting(pids):
        """How many of pids wait at a barrier (blocked opening its FIFO)."""
        count = 0
        for pid in pids:
            try:
                with open("/proc/%d/wchan" % pid) as handle:
                    count += handle.read().strip() == "wait_for_partner"
            except OSError:
                pass
        return count

    def open(self, pids, timeout=60):
        """Waits (up to timeout seconds) until every one of pids is at the barrier, then lets
        them all go; returns that moment (time.monotonic())."""
        wait_for(lambda: self.waiting(pids) >= len(pids), timeout, step=0.05)
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        return time.monotonic()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if os.path.exists(self.path):
            os.unlink(self.path)


class ChrootFleet:
    """N hosts of Slurm's own daemons in one chroot of theirs (tests/integration/
    debian_chroot.py builds it), each in its own UTS and mount namespaces, with a munged of its
    own (the controller's key, a TEST-NET origin) and a directory /run/fleet/i."""

    def __init__(self, root, c, n):
        self.root, self.c, self.n, self.mounted, self.daemons = root, c, n, [], []
        for target, how in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
            path = os.path.join(root, target)
            if subprocess.run(["mountpoint", "-q", path], check=False).returncode:
                subprocess.run(["mount"] + how + [path], check=True)
            self.mounted.append(path)
        self._kill_leftovers()
        shutil.rmtree(os.path.join(root, "run", "fleet"), ignore_errors=True)
        key = os.path.join(root, "etc", "munge", "munge.key")
        shutil.copyfile(c.munge_key, key)
        self._in(["chown", "munge:", "/etc/munge/munge.key"])
        os.chmod(key, 0o400)

    def here(self, i):
        """Host i's directory, as seen inside the chroot."""
        return "/run/fleet/%d" % i

    def _munged(self, i, munge):
        """Starts host i's munged, its socket in munge (a directory inside the chroot)."""
        self._in(["install", "-d", "-o", "munge", "-g", "munge", munge])
        self._in(["runuser", "-u", "munge", "--", "/usr/sbin/munged", "--num-threads=1",
                  "--socket=%s/munge.socket.2" % munge, "--pid-file=%s/pid" % munge,
                  "--seed-file=%s/seed" % munge, "--log-file=%s/log" % munge,
                  "--origin=%s.%d" % (TESTNETS[(i - 1) // 250], 1 + (i - 1) % 250)])

    def registered(self, timeout):
        wait_for(lambda: all(os.path.exists(p) for p in self.watched()), timeout, step=0.2)
        return sum(os.path.exists(p) for p in self.watched())

    def watched(self):
        raise NotImplementedError

    def memory(self, comm=None):
        """(RSS, PSS) of every process in the chroot, or of those whose name is comm."""
        return sum_memory([pid for pid, _name in self._processes()
                           if comm is None or command_name(pid) == comm])

    def _in(self, argv):
        subprocess.run(["chroot", self.root] + argv, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _processes(self):
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink("/proc/%s/root" % entry) == self.root:
                        found.append((int(entry), entry))
                except OSError:
                    pass
        return found

    def _kill_leftovers(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid, _name in self._processes():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if not wait_for(lambda: not self._processes(), 5, step=0.1):
                continue
            break

    def statuses(self):
        return [d.proc.poll() for d in self.daemons]

    def stop(self):
        stop_together(self.daemons)
        self._kill_leftovers()
        for path in reversed(self.mounted):
            subprocess.run(["umount", path], check=False)


class SackdFleet(ChrootFleet):
    """N sackd hosts, each with its runtime directory and --port port_base + i (25.05+); with
    a barrier, all of them wait there and go together."""

    def __init__(self, root, c, n, port_base, barrier=None):
        super().__init__(root, c, n)
        for i in range(1, n + 1):
            self._in(["install", "-d", "-o", "slurm", "-g", "slurm", self.here(i) + "/slurm"])
            self._munged(i, self.here(i) + "/munge")
        for i in range(1, n + 1):
            here = os.path.join(root, "run", "fleet", str(i))
            script = ('mount --bind "$1/slurm" "$3/run/slurm" && mount --bind "$1/munge" '
                      '"$3/run/munge" && exec chroot --userspec=slurm:slurm "$3" env '
                      'RUNTIME_DIRECTORY=/run/slurm /usr/sbin/sackd -D --conf-server "$2" '
                      '--port "$4"')
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                    here, c.server, root, str(port_base + i)]
            if barrier is not None:
                argv = barrier.wrap(argv)
            self.daemons.append(Daemon(in_uts("sackd%d" % i, argv), here + "/sackd.log",
                                       label="sackd%d" % i))

    def watched(self):
        return [os.path.join(self.root, "run", "fleet", str(i), "slurm", "conf", "nodes.conf")
                for i in range(1, self.n + 1)]


SLURMD_NAME = "sd"  # the configless slurmd hosts' node names: sd1, sd2, ...


def add_slurmd_nodes(c, n, port_base):
    """Nodes sd1..sdN in c's nodes.conf (host i at address(i), its slurmd on port_base + i),
    and no cgroup plugin (this machine has no cgroup a slurmd could use); then `scontrol
    reconfigure`, which 24.11+ applies by restarting the controller."""
    path = os.path.join(c.conf_dir, "nodes.conf")
    with open(path) as handle:
        lines = [line for line in handle.read().splitlines()
                 if not line.startswith("NodeName=%s" % SLURMD_NAME)]
    nodes = ["NodeName=%s%d NodeAddr=%s Port=%d CPUs=2 State=UNKNOWN"
             % (SLURMD_NAME, i, address(i), port_base + i) for i in range(1, n + 1)]
    at = next((k for k, line in enumerate(lines) if line.startswith("PartitionName")), len(lines))
    with open(path, "w") as handle:
        handle.write("\n".join(lines[:at] + nodes + lines[at:]) + "\n")
    with open(os.path.join(c.conf_dir, "cgroup.conf"), "w") as handle:
        handle.write("CgroupPlugin=disabled\n")
    subprocess.run(["chroot", c.root, "env", "SLURM_CONF=/srv/%s/slurm.conf" % c.name, "scontrol",
                    "reconfigure"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False, timeout=120)
    shown = ["chroot", c.root, "env", "SLURM_CONF=/srv/%s/slurm.conf" % c.name, "scontrol",
             "show", "node", "%s%d" % (SLURMD_NAME, n)]
    # A controller that looks up each peer (24.11) and a resolver that drops queries can
    # take minutes over this.
    return wait_for(lambda: subprocess.run(shown, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           check=False).returncode == 0, 180, step=0.5)


class SlurmdFleet(ChrootFleet):
    """N configless slurmd hosts (`slurmd --conf-server`), host i named sdi, with its own
    /run (its munged, its pid file) and its own SlurmdSpoolDir, where the fetched files land
    (conf-cache); with a barrier, all of them wait there and go together."""

    def __init__(self, root, c, n, barrier=None):
        super().__init__(root, c, n)
        spool = "/var/spool/slurmd-%s" % c.name
        self._in(["mkdir", "-p", spool])
        # The hosts resolve each other from /etc/hosts, as a site's nodes do: this machine's
        # DNS drops bursts of queries, which would measure the resolver.
        with open(os.path.join(root, "etc", "hosts"), "w") as handle:
            handle.write("127.0.0.1 localhost\n" + "".join(
                "%s %s%d\n" % (address(i), SLURMD_NAME, i) for i in range(1, n + 1)))
        subprocess.run(["sed", "-i", "s/^hosts:.*/hosts: files/",
                        os.path.join(root, "etc", "nsswitch.conf")], check=True)
        for i in range(1, n + 1):
            self._in(["mkdir", "-p", self.here(i) + "/spool", self.here(i) + "/run"])
            self._munged(i, self.here(i) + "/run/munge")
        for i in range(1, n + 1):
            here = os.path.join(root, "run", "fleet", str(i))
            script = ('mount --bind "$1/spool" "$3$5" && mount --bind "$1/run" "$3/run" && '
                      'exec chroot "$3" /usr/sbin/slurmd -D --conf-server "$2" -N "$4"')
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                    here, c.server, root, "%s%d" % (SLURMD_NAME, i), spool]
            if barrier is not None:
                argv = barrier.wrap(argv)
            self.daemons.append(Daemon(in_uts("%s%d" % (SLURMD_NAME, i), argv),
                                       here + "/slurmd.log", label="slurmd%d" % i))

    def watched(self):
        return [os.path.join(self.root, "run", "fleet", str(i), "spool", "conf-cache",
                             "nodes.conf") for i in range(1, self.n + 1)]


def sum_memory(pids):
    """(RSS, PSS) in bytes over pids, from smaps_rollup."""
    rss = pss = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return rss, pss


def command_name(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return None


def controller_cpu(c):
    """The controller's CPU seconds so far (its own and its reaped children's)."""
    with open(os.path.join(c.conf_dir, "slurmctld.pid")) as handle:
        pid = int(handle.read())
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rpartition(")")[2].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def log_size(c):
    return os.path.getsize(os.path.join(c.conf_dir, "log", "slurmctld.log"))


def log_since(c, offset):
    with open(os.path.join(c.conf_dir, "log", "slurmctld.log"), "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


def registrations(c, since):
    """The distinct keys the controller registered hosts under since a log offset."""
    return set(re.findall(r"sackd_mgr_add_node: (?:adding|updating existing) record for (\S+)",
                          log_since(c, since)))


#: Seconds to let pass between the hosts' last fetch (or the last push) and a reconfigure:
#: MUNGE credentials count whole seconds, so a push made in the second of a host's fetch may
#: hold older files than the host, and the watcher fetches to be sure.
SETTLE = 1.1


def push_round(c, watched, timeout=30.0):
    """One change and `scontrol reconfigure`: the seconds from scontrol's return until each
    path in watched holds the new bytes (None for one that never did), the controller's CPU
    seconds and the REQUEST_CONFIG RPCs it served meanwhile. Start it SETTLE seconds after
    the hosts' last fetch."""
    wanted = change(c)
    offset, cpu = log_size(c), controller_cpu(c)
    scontrol = subprocess.Popen(["chroot", c.root, "env", "SLURM_CONF=/srv/%s/slurm.conf" % c.name,
                                 "scontrol", "reconfigure"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    landed, returned = {}, None
    seen = {path: identity(path) for path in watched}
    end = time.monotonic() + timeout
    while time.monotonic() < end and (returned is None or len(landed) < len(watched)):
        now = time.monotonic()
        if returned is None and scontrol.poll() is not None:
            returned = now
        for path in watched:
            # Read a copy only once it is another file (written by rename) or changed: a
            # few hundred reads every two milliseconds would take a core from the fleet.
            if path not in landed and identity(path) != seen[path]:
                seen[path] = identity(path)
                if content(path) == wanted:
                    landed[path] = now
        time.sleep(0.002)
    if returned is None:
        scontrol.wait(120)
        returned = time.monotonic()
    time.sleep(0.5)
    text = log_since(c, offset)
    return dict(times=[max(0.0, landed[p] - returned) if p in landed else None for p in watched],
                cpu=controller_cpu(c) - cpu, rpcs=text.count("Processing RPC: REQUEST_CONFIG"),
                text=text)


STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)\] .*Processing RPC: "
                   r"REQUEST_CONFIG", re.M)


def request_times(text):
    """The moments (seconds since the epoch) of the REQUEST_CONFIG RPCs in a piece of the
    controller's log, in order."""
    found = []
    for stamp in STAMP.findall(text):
        whole, _dot, fraction = stamp.partition(".")
        found.append(time.mktime(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) +
                     (float("0." + fraction) if fraction else 0.0))
    return found


def peak_rate(moments):
    """The most REQUEST_CONFIG RPCs the controller served in any one second (a sliding
    window over the log's millisecond stamps)."""
    best, start = 0, 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def gaps(moments, least=4.0):
    """The pauses of at least least seconds between two REQUEST_CONFIG RPCs: a controller
    that stopped serving while clients waited (24.11 does for 5 s when connections come too
    fast)."""
    return [b - a for a, b in zip(moments, moments[1:]) if b - a >= least]


def identity(path):
    """What tells a new version of a file from the old one without reading it."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def summary(times):
    """(first, median, last, lost) of a round's landing times."""
    got = sorted(t for t in times if t is not None)
    if not got:
        return None, None, None, len(times)
    return got[0], statistics.median(got), got[-1], len(times) - len(got)


def fresh_controller(release, name, port, env=None):
    """A lab controller with no registration remembered from an earlier run (they live in
    its StateSaveLocation, /srv/NAME/state); env is the lab's environment (its STRAW_LAB_*)."""
    c = lab.up(release, name=name, port=port, env=env)
    lab.down(c)
    shutil.rmtree(os.path.join(c.conf_dir, "state"), ignore_errors=True)
    return lab.up(release, name=name, port=port, env=env)
