"""The real-controller lab as seen by the tests: which controllers, where their files are."""
import os
import subprocess
from typing import Dict, List, NamedTuple, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "tests", "lab", "lab")
SRC_BUILD = os.path.join(ROOT, "tests", "lab", "src-build")
NO_BUILD = 3  # src-build's status when there is no build and no sources to make one


class Controller(NamedTuple):
    release: str
    suite: str
    name: str
    port: int
    root: str

    @property
    def server(self) -> str:
        return "127.0.0.1:%d" % self.port

    @property
    def conf_dir(self) -> str:
        return os.path.join(self.root, "srv", self.name)

    @property
    def jwt_key(self) -> str:
        return os.path.join(self.conf_dir, "jwt.key")

    @property
    def slurm_key(self) -> str:
        return os.path.join(self.conf_dir, "slurm.key")

    @property
    def munge_socket(self) -> str:
        return os.path.join(self.root, "run", "munge", "munge.socket.2")

    @property
    def munge_key(self) -> str:
        return os.path.join(self.root, "etc", "munge", "munge.key")

    def expected(self, name: str):
        """The bytes the controller serves for name, or None when it has no such file."""
        path = os.path.join(self.conf_dir, name)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as handle:
            return handle.read()

    def log(self) -> str:
        with open(os.path.join(self.conf_dir, "log", "slurmctld.log"), errors="replace") as handle:
            return handle.read()


# release -> (suite, port); one configless munge+jwt controller per Debian release.
RELEASES: Dict[str, tuple] = {
    "20.11": ("bullseye", 17017),
    "22.05": ("bookworm", 17117),
    "24.11": ("trixie", 17217),
    "26.05": ("forky", 17317),
}


