"""The remembered protocol versions (_slurm.known_versions): a round trip, remember() keeping
the others and not rewriting an unchanged file, every kind of unusable file ignored (never an
error), bad entries skipped, the saved mode, a failed save leaving nothing behind, and where
the file goes by default."""
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from _slurm import known_versions
from _slurm.known_versions import FILE_NAME, default_path, load, remember, save
from _slurm.transport import Address
from fixtures.unprivileged import python_for_any_user, readable_library

MAGIC = "straw-versions 1\n"
A = Address("ctl1", 6817)
B = Address("::1", 7000)
C = Address("10.0.0.3", 6817)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "versions")


def write(path, data, mode=0o644):
    with open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("ascii"))
    os.chmod(path, mode)


def test_round_trip(path):
    versions = {A: 45 << 8, B: 38 << 8, C: 35 << 8}
    assert save(path, versions) is True
    assert load(path) == versions


def test_missing_file_is_empty(tmp_path):
    assert load(str(tmp_path / "nothing-here")) == {}


def test_save_creates_missing_directories(tmp_path):
    path = str(tmp_path / "a" / "b" / "versions")
    assert save(path, {A: 40 << 8}) is True
    assert load(path) == {A: 40 << 8}


def test_the_file_is_plain_text(path):
    save(path, {A: 45 << 8, B: 42 << 8})
    with open(path) as handle:
        text = handle.read()
    assert text.splitlines()[0] == "straw-versions 1"
    assert "ctl1 6817 45" in text.splitlines() and "::1 7000 42" in text.splitlines()


def test_remember_keeps_the_other_entries(path):
    save(path, {A: 45 << 8, B: 38 << 8})
    assert remember(path, C, 40 << 8) is True
    assert load(path) == {A: 45 << 8, B: 38 << 8, C: 40 << 8}
    assert remember(path, A, 44 << 8) is True
    assert load(path) == {A: 44 << 8, B: 38 << 8, C: 40 << 8}


def test_remember_into_a_new_file(path):
    assert remember(path, A, 41 << 8) is True
    assert load(path) == {A: 41 << 8}


def test_remember_does_not_rewrite_an_unchanged_file(path):
    save(path, {A: 45 << 8, B: 38 << 8})
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = os.stat(path)
    assert remember(path, B, 38 << 8) is True
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_remember_does_rewrite_a_changed_entry(path):
    save(path, {A: 45 << 8})
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert remember(path, A, 44 << 8) is True
    assert os.stat(path).st_mtime_ns != 1_000_000_000


# -- unusable files: ignored ----------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"", b"\x00\x01\x02garbage", b"straw-versions 2\nctl1 6817 45\n", b"straw-versions\nctl1 6817 45\n",
    b"ctl1 6817 45\n", b" straw-versions 1\nctl1 6817 45\n",
    "straw-versions 1\nctl\u00e9 6817 45\n".encode("utf-8"),  # non-ASCII anywhere: all ignored
    b"straw-versions 1\nctl1 6817 45\n\xff\n",
])
def test_corrupt_wrong_magic_or_non_ascii_files_are_ignored(path, data):
    write(path, data)
    assert load(path) == {}


@pytest.mark.parametrize("mode", [0o646, 0o664, 0o666, 0o620, 0o602])
def test_files_writable_by_others_are_ignored(path, mode):
    write(path, MAGIC + "ctl1 6817 45\n", mode)
    assert load(path) == {}


def test_read_only_and_private_files_are_used(path):
    write(path, MAGIC + "ctl1 6817 45\n", 0o400)
    assert load(path) == {A: 45 << 8}
    os.chmod(path, 0o600)
    assert load(path) == {A: 45 << 8}


def test_a_symlink_is_not_followed(tmp_path, path):
    target = str(tmp_path / "real")
    write(target, MAGIC + "ctl1 6817 45\n")
    os.symlink(target, path)
    assert load(path) == {}


def test_a_directory_is_ignored(path):
    os.mkdir(path)
    assert load(path) == {}


def test_a_fifo_is_ignored_without_blocking(path):
    os.mkfifo(path, 0o644)
    assert load(path) == {}


