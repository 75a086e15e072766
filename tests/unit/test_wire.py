"""wire: Slurm's packing (big-endian integers, packstr with its NUL, packmem) and the Reader
that takes fields off a received frame, every read bounds-checked and every shortfall named."""
import pytest

from _slurm.errors import ReplyError
from _slurm.wire import Reader, packmem, packstr, u8, u16, u32


def test_integers_are_big_endian():
    assert u8(7) == b"\x07" and u16(0x0102) == b"\x01\x02" and u32(0x01020304) == b"\x01\x02\x03\x04"


def test_packstr_counts_and_sends_the_nul():
    assert packstr("ab") == b"\x00\x00\x00\x03ab\x00"
    assert packstr(b"") == b"\x00\x00\x00\x01\x00"
    assert packstr(None) == b"\x00\x00\x00\x00"
    assert packmem(b"xyz") == b"\x00\x00\x00\x03xyz"


def test_the_reader_takes_what_was_packed():
    reader = Reader(u8(1) + u16(2) + u32(3) + packstr("name") + packstr(None) + b"rest", "test frame")
    assert (reader.u8("a"), reader.u16("b"), reader.u32("c")) == (1, 2, 3)
    assert reader.packstr("d") == b"name" and reader.packstr("e") is None
    assert reader.remaining == 4 and reader.position == 1 + 2 + 4 + 9 + 4
    reader.skip(4, "rest")
    assert reader.remaining == 0


@pytest.mark.parametrize("data,read,words", [
    (b"\x00", lambda r: r.u16("the port"), "the port"),
    (b"\x00\x00\x00\x09ab", lambda r: r.packstr("a file name"), "a file name"),
    (b"\x00\x00\x00\x02ab", lambda r: r.packstr("a file name"), "not NUL-terminated"),
    (b"", lambda r: r.u32("the count"), "the count"),
])
def test_a_short_or_malformed_field_is_named(data, read, words):
    with pytest.raises(ReplyError, match=words):
        read(Reader(data))


def test_packstr_view_does_not_copy():
    data = bytearray(packstr(b"x" * 1000))
    view = Reader(data).packstr_view("content")
    assert isinstance(view, memoryview) and bytes(view) == b"x" * 1000
    assert view.obj is data