def up(release: str, name: str = "ctl", port: int = 0, mode: str = "munge",
       env: Optional[Dict[str, str]] = None) -> Controller:
    """Starts controller name (or finds it running); env is the lab's environment, for its
    STRAW_LAB_* settings."""
    suite, default_port = RELEASES[release]
    port = port or default_port
    root = subprocess.run([LAB, "up", name, suite, str(port), mode], env=env, check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    return Controller(release, suite, name, port, root)


def down(controller: Controller) -> None:
    subprocess.run([LAB, "down", controller.name, controller.suite], check=False)


def mirror() -> str:
    """The Debian archive the lab builds its chroots from."""
    return subprocess.run([LAB, "mirror"], check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()


def mounts_under(path: str) -> List[str]:
    """What is mounted below path: a tree to be removed must have nothing."""
    with open("/proc/self/mounts") as handle:
        return [line.split()[1] for line in handle if line.split()[1].startswith(path + "/")]


def stop_all() -> None:
    for suite, _port in RELEASES.values():
        subprocess.run([LAB, "stop", suite], check=False)


def built(flavour: str) -> Tuple[bool, str]:
    """(True, chroot) once the from-source build flavour (tls, next) is there, building it
    first when its sources are given (minutes); (False, why) when it is absent and cannot be
    made."""
    proc = subprocess.run([SRC_BUILD, flavour], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode == NO_BUILD:
        return False, proc.stdout.strip()
    if proc.returncode != 0:
        raise RuntimeError("src-build %s failed (%d):\n%s"
                           % (flavour, proc.returncode, proc.stdout[-3000:]))
    return True, proc.stdout.strip()


# The TLS controller: Slurm 25.11 built from source with tls/s2n (tests/lab/src-build tls), in
# the lab's "tls" chroot; one controller per auth type, each on its own port.
TLS_SUITE = "tls"
TLS_PORTS: Dict[str, int] = {"munge": 17417, "slurm": 17517}


class TlsController(Controller):
    """A lab controller with TLSType=tls/s2n and the certificates made when it started."""

    @property
    def ca(self) -> str:
        return os.path.join(self.conf_dir, "tls", "ca.pem")

    @property
    def wrong_ca(self) -> str:
        """A CA that signed nothing the controller holds."""
        return os.path.join(self.conf_dir, "tls", "wrong-ca.pem")


def tls_available() -> Tuple[bool, str]:
    """The TLS build, made first when STRAW_S2N_SRC and STRAW_SLURM_SRC are set."""
    return built(TLS_SUITE)


def up_tls(auth: str = "munge", name: str = "", port: int = 0, tls: bool = True) -> TlsController:
    """Starts (or finds running) the from-source 25.11 controller; tls=False starts it in
    plaintext. auth is as for up(): munge (with jwt), slurm or noconfigless."""
    name = name or "tls-%s" % auth
    port = port or TLS_PORTS[auth]
    command = [LAB, "up-tls", name, str(port), auth] if tls else \
        [LAB, "up", name, TLS_SUITE, str(port), auth]
    root = subprocess.run(command, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()
    return TlsController("25.11", TLS_SUITE, name, port, root)


def stop_tls() -> None:
    """Stops every controller and munged of the TLS chroot and unmounts it."""
    subprocess.run([LAB, "stop", TLS_SUITE], check=False)


# SchedMD's master, the next release (26.11, protocol 46), built from source by
# tests/lab/src-build next (STRAW_SLURM_NEXT_SRC) into the lab's "next" chroot, without TLS;
# one controller per auth type, each on its own port.
NEXT_SUITE = "next"
NEXT_PORTS: Dict[str, int] = {"munge": 19017, "slurm": 19027, "nohttp": 19037}


def next_available() -> Tuple[bool, str]:
    """The build of master, made first when its sources are given."""
    return built(NEXT_SUITE)


def next_release(root: str) -> str:
    """The release the build of master is ("26.11"), as its sources' META says."""
    with open(os.path.join(root, "opt", "slurm", "RELEASE")) as handle:
        return handle.read().strip()


def up_next(auth: str = "munge", name: str = "", port: int = 0) -> Controller:
    """Starts (or finds running) a controller of master; auth is as for up(), or nohttp
    (munge, with the HTTP the build answers on its RPC port turned off)."""
    name = name or "next-%s" % auth
    port = port or NEXT_PORTS[auth]
    root = subprocess.run([LAB, "up", name, NEXT_SUITE, str(port), auth], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    return Controller(next_release(root), NEXT_SUITE, name, port, root)


def stop_next() -> None:
    """Stops every controller and munged of master's chroot and unmounts it."""
    subprocess.run([LAB, "stop", NEXT_SUITE], check=False)


# A primary and a backup controller on this one machine (`lab up-ha`): SlurmctldHost=ctlA
# (127.0.0.1) then ctlB (127.0.0.2), each slurmctld with its own host name and bound to its
# own address only (NoCtldInAddrAny), one StateSaveLocation. Slurm 23.11 and later.
HA_HOSTS: Dict[str, str] = {"ctlA": "127.0.0.1", "ctlB": "127.0.0.2"}


class HaController(Controller):
    """Both controllers of an HA pair; `server` is the primary's address, `servers` both."""

    @property
    def servers(self) -> Tuple[str, ...]:
        return tuple("%s:%d" % (address, self.port) for address in HA_HOSTS.values())

    def pid(self, host: str) -> int:
        """The slurmctld of host (ctlA or ctlB), 0 when it is not running."""
        try:
            with open(os.path.join(self.conf_dir, host, "slurmctld.pid")) as handle:
                pid = int(handle.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return 0
        return pid

    def host_log(self, host: str) -> str:
        with open(os.path.join(self.conf_dir, host, "slurmctld.log"), errors="replace") as handle:
            return handle.read()

    def log(self) -> str:
        return "".join(self.host_log(host) for host in HA_HOSTS)


def up_ha(release: str, name: str, port: int, host: str = "") -> HaController:
    """Starts both controllers of the pair (or host only), or finds them running."""
    suite = RELEASES[release][0]
    command = [LAB, "up-ha", name, suite, str(port)] + ([host] if host else [])
    root = subprocess.run(command, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()
    return HaController(release, suite, name, port, root)


def down_ha(controller: Controller, host: str = "") -> None:
    subprocess.run([LAB, "down-ha", controller.name, controller.suite] + ([host] if host else []),
                   check=False)
