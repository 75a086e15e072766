"""Writes that fail on real file systems: a full disk, a read-only mount and a permission
error each leave every existing file exactly as it was, leave no temporary file behind, and
name the file and the cause."""
import json
import os
import shutil
import subprocess

import pytest

from _slurm import writer
from _slurm.errors import SlurmConfigError
from _slurm.messages import ConfigFile
from fixtures.unprivileged import python_for_any_user, readable_library

OLD = {"slurm.conf": b"ClusterName=old\n", "gres.conf": b"# old gres\n"}
NEW = [ConfigFile("slurm.conf", b"ClusterName=new\n" * 2000, True, False),
       ConfigFile("gres.conf", b"# new gres\n", True, False),
       ConfigFile("cgroup.conf", b"CgroupPlugin=autodetect\n", True, False)]


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs of our own, always unmounted afterwards."""
    mount = tmp_path / "fs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def populate(directory):
    for name, data in OLD.items():
        (directory / name).write_bytes(data)
        os.chmod(directory / name, 0o644)
    return {p.name: (p.read_bytes(), os.stat(p).st_mode, os.stat(p).st_mtime_ns)
            for p in directory.iterdir()}


def fill(mount):
    """Leaves a few KiB free: less than the new files need, more than nothing."""
    with open(mount / "filler", "wb") as handle:
        try:
            handle.write(b"\0" * (64 * 1024))
        except OSError:
            pass
    os.truncate(mount / "filler", 56 * 1024)


def state(directory):
    return {p.name: (p.read_bytes(), os.stat(p).st_mode, os.stat(p).st_mtime_ns)
            for p in directory.iterdir()}


def test_full_file_system(tmpfs):
    conf = tmpfs / "slurm"
    conf.mkdir()
    before = populate(conf)
    fill(tmpfs)
    with pytest.raises(SlurmConfigError) as info:
        writer.apply(str(conf), writer.plan(str(conf), NEW))
    assert "no space left on the file system" in str(info.value)
    assert str(conf / "slurm.conf") in str(info.value) or str(conf) in str(info.value)
    assert "no file was changed" in str(info.value)
    assert state(conf) == before  # no temporary file left, nothing replaced


def test_read_only_directory(tmpfs):
    conf = tmpfs / "slurm"
    conf.mkdir()
    before = populate(conf)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with pytest.raises(SlurmConfigError, match="read-only"):
        writer.apply(str(conf), writer.plan(str(conf), NEW))
    assert state(conf) == before


def test_permission_denied_for_an_unprivileged_writer():
    import pathlib
    import tempfile
    top = pathlib.Path(tempfile.mkdtemp(prefix="straw-perm-", dir="/var/tmp"))
    os.chmod(top, 0o755)  # the unprivileged user may look, not write
    conf = top / "slurm"
    conf.mkdir()
    before = populate(conf)
    try:
        _unprivileged_write(conf, before)
    finally:
        shutil.rmtree(top)


def _unprivileged_write(conf, before):
    # uid 65534 may not reach the checkout (a clone under /root, mode 0700): it runs a copy.
    library = readable_library()
    try:
        proc = _run_unprivileged(library, conf)
    finally:
        shutil.rmtree(library)
    assert proc.returncode == 3, proc.stdout
    assert "permission denied" in proc.stdout and str(conf / "slurm.conf") in proc.stdout
    assert state(conf) == before


def _run_unprivileged(library, conf):
    script = ("import sys; sys.path.insert(0, %r)\n"
              "from _slurm import writer; from _slurm.messages import ConfigFile\n"
              "from _slurm.errors import SlurmConfigError\n"
              "try:\n"
              "    writer.apply(%r, writer.plan(%r, [ConfigFile('slurm.conf', b'x', True, False)]))\n"
              "except SlurmConfigError as e:\n"
              "    print(e); sys.exit(3)\n") % (library, str(conf), str(conf))
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           python_for_any_user(), "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False, cwd="/")


def test_module_on_a_full_file_system(tmpfs, run_playbook, tmp_path):
    conf = tmpfs / "slurm"
    conf.mkdir()
    before = populate(conf)
    fill(tmpfs)
    files = {f.name: {"exists": True, "executable": False, "content": f.content.decode()} for f in NEW}
    result = run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_files:
        path: %s
        files: %s
""" % (conf, json.dumps(files)), check=False)
    assert result.returncode != 0
    assert "no space left on the file system" in result.stdout and "no file was changed" in result.stdout
    assert state(conf) == before
