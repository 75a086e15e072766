"""The writer's temporary names (_slurm.files): every name check_name accepts, up to 255 bytes
and in any script, can be written, because its temporary stays within the file system's limit."""
import os

import pytest

from _slurm import writer
from _slurm.writer import apply, plan, temporary_name
from _slurm.messages import ConfigFile
from _slurm.names import MAX_NAME, check_name

LONG_NAMES = [
    "a" * MAX_NAME,                          # ASCII, the longest accepted
    "\u00e9" * 127 + "a",                    # two bytes a character: 255 bytes
    "ab" + "\u20ac" * 84 + "c",              # three bytes a character, cut inside one
    "\U0001f600" * 63 + "abc",               # four bytes a character
]


@pytest.mark.parametrize("name", LONG_NAMES)
def test_temporary_names_fit_for_the_longest_names(name):
    check_name(name)  # accepted, so it must be writable
    assert len(os.fsencode(name)) == MAX_NAME
    temporary = temporary_name(name, "0123456789ab")
    assert len(os.fsencode(temporary)) <= MAX_NAME
    assert temporary.startswith(".") and temporary.endswith(".0123456789ab.new")
    assert name.startswith(temporary[1:-len(".0123456789ab.new")])  # cut at a character
    temporary.encode("utf-8")  # no half character left behind


def test_short_names_keep_the_whole_name_in_the_temporary():
    assert temporary_name("slurm.conf", "0123456789ab") == ".slurm.conf.0123456789ab.new"


@pytest.mark.parametrize("name", LONG_NAMES)
def test_a_255_byte_name_is_written_and_leaves_no_temporary(tmp_path, name):
    directory = str(tmp_path)
    apply(directory, plan(directory, [ConfigFile(name, b"first\n", True, False)]))
    apply(directory, plan(directory, [ConfigFile(name, b"second\n", True, False)]))
    assert os.listdir(directory) == [name]
    with open(os.path.join(directory, name), "rb") as handle:
        assert handle.read() == b"second\n"


def test_the_temporary_is_created_exclusively_with_mode_0600(tmp_path):
    fd, path = writer.create_temporary(str(tmp_path), "x" * MAX_NAME)
    os.close(fd)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert len(os.path.basename(path).encode()) <= MAX_NAME
