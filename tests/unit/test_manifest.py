"""The manifest of what straw.slurm wrote (_slurm.manifest): a round trip, root-only and
replaced whole, every kind of untrustworthy file ignored (never an error), a failed save
leaving the old one and no temporary, and a name no controller may send."""
import hashlib
import os
import stat

import pytest

from _slurm import manifest
from _slurm.errors import ReplyError
from _slurm.writer import temporary_name
from _slurm.manifest import FILE_NAME, decode, digest, encode, load, save
from _slurm.names import check_name

RECORD = {"slurm.conf": hashlib.sha256(b"a").hexdigest(),
          "caf\u00e9 notes.conf": hashlib.sha256(b"").hexdigest(),
          "x" * 255: hashlib.sha256(b"x").hexdigest()}


def test_digest_is_sha256():
    assert digest(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert digest(memoryview(b"abc")) == hashlib.sha256(b"abc").hexdigest()


def test_round_trip_root_only(tmp_path):
    save(str(tmp_path), RECORD)
    assert load(str(tmp_path)) == RECORD
    info = os.stat(str(tmp_path / FILE_NAME))
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.geteuid()
    assert os.listdir(str(tmp_path)) == [FILE_NAME]  # no temporary left
    save(str(tmp_path), {})
    assert load(str(tmp_path)) == {}


def test_no_manifest_is_none(tmp_path):
    assert load(str(tmp_path)) is None
    assert load(str(tmp_path / "absent")) is None


@pytest.mark.parametrize("name", [FILE_NAME, temporary_name(FILE_NAME, "0123456789ab"),
                                  ".straw-versions", "..straw-versions.123.tmp"])
def test_names_no_controller_may_send(name):
    """The manifest, the remembered versions, and their temporaries."""
    with pytest.raises(ReplyError, match="own state"):
        check_name(name)


@pytest.mark.parametrize("name", ["straw-slurm-manifest", "straw.conf", ".straw.conf", "x.straw-y"])
def test_names_like_ours_that_a_controller_may_send(name):
    check_name(name)


def sealed(body):
    return body + b"end " + digest(body).encode() + b"\n"


def damaged():
    """Each way a manifest's bytes can be off, named."""
    good = encode(RECORD)
    yield "empty", b""
    yield "truncated", good[:-10]
    yield "no final newline", good[:-1]
    yield "one bit flipped", good[:20] + bytes([good[20] ^ 1]) + good[21:]
    yield "sealed for other bytes", good[:good.rindex(b"end ")] + b"end " + digest(b"x").encode() + b"\n"
    magic = b"straw-slurm-manifest 1\n"
    yield "other magic", sealed(b"straw-versions 1\n")
    yield "bad digest", sealed(magic + b"xyz a\n")
    yield "upper-case digest", sealed(magic + b"A" * 64 + b" a\n")
    yield "a name that escapes", sealed(magic + b"a" * 64 + b" ../etc/passwd\n")
    yield "a name twice", sealed(magic + b"a" * 64 + b" a\n" + b"b" * 64 + b" a\n")
    yield "not UTF-8", sealed(magic + b"a" * 64 + b" caf\xe9\n")


@pytest.mark.parametrize("case, data", list(damaged()))
def test_damaged_manifests_are_ignored(tmp_path, case, data):
    assert decode(data) is None, case
    path = tmp_path / FILE_NAME
    path.write_bytes(data)
    os.chmod(str(path), 0o600)
    assert load(str(tmp_path)) is None, case


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o666])
def test_a_manifest_open_to_others_is_ignored(tmp_path, mode):
    save(str(tmp_path), RECORD)
    os.chmod(str(tmp_path / FILE_NAME), mode)
    assert load(str(tmp_path)) is None


def test_a_symlink_or_directory_is_ignored(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    save(str(real), RECORD)
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(str(real / FILE_NAME), str(other / FILE_NAME))
    assert load(str(other)) is None
    (tmp_path / "third" / FILE_NAME).mkdir(parents=True)
    assert load(str(tmp_path / "third")) is None


def test_a_foreign_manifest_is_ignored(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    save(str(tmp_path), RECORD)
    os.chown(str(tmp_path / FILE_NAME), 65534, 65534)
    assert load(str(tmp_path)) is None


def test_a_huge_manifest_is_ignored(tmp_path, monkeypatch):
    save(str(tmp_path), RECORD)
    monkeypatch.setattr(manifest, "_MAX_BYTES", 100)
    assert load(str(tmp_path)) is None


def test_a_failed_save_keeps_the_old_one_and_leaves_no_temporary(tmp_path, monkeypatch):
    save(str(tmp_path), RECORD)

    def no_space(*_args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(manifest.os, "fsync", no_space)
    with pytest.raises(OSError):
        save(str(tmp_path), {"other.conf": digest(b"")})
    assert load(str(tmp_path)) == RECORD
    assert os.listdir(str(tmp_path)) == [FILE_NAME]


def test_a_read_only_directory_fails_the_save_with_oserror(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only directory")
    os.chmod(str(tmp_path), 0o500)
    try:
        with pytest.raises(OSError):
            save(str(tmp_path), RECORD)
    finally:
        os.chmod(str(tmp_path), 0o700)
