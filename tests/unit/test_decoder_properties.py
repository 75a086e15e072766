"""Property-based tests of the reply decoder: valid replies round-trip, and no input, however
random or mutated, raises anything but the client's own errors."""
import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _slurm.errors import SlurmConfigError
from _slurm.facts import files_from_facts, files_as_facts
from _slurm.messages import ConfigReply, decode_reply
from _slurm.names import is_state_name
from fixtures.hostile import config_frame, seed_frames

SEEDS = seed_frames()

NAME = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="/\\"),
               min_size=1, max_size=40).filter(lambda n: n not in (".", "..") and not is_state_name(n))
CONTENT = st.one_of(st.none(), st.binary(max_size=300).map(lambda b: b.replace(b"\0", b"")))
FILES = st.lists(st.tuples(st.booleans(), st.booleans(), NAME, CONTENT), max_size=10,
                 unique_by=lambda f: f[2])
VERSION = st.sampled_from([37, 38, 39, 40, 41, 42, 43, 44, 45, 46]).map(lambda n: n << 8)
SPOOL = st.one_of(st.none(), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60))


@settings(deadline=None)  # correctness, not speed: a loaded CI machine must not flake
@given(VERSION, FILES, SPOOL)
def test_valid_replies_round_trip(version, files, spool):
    frame = config_frame(version, [(e, x, n.encode(), c) for e, x, n, c in files], spool)[4:]
    reply = decode_reply(frame)
    assert isinstance(reply, ConfigReply) and reply.version == version
    assert reply.spool_dir == spool
    assert [f.name for f in reply.files] == [f[2] for f in files]
    for got, (exists, execute, _name, content) in zip(reply.files, files):
        assert got.exists == exists
        assert got.executable == (execute and version >= 40 << 8)
        assert got.content == ((content or b"") if exists else None)
    # ... and through the facts the modules pass around, byte for byte.
    again = files_from_facts(files_as_facts(reply.files))
    assert [(f.name, f.content, f.exists) for f in again] == [(f.name, f.content, f.exists) for f in reply.files]


def _mutate(data, frame):
    out = bytearray(frame)
    for _step in range(data.draw(st.integers(1, 6))):
        operation = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "u32"]))
        position = data.draw(st.integers(0, max(len(out) - 1, 0)))
        if operation == "flip" and out:
            out[position] ^= 1 << data.draw(st.integers(0, 7))
        elif operation == "set" and out:
            out[position] = data.draw(st.integers(0, 255))
        elif operation == "insert":
            out[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete" and out:
            del out[position:position + data.draw(st.integers(1, 8))]
        elif operation == "truncate":
            del out[position:]
        elif operation == "u32" and len(out) >= 4:
            position = min(position, len(out) - 4)
            out[position:position + 4] = data.draw(st.sampled_from(
                [b"\xff\xff\xff\xff", b"\xff\xff\xff\xfe", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00",
                 b"\x00\x00\x10\x00"]))
    return bytes(out)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_replies_raise_only_our_errors(data):
    frame = _mutate(data, data.draw(st.sampled_from(SEEDS)))
    try:
        decode_reply(frame)
    except SlurmConfigError:
        pass


@settings(max_examples=800, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_our_errors(frame):
    try:
        decode_reply(frame)
    except SlurmConfigError:
        pass


@settings(deadline=None)
@given(st.dictionaries(st.text(max_size=20), st.dictionaries(
    st.sampled_from(["exists", "executable", "content", "content_base64", "sha256"]),
    st.one_of(st.none(), st.booleans(), st.text(max_size=30),
              st.binary(max_size=20).map(lambda b: base64.b64encode(b).decode()))), max_size=5))
def test_facts_given_back_to_the_writer_raise_only_our_errors(facts):
    try:
        files_from_facts(facts)
    except SlurmConfigError:
        pass
