"""What the role's tests need beyond the lab: community.general and community.docker (for the
chroot and nsenter connections, taken from the `ansible` package on PyPI, since Galaxy is out of
reach) and Debian root file systems to build an image in or to boot."""
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import zipfile

import lab

CACHE = os.environ.get("STRAW_TEST_CACHE", "/var/tmp/straw-slurm-test")
LAB_CACHE = os.environ.get("STRAW_LAB_CACHE", "/var/tmp/straw-slurm-lab")


def community_collections() -> str:
    """A collections directory holding community.general (the chroot connection) and
    community.docker (the nsenter connection), extracted once from PyPI's ansible."""
    target = os.path.join(CACHE, "test-collections")
    wanted = ("general", "docker")
    if all(os.path.exists(os.path.join(target, "ansible_collections", "community", name, "galaxy.yml"))
           for name in wanted):
        return target
    download = os.path.join(CACHE, "ansible-wheel")
    os.makedirs(download, exist_ok=True)
    if not glob.glob(os.path.join(download, "ansible-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "ansible>=12,<13", "-d", download], check=True, stderr=subprocess.DEVNULL)
    (wheel,) = glob.glob(os.path.join(download, "ansible-*.whl"))
    partial = target + ".tmp"
    shutil.rmtree(partial, ignore_errors=True)
    prefixes = tuple("ansible_collections/community/%s/" % name for name in wanted)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(prefixes):
                archive.extract(name, partial)
    shutil.rmtree(target, ignore_errors=True)
    os.rename(partial, target)
    return target


community_general = community_collections  # the name the role's other tests use


def _mounted_under(path: str) -> bool:
    return bool(lab.mounts_under(path.rstrip("/")))


def _root_fs(name: str, options: list) -> str:
    """A Debian bookworm root file system built once with mmdebstrap and cached as name."""
    tree = os.path.join(LAB_CACHE, name)
    if os.path.exists(os.path.join(tree, ".image-ready")):
        return tree
    partial = tree + ".tmp"
    if _mounted_under(partial):
        raise RuntimeError("%s has something mounted in it; unmount it by hand" % partial)
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(["mmdebstrap"] + options + ["--aptopt=Acquire::Check-Valid-Until \"false\"",
                                               "bookworm", partial, lab.mirror()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open(os.path.join(partial, ".image-ready"), "w").close()
    os.rename(partial, tree)
    return tree


def debian_image() -> str:
    """A node image being built: python3 and munge, no package manager needed."""
    return _root_fs("image-bookworm", ["--variant=essential", "--include=python3,munge"])


def debian_host() -> str:
    """A freshly installed host: apt with its package lists, python3, and no munge yet."""
    return _root_fs("host-bookworm", ["--variant=apt", "--include=python3,python3-apt",
                                      "--skip=cleanup/apt/lists"])


def debian_systemd_host() -> str:
    """A freshly installed host that boots with systemd (not running here): as debian_host, plus
    systemd (systemctl works offline on its files) and procps (/bin/kill)."""
    return _root_fs("host-bookworm-systemd", ["--variant=apt", "--include=python3,python3-apt,systemd,procps",
                                              "--skip=cleanup/apt/lists"])


def debian_systemd_node() -> str:
    """A minimal host that boots: minbase (apt, but no procps, so no /bin/kill) with systemd,
    dbus and python3, as systemd-nspawn --boot runs it."""
    return _root_fs("node-bookworm-minbase-systemd", ["--variant=minbase", "--include=systemd,dbus,python3"])


def copy_image(destination: str, source: str = "") -> str:
    """A private copy of a cached root file system for one test (it is written to)."""
    subprocess.run(["cp", "-a", source or debian_image(), destination], check=True)
    return destination


def processes_rooted_in(root: str) -> list:
    """PIDs whose root directory is inside root: what an image build must not leave running."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink("/proc/%s/root" % pid).startswith(root):
                    found.append(int(pid))
            except OSError:
                pass
    return found


_REAPER = """
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
"""


class HostNamespace:
    """A PID and mount namespace standing in for a host's process table. Init scripts run in a
    chroot inside it see their own daemons only (never the lab's munged), and everything
    started in it is killed with it."""

    def __init__(self) -> None:
        self._unshare = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", "--mount-proc",
                                          "--kill-child", sys.executable, "-c", _REAPER])
        self.pid = self._child_of(self._unshare.pid)

    @staticmethod
    def _child_of(parent: int) -> int:
        for _attempt in range(100):
            for pid in os.listdir("/proc"):
                try:
                    with open("/proc/%s/stat" % pid) as handle:
                        if int(handle.read().rsplit(")", 1)[1].split()[1]) == parent:
                            return int(pid)
                except (OSError, ValueError, IndexError):
                    pass
            time.sleep(0.05)
        raise RuntimeError("unshare started no namespace")

    def prefix(self, cwd: str = "/") -> list:
        """What to put before a command to run it inside the namespace."""
        return ["nsenter", "-t", str(self.pid), "-p", "-m", "-w" + cwd]

    def run(self, *command: str) -> None:
        proc = subprocess.run(self.prefix() + list(command), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError("%s failed (%d) in the host namespace:\n%s"
                               % (" ".join(command), proc.returncode, proc.stdout[-3000:]))

    def close(self) -> None:
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        self._unshare.kill()
        self._unshare.wait()

    def __enter__(self) -> "HostNamespace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def play(role_vars, hosts="localhost"):
    return """
- hosts: %s
  gather_facts: false
  roles:
    - role: straw.slurm.configless
      vars: %s
""" % (hosts, json.dumps(role_vars))


def recap(output):
    """{host: (ok, changed, failed)} from the PLAY RECAP."""
    return {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)))
            for m in re.finditer(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)",
                                 output, re.M)}


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class BootedNode:
    """A root file system booted by a real systemd in a container (systemd-nspawn --boot), on
    the host's network, so that it reaches the lab's controllers on 127.0.0.1. run() drives it
    as `nsenter -t PID -a` does (PID: its init, as the nsenter connection takes it); close()
    powers it off (nspawn turns SIGTERM into a clean shutdown), or kills it when that hangs.
    Its mounts live in its own mount namespace and go with it."""

    _count = 0

    def __init__(self, root: str, console: str, timeout: float = 60) -> None:
        BootedNode._count += 1
        self.root = root
        self.name = "straw-%d-%d" % (os.getpid(), BootedNode._count)  # nspawn's own paths use it
        self._console = open(console, "ab")  # noqa: SIM115  (closed by close())
        self._nspawn = subprocess.Popen(
            ["systemd-nspawn", "-D", root, "-M", self.name, "--boot", "--register=no", "--keep-unit",
             "--console=passive"],
            env=dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="0"), stdin=subprocess.DEVNULL,
            stdout=self._console, stderr=subprocess.STDOUT)
        self.pid = 0
        try:
            self.pid = self._init(timeout)
            self.state = self._booted(timeout)
        except BaseException:
            self.close()
            raise

    def _init(self, timeout: float) -> int:
        """The container's systemd: nspawn's child, in a PID namespace of its own."""
        ours = os.readlink("/proc/self/ns/pid")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._nspawn.poll() is not None:
                raise RuntimeError("systemd-nspawn exited (%d) before booting; see %s"
                                   % (self._nspawn.returncode, self._console.name))
            for pid in os.listdir("/proc"):
                try:
                    with open("/proc/%s/stat" % pid) as handle:
                        fields = handle.read().rsplit(")", 1)[1].split()
                    with open("/proc/%s/comm" % pid) as handle:
                        comm = handle.read().strip()
                    if int(fields[1]) == self._nspawn.pid and comm == "systemd" \
                            and os.readlink("/proc/%s/ns/pid" % pid) != ours:
                        return int(pid)
                except (OSError, ValueError, IndexError):
                    pass
            time.sleep(0.05)
        raise RuntimeError("no systemd in the container after %d s" % timeout)

    def _booted(self, timeout: float) -> str:
        """Waits for the boot to finish; returns systemd's state (running, degraded)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("the container did not finish booting in %d s" % timeout)
            try:
                state = self.run("systemctl", "is-system-running", "--wait", timeout=left).stdout.strip()
            except subprocess.TimeoutExpired:
                continue
            if state in ("running", "degraded"):
                return state
            time.sleep(0.2)  # systemd not listening yet

    def run(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """argv in the container (all its namespaces and its root), output merged."""
        return subprocess.run(["nsenter", "-t", str(self.pid), "-a"] + list(argv), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout, check=False)

    def close(self, timeout: float = 30) -> int:
        """Powers the container off; returns nspawn's status (0 after a clean shutdown)."""
        if self._nspawn.poll() is None:
            self._nspawn.terminate()
            try:
                self._nspawn.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in (self.pid, self._nspawn.pid):  # its init first: that ends the namespace
                    try:
                        if pid:
                            os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
                self._nspawn.wait(10)
        self._console.close()
        if _mounted_under(self.root):
            raise RuntimeError("%s has something mounted in it after the container stopped" % self.root)
        return self._nspawn.returncode

    def __enter__(self) -> "BootedNode":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