def test_an_oversized_file_is_ignored(path):
    line = "ctl1 6817 45\n"
    write(path, MAGIC + line * (70 * 1024 // len(line)))
    assert os.path.getsize(path) > 64 * 1024
    assert load(path) == {}


def test_a_file_just_under_the_limit_is_used(path):
    line = "ctl1 6817 45\n"
    write(path, MAGIC + line * (60 * 1024 // len(line)))
    assert load(path) == {A: 45 << 8}


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_file_owned_by_another_user_is_ignored(path):
    write(path, MAGIC + "ctl1 6817 45\n")
    os.chown(path, 65534, 65534)
    assert load(path) == {}


def test_unreadable_file_is_ignored(path):
    if os.geteuid() == 0:
        pytest.skip("root reads anything")
    write(path, MAGIC + "ctl1 6817 45\n", 0o200)
    assert load(path) == {}


def test_bad_entries_are_skipped_and_good_ones_kept(path):
    write(path, MAGIC + "\n".join([
        "ctl1 6817 45",  # good
        "ctl2 0 45", "ctl2 65536 45", "ctl2 -1 45", "ctl2 port 45", "ctl2 6817.0 45",
        "ctl3 6817 34", "ctl3 6817 47", "ctl3 6817 -40", "ctl3 6817 40.5", "ctl3 6817 x",
        " 6817 45",  # no host
        "ctl4 6817", "ctl4 6817 45 extra", "ctl4  6817 45", "ctl4\t6817\t45", "",
        "::1 7000 38",  # good
        "10.0.0.3 6817 35",  # good: the oldest
    ]) + "\n")
    assert load(path) == {A: 45 << 8, B: 38 << 8, C: 35 << 8}


def test_save_skips_hosts_that_cannot_be_written(path):
    assert save(path, {A: 45 << 8, Address("a b", 1): 45 << 8, Address("a\nb", 1): 45 << 8,
                       Address("h\u00f4te", 1): 45 << 8}) is True
    assert load(path) == {A: 45 << 8}


# -- saving ---------------------------------------------------------------------------------

def test_saved_mode_is_0644_whatever_the_umask(path):
    old = os.umask(0o077)
    try:
        assert save(path, {A: 45 << 8}) is True
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert load(path) == {A: 45 << 8}


def test_save_replaces_a_file_writable_by_others(path):
    write(path, MAGIC + "ctl1 6817 45\n", 0o666)
    assert save(path, {B: 40 << 8}) is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert load(path) == {B: 40 << 8}


def test_unwritable_directory_returns_false_and_leaves_nothing(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        assert save(str(directory / "versions"), {A: 45 << 8}) is False
        assert remember(str(directory / "versions"), A, 45 << 8) is False
        assert os.listdir(str(directory)) == []
    finally:
        directory.chmod(0o755)


NOBODY = """
import os, sys
from _slurm.known_versions import load, remember, save
from _slurm.transport import Address
path = sys.argv[1]
print(sorted((a.host, a.port, v >> 8) for a, v in load(path).items()))
print(save(path, {Address("x", 1): 45 << 8}), remember(path, Address("y", 2), 40 << 8))
print(save(os.path.join(os.path.dirname(path), "other"), {Address("x", 1): 45 << 8}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to uid 65534")
def test_as_another_user_a_root_directory_is_unwritable_and_a_root_file_is_trusted():
    """Run as uid 65534: root's file (mode 0644) is read; saving into root's directory
    fails with False, and no temporary file is left."""
    library = readable_library()
    directory = tempfile.mkdtemp(prefix="straw-versions-", dir="/var/tmp")
    try:
        os.chmod(directory, 0o755)
        path = os.path.join(directory, "versions")
        assert save(path, {A: 45 << 8})

        def drop():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        done = subprocess.run([python_for_any_user(), "-S", "-c", NOBODY, path], cwd="/",
                              env={"PYTHONPATH": library, "PATH": "/usr/bin:/bin"}, preexec_fn=drop,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False,
                              timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["[('ctl1', 6817, 45)]", "False False", "False"]
        assert os.listdir(directory) == ["versions"]
        assert load(path) == {A: 45 << 8}
    finally:
        shutil.rmtree(library)
        shutil.rmtree(directory)


def test_failed_rename_returns_false_and_leaves_no_temporary_file(tmp_path):
    # The path is a non-empty directory: the temporary file is written, the rename fails.
    path = tmp_path / "versions"
    path.mkdir()
    (path / "keep").write_text("x")
    assert save(str(path), {A: 45 << 8}) is False
    assert sorted(os.listdir(str(tmp_path))) == ["versions"]
    assert os.listdir(str(path)) == ["keep"]


def test_a_leftover_temporary_file_does_not_block_saving_forever(tmp_path):
    path = str(tmp_path / "versions")
    # The name save() uses for its temporary file (an implementation detail, needed to
    # stage what a run killed between writing and renaming leaves behind).
    (tmp_path / (".versions.%d.tmp" % os.getpid())).write_text("half")
    assert save(path, {A: 45 << 8}) is True
    assert load(path) == {A: 45 << 8}


def test_directory_under_a_file_returns_false(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert save(str(blocker / "versions"), {A: 45 << 8}) is False
    assert remember(str(blocker / "versions"), A, 45 << 8) is False


def test_a_failed_save_keeps_the_old_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    path = str(tmp_path / "versions")
    save(path, {A: 45 << 8})
    tmp_path.chmod(0o555)
    try:
        assert save(path, {B: 38 << 8}) is False
    finally:
        tmp_path.chmod(0o755)
    assert load(path) == {A: 45 << 8}


# -- where --------------------------------------------------------------------------------

def test_default_path_beside_the_output(tmp_path):
    assert default_path(str(tmp_path)) == os.path.join(str(tmp_path), FILE_NAME)
    assert default_path("out") == os.path.join("out", ".straw-versions")


def test_default_path_without_a_directory(monkeypatch, tmp_path):
    """straw.slurm's cache: XDG_CACHE_HOME's where it is set, else root's /var/cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == str(tmp_path / "cache" / "straw-slurm" / "versions")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(known_versions.os, "geteuid", lambda: 0)
    assert default_path() == "/var/cache/straw-slurm/versions"
    assert default_path("") == "/var/cache/straw-slurm/versions"


def test_default_path_for_users(monkeypatch, tmp_path):
    monkeypatch.setattr(known_versions.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_path() == str(tmp_path / "cache" / "straw-slurm" / "versions")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == str(tmp_path / "home" / ".cache" / "straw-slurm" / "versions")
