"""What the role's tests need beyond the lab: community.general (for the chroot connection,
taken from the `ansible` package on PyPI, since Galaxy is out of reach) and a Debian root file
system to build an image in."""
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

CACHE = os.environ.get("STRAW_TEST_CACHE", "/var/tmp/straw-slurm-test")
LAB_CACHE = os.environ.get("STRAW_LAB_CACHE", "/var/tmp/straw-slurm-lab")


def community_general() -> str:
    """A collections directory holding community.general, extracted once from PyPI's ansible."""
    target = os.path.join(CACHE, "test-collections")
    marker = os.path.join(target, "ansible_collections", "community", "general", "galaxy.yml")
    if os.path.exists(marker):
        return target
    download = os.path.join(CACHE, "ansible-wheel")
    os.makedirs(download, exist_ok=True)
    if not glob.glob(os.path.join(download, "ansible-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "ansible>=12,<13", "-d", download], check=True, stderr=subprocess.DEVNULL)
    (wheel,) = glob.glob(os.path.join(download, "ansible-*.whl"))
    partial = target + ".tmp"
    shutil.rmtree(partial, ignore_errors=True)
    prefix = "ansible_collections/community/general/"
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(prefix):
                archive.extract(name, partial)
    shutil.rmtree(target, ignore_errors=True)
    os.rename(partial, target)
    return target


def _mirror() -> str:
    for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
        with open(path) as handle:
            for line in handle:
                if line.startswith("URIs:") and "security" not in line:
                    return line.split()[1]
    return "http://deb.debian.org/debian"


def _mounted_under(path: str) -> bool:
    with open("/proc/self/mounts") as handle:
        return any(line.split()[1].startswith(path.rstrip("/") + "/") for line in handle)


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
                                               "bookworm", partial, _mirror()],
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
