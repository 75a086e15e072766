"""The real-controller lab as seen by the tests: which controllers, where their files are."""
import os
import subprocess
from typing import Dict, NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "tests", "lab", "lab")


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


def up(release: str, name: str = "ctl", port: int = 0, mode: str = "munge") -> Controller:
    suite, default_port = RELEASES[release]
    port = port or default_port
    root = subprocess.run([LAB, "up", name, suite, str(port), mode], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    return Controller(release, suite, name, port, root)


def down(controller: Controller) -> None:
    subprocess.run([LAB, "down", controller.name, controller.suite], check=False)


def stop_all() -> None:
    for suite, _port in RELEASES.values():
        subprocess.run([LAB, "stop", suite], check=False)
