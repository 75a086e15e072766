"""The release artefacts as a site gets them (tests/release): built twice, the same bytes; the
collection tarball installed into an empty collections path and its role run from there
against a real controller; the single file run by the oldest Python supported."""
import base64
import glob
import hashlib
import json
import os
import subprocess
import sys
import tarfile

import pytest

from _slurm.auth.jwt import mint_token
from lab import ROOT
from roles_support import mode, play, recap

PYTHON_38 = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
ARTEFACTS = ("straw", "SHA256SUMS")


def release(destination):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "release.py"), str(destination)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout
    (tarball,) = glob.glob(os.path.join(str(destination), "straw-slurm-*.tar.gz"))
    return tarball


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two builds of the last commit, in two directories: (first, second) tarball paths."""
    return release(tmp_path_factory.mktemp("dist1")), release(tmp_path_factory.mktemp("dist2"))


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_two_builds_give_the_same_bytes(built):
    first, second = built
    assert os.path.basename(first) == os.path.basename(second)
    assert read(first) == read(second)
    for name in ARTEFACTS:
        assert read(os.path.join(os.path.dirname(first), name)) == \
            read(os.path.join(os.path.dirname(second), name)), name


def test_sums_name_both_artefacts_and_hold(built):
    directory = os.path.dirname(built[0])
    check = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=directory,
                           stdout=subprocess.PIPE, universal_newlines=True, check=False)
    assert check.returncode == 0, check.stdout
    assert sorted(line.split(":")[0] for line in check.stdout.splitlines()) == \
        sorted(["straw", os.path.basename(built[0])])


def test_tarball_is_sorted_timeless_and_consistent(built):
    with tarfile.open(built[0]) as archive:
        members = archive.getmembers()
        names = [m.name for m in members]
        assert names[:2] == ["MANIFEST.json", "FILES.json"]
        assert names[2:] == sorted(names[2:])
        assert len({m.mtime for m in members}) == 1
        assert all(m.uid == m.gid == 0 and not m.uname and not m.gname and not m.pax_headers for m in members)
        manifest = json.loads(archive.extractfile("MANIFEST.json").read())
        files_json = archive.extractfile("FILES.json").read()
        assert hashlib.sha256(files_json).hexdigest() == manifest["file_manifest_file"]["chksum_sha256"]
        entries = json.loads(files_json)["files"]
        assert [e["name"] for e in entries][1:] == sorted(e["name"] for e in entries[1:])
        for entry in entries:
            if entry["ftype"] == "file":
                data = archive.extractfile(entry["name"]).read()
                assert hashlib.sha256(data).hexdigest() == entry["chksum_sha256"], entry["name"]
        assert archive.extractfile("LICENSE").read() == read(os.path.join(ROOT, "LICENSE"))
        for name in names:
            assert not name.startswith(("tests/lab", "benchmarks", "dist", ".git")), name
    with open(built[0], "rb") as handle:
        header = handle.read(10)
    assert header[4:8] == members[0].mtime.to_bytes(4, "little")  # gzip's time: the commit's


def test_role_from_the_installed_tarball(built, controllers, run_playbook, tmp_path, munge_user):
    """`ansible-galaxy collection install TARBALL -p DIR` into an empty DIR, then the role from
    DIR alone: it fetches, writes, and builds and installs the command from the installed
    collection's bin/."""
    collections = tmp_path / "collections"
    collections.mkdir()
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    installed = subprocess.run([galaxy, "collection", "install", built[0], "-p", str(collections)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                               check=False)
    assert installed.returncode == 0, installed.stdout
    where = collections / "ansible_collections" / "straw" / "slurm"
    assert (where / "LICENSE").is_file() and not (where / "tests" / "lab").exists()
    c = controllers["26.05"]
    conf = tmp_path / "etc" / "slurm"
    command = tmp_path / "sbin" / "straw"
    role_vars = dict(configless_servers=[c.server], configless_conf_dir=str(conf),
                     configless_munge_socket=c.munge_socket,
                     configless_munge_key=base64.b64encode(read(c.munge_key)).decode(),
                     configless_munge_key_path=str(tmp_path / "munge" / "munge.key"),
                     configless_packages=False, configless_services=False,
                     configless_install_command=True, configless_command_path=str(command))
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "0"}
    first = run_playbook(play(role_vars), env=env)
    assert recap(first.stdout)["localhost"][2] == 0
    for name in ("slurm.conf", "nodes.conf", "prolog.sh"):
        assert (conf / name).read_bytes() == c.expected(name), name
    assert mode(conf / "prolog.sh") == 0o755
    assert mode(command) == 0o755
    second = run_playbook(play(role_vars), env=env)
    assert recap(second.stdout)["localhost"][1] == 0, second.stdout[-3000:]


@pytest.mark.skipif(not PYTHON_38, reason="no Python 3.8 from pyenv here")
def test_single_file_on_the_oldest_python(built, controllers, tmp_path):
    c = controllers["24.11"]
    token = tmp_path / "token"
    token.write_text(mint_token(c.jwt_key, "slurm") + "\n")
    token.chmod(0o600)
    single = os.path.join(os.path.dirname(built[0]), "straw")
    env = {k: v for k, v in os.environ.items() if k not in ("SLURM_JWT", "PYTHONPATH", "SLURM_CONF_SERVER")}
    proc = subprocess.run([PYTHON_38[-1], single, c.server, "--auth", "jwt", "--jwt-token-file", str(token),
                           "-o", str(tmp_path / "conf")], cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "conf" / "slurm.conf").read_bytes() == c.expected("slurm.conf")
    version = subprocess.run([PYTHON_38[-1], single, "-V"], stdout=subprocess.PIPE, universal_newlines=True,
                             check=False)
    assert version.returncode == 0 and version.stdout.startswith("straw (straw.slurm) ")
