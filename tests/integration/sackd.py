"""sackd, Slurm's own configless daemon, beside a lab controller: a Debian chroot of its own
with sackd and munged (built once with mmdebstrap), and the two daemons run in it with the
controller's MUNGE key, as a compute node would (benchmarks/straw_bench/watch.py)."""
import os
import shutil
import signal
import subprocess
import time

import debian_chroot
from _slurm.versions import version_of
from daemons import Daemon

PACKAGES = "slurmctld,munge,slurm-client,sackd,procps"


def ready(root):
    return debian_chroot.ready(root)


def build(root, suite):
    """(root, None) once root is a chroot of Debian suite with sackd and munged, built now
    unless it is there; (None, why) when it cannot be. The build's log is root + ".log"."""
    return debian_chroot.build(root, suite, PACKAGES, "sackd")


class SackdHost:
    """A chroot of our own running munged (the controller's key) and sackd, as SlurmUser:
    the controller signs pushes so that only SlurmUser can decode them. Once started,
    nodes_conf is the nodes.conf sackd keeps current."""

    def __init__(self, root):
        self.root, self.munged, self.daemon, self.mounted = root, None, None, []
        self.nodes_conf = None

    def start(self, c, port, log_path):
        """Starts munged and sackd against controller c, pushes to port on 25.05+ (older
        releases push to SlurmdPort); returns sackd's Daemon once it has written its files."""
        root = self.root
        with open(c.munge_key, "rb") as source:
            secret = source.read()
        key = os.path.join(root, "etc", "munge", "munge.key")
        with open(key, "wb") as handle:
            handle.write(secret)
        self._in(["chown", "munge:", "/etc/munge/munge.key"])
        os.chmod(key, 0o400)
        self._in(["chmod", "0700", "/etc/munge"])
        for target, mount in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
            path = os.path.join(root, target)
            if subprocess.run(["mountpoint", "-q", path], check=False).returncode != 0:
                subprocess.run(["mount"] + mount + [path], check=True)
            self.mounted.append(path)  # ours, even when an interrupted run left it
        self._stop_old_munged()
        run_munge = os.path.join(root, "run", "munge")
        shutil.rmtree(run_munge, ignore_errors=True)
        os.makedirs(run_munge)
        self._in(["chown", "munge:", "/run/munge"])
        os.chmod(run_munge, 0o755)
        self._in(["runuser", "-u", "munge", "--", "/usr/sbin/munged"])
        with open(os.path.join(run_munge, "munged.pid")) as handle:
            self.munged = int(handle.read())
        # 25.05+ writes RUNTIME_DIRECTORY/conf (--port names where pushes go); older
        # releases /run/slurm/conf (pushes go to SlurmdPort). Both fresh, owned by SlurmUser.
        for directory in ("/run/bench-sackd", "/run/slurm"):
            shutil.rmtree(os.path.join(root, directory.lstrip("/")), ignore_errors=True)
            self._in(["install", "-d", "-o", "slurm", "-g", "slurm", directory])
        argv = ["chroot", "--userspec=slurm:slurm", root, "env", "RUNTIME_DIRECTORY=/run/bench-sackd",
                "/usr/sbin/sackd", "-D", "--conf-server", c.server]
        if version_of(c.release) >= version_of("25.05"):
            argv += ["--port", str(port)]
        candidates = [os.path.join(root, "run", d, "conf", "nodes.conf")
                      for d in ("bench-sackd", "slurm")]
        self.daemon = Daemon(argv, log_path, label="sackd %s" % c.release)
        self.daemon.wait_until(lambda: any(os.path.exists(p) for p in candidates))
        self.nodes_conf = next(p for p in candidates if os.path.exists(p))
        return self.daemon

    def _in(self, argv):
        subprocess.run(["chroot", self.root] + argv, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _stop_old_munged(self):
        """A munged an interrupted run of ours left in this chroot (by its pid file)."""
        try:
            with open(os.path.join(self.root, "run", "munge", "munged.pid")) as handle:
                pid = int(handle.read())
            if os.readlink("/proc/%d/root" % pid) == self.root:
                os.kill(pid, signal.SIGTERM)
                time.sleep(0.3)
        except (OSError, ValueError):
            pass

    def stop(self):
        if self.daemon is not None:
            self.daemon.stop()
        if self.munged:
            try:
                os.kill(self.munged, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _attempt in range(50):
                if not os.path.exists("/proc/%d" % self.munged):
                    break
                time.sleep(0.1)
        for path in reversed(self.mounted):
            subprocess.run(["umount", path], check=False)
