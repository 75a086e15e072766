"""bin/straw as a process against the lab controllers: straw's own argument forms,
negotiation, every auth, --check, --prune, exit codes, and no secret in its output."""
import os
import stat
import subprocess
import sys

import pytest

from _slurm.auth.jwt import mint_token
from lab import ROOT, up

STRAW = os.path.join(ROOT, "bin", "straw")
PY38 = os.path.expanduser("~/.pyenv/versions/3.8.18/bin/python3.8")


def straw(*args, token=None, python=sys.executable, env=None):
    environment = {k: v for k, v in os.environ.items() if k != "SLURM_JWT"}
    if token:
        environment["SLURM_JWT"] = token
    environment.update(env or {})
    return subprocess.run([python, STRAW] + [str(a) for a in args], env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, timeout=120)


def same_as_controller(controller, directory, names):
    for name in names:
        assert (directory / name).read_bytes() == controller.expected(name), name


def test_straws_own_argument_form(controllers, tmp_path):
    c = controllers["22.05"]
    token = mint_token(c.jwt_key, "slurm")
    out = tmp_path / "conf"
    proc = straw(c.server, "22.05", "--auth", "jwt", "-o", out, token=token)
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, out, ["slurm.conf", "nodes.conf", "gres.conf", "cgroup.conf"])
    assert stat.S_IMODE(os.stat(out / "slurm.conf").st_mode) == 0o644
    assert proc.stdout == "" and proc.stderr == ""


@pytest.mark.parametrize("release", ["20.11", "26.05"])
def test_negotiated_without_a_release(controllers, tmp_path, release):
    c = controllers[release]
    proc = straw(c.server, "-o", tmp_path, "-v", token=mint_token(c.jwt_key, "slurm"))
    assert proc.returncode == 0, proc.stderr
    assert "speaks Slurm %s" % release in proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf"])
    if release == "26.05":
        assert stat.S_IMODE(os.stat(tmp_path / "prolog.sh").st_mode) == 0o755
    else:
        assert "includes nodes.conf" in proc.stderr  # 20.11 does not ship included files


def test_munge(controllers, tmp_path):
    c = controllers["24.11"]
    proc = straw(c.server, "--auth", "munge", "--munge-socket", c.munge_socket, "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf", "gres.conf", "prolog.sh"])


def test_jwt_minted_from_the_key_and_the_client_set(controllers, tmp_path):
    c = controllers["26.05"]
    proc = straw(c.server, "--jwt-key", c.jwt_key, "--jwt-user", "nobody", "--request", "client",
                 "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "slurm.conf").exists() and not (tmp_path / "gres.conf").exists()


def test_auth_slurm(controllers, tmp_path):
    c = up("26.05", name="slurmauth", port=controllers["26.05"].port + 20, mode="slurm")
    proc = straw(c.server, "--auth", "slurm", "--slurm-key", c.slurm_key, "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf"])


@pytest.mark.skipif(not os.path.exists(PY38), reason="no Python 3.8 here")
def test_runs_on_python_38_with_the_standard_library_only(controllers, tmp_path):
    c = controllers["24.11"]
    proc = straw(c.server, "-o", tmp_path, token=mint_token(c.jwt_key, "slurm"), python=PY38,
                 env={"PYTHONNOUSERSITE": "1"})
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf"])


def test_check_in_sync_and_drifted(controllers, tmp_path):
    c = controllers["24.11"]
    token = mint_token(c.jwt_key, "slurm")
    assert straw(c.server, "-o", tmp_path, token=token).returncode == 0
    in_sync = straw(c.server, "-o", tmp_path, "--check", token=token)
    assert in_sync.returncode == 0 and in_sync.stdout == ""
    with open(tmp_path / "slurm.conf", "a") as handle:
        handle.write("# drift\n")
    (tmp_path / "nodes.conf").unlink()
    snapshot = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    drifted = straw(c.server, "-o", tmp_path, "--check", token=token)
    assert drifted.returncode == 1
    assert "differs: slurm.conf" in drifted.stdout and "missing: nodes.conf" in drifted.stdout
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == snapshot


def test_prune(controllers, tmp_path):
    c = controllers["24.11"]
    token = mint_token(c.jwt_key, "slurm")
    (tmp_path / "topology.conf").write_text("stale\n")
    (tmp_path / "mine.conf").write_text("mine\n")
    assert straw(c.server, "-o", tmp_path, token=token).returncode == 0
    assert (tmp_path / "topology.conf").exists()  # as in straw, nothing is removed by default
    assert straw(c.server, "-o", tmp_path, "--prune", token=token).returncode == 0
    assert not (tmp_path / "topology.conf").exists()
    assert (tmp_path / "mine.conf").read_text() == "mine\n"


def test_a_bad_token_is_one_line_and_never_echoed(controllers, tmp_path):
    c = controllers["24.11"]
    bad = mint_token(c.jwt_key, "slurm")[:-6] + "AAAAAA"
    proc = straw(c.server, "-o", tmp_path, "-vv", token=bad)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "rc 1007" in proc.stderr and "auth jwt" in proc.stderr
    assert bad not in proc.stdout + proc.stderr
    assert not list(tmp_path.iterdir())


def test_unreachable_server(tmp_path):
    proc = straw("127.0.0.1:17999", "-o", tmp_path, "--timeout", "2", token="x.y.z")
    assert proc.returncode == 2
    assert proc.stderr.startswith("straw: 127.0.0.1:17999") and "refused" in proc.stderr


def test_no_token(tmp_path, controllers):
    proc = straw(controllers["24.11"].server, "-o", tmp_path)
    assert proc.returncode == 2 and "SLURM_JWT" in proc.stderr


def test_list_version_and_help():
    listed = straw("-l")
    assert listed.returncode == 0 and "20.11" in listed.stdout and "26.05" in listed.stdout
    version = straw("-V")
    assert version.returncode == 0 and version.stdout.startswith("straw (straw.slurm) ")
    helptext = straw("--help")
    assert helptext.returncode == 0 and "SLURM_JWT" in helptext.stdout


def test_secrets_never_printed_at_full_verbosity(controllers, tmp_path):
    c = controllers["22.05"]
    token = mint_token(c.jwt_key, "slurm")
    proc = straw(c.server, "-o", tmp_path, "-vv", token=token)
    assert proc.returncode == 0
    assert token not in proc.stdout + proc.stderr
    with open(c.jwt_key, "rb") as handle:
        assert handle.read().hex() not in proc.stdout + proc.stderr


def test_installed_collection_layout(tmp_path, controllers):
    """From an installed collection: ansible_collections/straw/slurm/bin/straw."""
    tree = tmp_path / "ansible_collections" / "straw" / "slurm"
    tree.mkdir(parents=True)
    for part in ("bin", "plugins"):
        subprocess.run(["cp", "-a", os.path.join(ROOT, part), str(tree)], check=True)
    link = tmp_path / "straw-link"
    os.symlink(tree / "bin" / "straw", link)  # a symlink on PATH resolves to the collection
    c = controllers["26.05"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SLURM_JWT"] = mint_token(c.jwt_key, "slurm")
    proc = subprocess.run([sys.executable, str(link), c.server, "-o", str(tmp_path / "out")],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "slurm.conf").read_bytes() == c.expected("slurm.conf")
