"""frames.FrameReader: Slurm's length-prefixed frames from bytes as they arrive, with no
socket in sight: any split of the input gives the same frame, the length is told before a
byte of body is allocated, and a frame of 0 bytes is complete at once."""
import os
import struct

from hypothesis import given
from hypothesis import strategies as st

from _slurm.frames import FRAME, LENGTH, NEED, FrameReader


def feed(reader, data):
    """Puts data into the reader as a socket would, allowing every length; the states seen."""
    states = []
    while data:
        space = reader.space()
        count = min(len(space), len(data))
        space[:count] = data[:count]
        data = data[count:]
        states.append(reader.received(count))
        if states[-1] == LENGTH:
            reader.allow()
    return states


def test_one_frame_in_one_piece():
    reader = FrameReader()
    states = feed(reader, struct.pack(">I", 5) + b"hello")
    assert states == [LENGTH, FRAME] and reader.take() == b"hello"
    assert not reader.started and reader.length is None


@given(st.binary(max_size=300), st.lists(st.integers(1, 7), max_size=80))
def test_any_split_gives_the_same_frame(body, cuts):
    data = struct.pack(">I", len(body)) + body
    reader = FrameReader()
    states, position = [], 0
    for cut in cuts + [len(data)]:
        piece = data[position:position + cut]
        position += len(piece)
        while piece:
            space = reader.space(len(piece))
            count = len(space)
            space[:count] = piece[:count]
            piece = piece[count:]
            states.append(reader.received(count))
            if states[-1] == LENGTH:
                reader.allow()
        if position >= len(data):
            break
    assert reader.complete and reader.take() == body
    assert states.count(LENGTH) == 1 and set(states) <= {NEED, LENGTH, FRAME}


def test_the_length_is_told_before_anything_is_allocated():
    reader = FrameReader()
    assert feed(reader, struct.pack(">I", 1 << 30)[:3]) == [NEED]
    assert reader.progress() == "3 of 4 length bytes" and reader.length is None
    space = reader.space()
    space[:1] = b"\0"
    assert reader.received(1) == LENGTH
    assert reader.length == 1 << 30 and reader.body is None and len(reader.space()) == 0


def test_progress_and_a_frame_of_no_bytes():
    reader = FrameReader()
    feed(reader, struct.pack(">I", 10) + b"abc")
    assert reader.progress() == "3 of 10 frame bytes" and not reader.complete
    empty = FrameReader()
    feed(empty, b"\0\0\0\0")
    assert empty.complete and empty.take() == b""


def test_space_is_bounded_when_asked():
    reader = FrameReader()
    feed(reader, struct.pack(">I", 1000))
    assert len(reader.space(256)) == 256 and len(reader.space()) == 1000
    data = os.urandom(1000)
    assert feed(reader, data)[-1] == FRAME and reader.take() == data
