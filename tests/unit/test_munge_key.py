"""MUNGE credentials from the key alone: credentials a real munged made (data/munge, recorded by
make_vectors.sh) decode to what unmunge reported; ours decode in a real unmunge when munge is
installed; every kind of damage is refused with its reason; the key file is checked as munged
checks it; and the pure-Python AES meets the FIPS-197 and SP 800-38A vectors."""
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from _slurm.auth import aes
from _slurm.auth import munge_key as mk
from fixtures.unprivileged import readable_library
from _slurm.errors import ReplyError, RequestError

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "munge")
# The test key, in base64: a binary file in the tree trips ansible-test's text checks.
with open(os.path.join(DATA, "munge.key.b64"), "rb") as _handle:
    KEY = base64.b64decode(_handle.read())
with open(os.path.join(DATA, "vectors.json")) as _handle:
    VECTORS = {v["name"]: v for v in json.load(_handle)["vectors"]}
OTHER_KEY = bytes([KEY[0] ^ 1]) + KEY[1:]
BODY_HASH = b"\x02" + hashlib.sha256(b"REQUEST_CONFIG body").digest()
UNSUPPORTED = ("blowfish", "cast5")


def vector(name):
    return VECTORS[name]


def decode_vector(v, **kwargs):
    return mk.decode(KEY, v["credential"], now=kwargs.pop("now", v["encode_time"]), **kwargs)


def tamper(credential, index, mask=0x01):
    """The credential with one byte of its binary form flipped (index from the start)."""
    raw = bytearray(base64.b64decode(credential[len("MUNGE:"):-1]))
    raw[index] ^= mask
    return "MUNGE:" + base64.b64encode(bytes(raw)).decode() + ":"


def rearmor(raw):
    return "MUNGE:" + base64.b64encode(raw).decode() + ":"


def binary(credential):
    return base64.b64decode(credential[len("MUNGE:"):-1])


# --- credentials a real munged made --------------------------------------------------------

DECODABLE = sorted(name for name in VECTORS if name not in UNSUPPORTED)


@pytest.mark.parametrize("name", DECODABLE)
def test_real_vector_decodes_to_what_unmunge_reported(name):
    v = vector(name)
    try:
        hashlib.new(mk.MAC_NAMES[v["mac"]])
    except ValueError:
        pytest.skip("this Python's hashlib has no %s" % mk.MAC_NAMES[v["mac"]])
    decoded = decode_vector(v)
    assert decoded == mk.Decoded(
        cipher=v["cipher"], mac=v["mac"], zip=v["zip"], realm=None,
        addr=socket.inet_aton(v["addr"]), encode_time=v["encode_time"], ttl=v["ttl"],
        uid=v["uid"], gid=v["gid"], restrict_uid=v["restrict_uid"],
        restrict_gid=v["restrict_gid"], payload=bytes.fromhex(v["payload_hex"]))


def test_vectors_cover_what_the_brief_asks():
    seen = {(v["cipher"], v["mac"], v["zip"]) for v in VECTORS.values()}
    assert {(4, 5, 0), (5, 5, 0), (0, 5, 0), (4, 3, 0), (4, 6, 0), (4, 5, 3)} <= seen
    assert vector("restricted_uid")["restrict_uid"] == 1000
    assert vector("other_user")["uid"] == 1234 and vector("other_user")["gid"] == 5678
    push = vector("slurm_push")
    assert bytes.fromhex(push["payload_hex"]) == BODY_HASH and push["restrict_uid"] == 64030


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_blowfish_and_cast5_are_refused_by_name(name):
    with pytest.raises(ReplyError, match="cipher %s is not supported" % name) as info:
        decode_vector(vector(name))
    assert info.value.code == mk.EMUNGE_BAD_CIPHER


def respellings(credential):
    """The same credential in other spellings that lenient decoders (munged's own) accept."""
    body = credential[len("MUNGE:"):-1]
    yield "  \n" + credential + "\n\0"
    yield credential + "\0"
    yield "MUNGE:" + body[:10] + "\n" + body[10:] + ":"
    yield "MUNGE:" + body + "==:"
    yield "MUNGE:" + body.rstrip("=") + ":" if body.endswith("=") else "MUNGE:" + body + "=:"
    yield "MUNGE:" + body + "*:"


def test_only_the_canonical_spelling_decodes():
    v = vector("default_aes128")
    assert mk.decode(KEY, v["credential"], now=v["encode_time"]).uid == 0
    identity = mk.identity(v["credential"])
    for text in respellings(v["credential"]):
        for given in (text, text.encode()):
            with pytest.raises(mk.CredentialError, match="MUNGE:|canonical|base64|':'"):
                mk.decode(KEY, given, now=v["encode_time"])
            with pytest.raises(mk.CredentialError):
                mk.identity(given)
    assert identity == mk.identity(v["credential"].encode())


def test_unused_bits_make_another_spelling():
    """base64 of a length that is not a multiple of 3 has low bits no byte uses: setting them
    spells the same bytes differently. Refused."""
    for length in (1, 2, 4, 5):
        text = base64.b64encode(bytes(length)).decode()
        last = text.rstrip("=")[-1]
        other = text.rstrip("=")[:-1] + chr(ord(last) + 1) + "=" * text.count("=")
        assert base64.b64decode(other) == bytes(length)
        with pytest.raises(mk.CredentialError, match="canonical"):
            mk.decode(KEY, "MUNGE:" + other + ":")


def test_decoding_a_push_sized_credential_is_fast():
    v = vector("slurm_push")  # AES-128, SHA-256, 33-byte payload: what a controller sends
    timings = []
    for _unused in range(20):
        start = time.perf_counter()
        decode_vector(v)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.005


# --- time window (munged's defaults: skew allowed up to the ttl) ------------------------------

@pytest.mark.parametrize("name", ["default_aes128", "ttl_60"])
def test_time_window_edges(name):
    v = vector(name)
    stamp, ttl = v["encode_time"], v["ttl"]
    assert decode_vector(v, now=stamp + ttl).ttl == ttl
    assert decode_vector(v, now=stamp - ttl).ttl == ttl
    with pytest.raises(ReplyError, match="expired 1 s ago") as info:
        decode_vector(v, now=stamp + ttl + 1)
    assert info.value.code == mk.EMUNGE_CRED_EXPIRED
    with pytest.raises(ReplyError, match="rewound") as info:
        decode_vector(v, now=stamp - ttl - 1)
    assert info.value.code == mk.EMUNGE_CRED_REWOUND


def test_ttl_is_capped_at_munged_maximum():
    credential = mk.encode(KEY, b"x", 0, 0, ttl=100000, now=1000000)
    decoded = mk.decode(KEY, credential, now=1000000)
    assert decoded.ttl == mk.MAXIMUM_TTL
    with pytest.raises(ReplyError, match="expired"):
        mk.decode(KEY, credential, now=1000000 + mk.MAXIMUM_TTL + 1)


def test_default_now_is_the_clock():
    assert mk.decode(KEY, mk.encode(KEY, b"now", 1, 2)).payload == b"now"
    with pytest.raises(ReplyError, match="expired"):
        mk.decode(KEY, mk.encode(KEY, b"old", 1, 2, now=int(time.time()) - 1000))


# --- damage ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default_aes128", "aes256", "cipher_none", "zlib", "mac_sha512"])
def test_wrong_key_is_a_bad_mac(name):
    with pytest.raises(ReplyError, match=r"bad MAC \(made with another key, or altered\)") as info:
        mk.decode(OTHER_KEY, vector(name)["credential"], now=vector(name)["encode_time"])
    assert info.value.code == mk.EMUNGE_CRED_INVALID


def _mac_offset(v):
    return 5 + (16 if v["cipher"] else 0)  # version, cipher, mac, zip, realm_len(0), IV


@pytest.mark.parametrize("name", ["default_aes128", "cipher_none", "zlib", "slurm_body_hash"])
@pytest.mark.parametrize("where", ["mac", "body", "last", "iv_or_zip"])
def test_flipped_byte_is_a_bad_mac(name, where):
    v = vector(name)
    raw_len = len(binary(v["credential"]))
    index = {"mac": _mac_offset(v) + 3, "body": _mac_offset(v) + 40, "last": raw_len - 1,
             "iv_or_zip": 5 if v["cipher"] else 3}[where]
    mask = 0x01
    if where == "iv_or_zip" and not v["cipher"]:  # the zip byte: another valid type (0 <-> 3)
        mask = 0x03
    damaged = tamper(v["credential"], index, mask)
    with pytest.raises(ReplyError, match="bad MAC"):
        mk.decode(KEY, damaged, now=v["encode_time"])


def test_every_single_bit_flip_is_refused():
    v = vector("slurm_push")
    raw = binary(v["credential"])
    for index in range(len(raw)):
        with pytest.raises(ReplyError):
            mk.decode(KEY, tamper(v["credential"], index, 0x80), now=v["encode_time"])


@pytest.mark.parametrize("index, mask, message", [
    (0, 0x01, "unknown credential version 2"),
    (1, 0x40, "unknown cipher type 68"),
    (2, 0x40, "unknown MAC type 69"),
    (3, 0x40, "unknown compression type 64"),
    (4, 0xFF, "truncated at the realm"),
])
def test_header_damage_is_named(index, mask, message):
    v = vector("default_aes128")
    with pytest.raises(ReplyError, match=message):
        mk.decode(KEY, tamper(v["credential"], index, mask), now=v["encode_time"])


def test_mac_too_short_for_the_cipher():
    raw = bytearray(binary(vector("aes256")["credential"]))
    raw[2] = mk.MAC_SHA1  # 20 bytes cannot key AES-256: munged refuses the pair
    with pytest.raises(ReplyError, match="MAC sha1 is too short for cipher aes256"):
        mk.decode(KEY, rearmor(bytes(raw)), now=0)


@pytest.mark.parametrize("keep, message", [
    (0, "truncated at the version"), (1, "truncated at the cipher type"),
    (4, "truncated at the realm length"), (10, "truncated at the cipher IV"),
    (30, "truncated at the MAC"),
])
def test_truncated_binary(keep, message):
    v = vector("default_aes128")
    with pytest.raises(ReplyError, match=message) as info:
        mk.decode(KEY, rearmor(binary(v["credential"])[:keep]), now=v["encode_time"])
    assert info.value.code == mk.EMUNGE_BAD_CRED


def test_truncated_inner_part():
    v = vector("cipher_none")
    raw = binary(v["credential"])
    with pytest.raises(ReplyError, match="bad MAC"):  # the MAC covers the inner part
        mk.decode(KEY, rearmor(raw[:-5]), now=v["encode_time"])
    with pytest.raises(ReplyError, match="not a whole number of AES blocks|bad MAC"):
        mk.decode(KEY, rearmor(binary(vector("aes256")["credential"])[:-5]), now=0)


def test_truncated_text():
    v = vector("default_aes128")
    with pytest.raises(ReplyError, match=r"does not end with ':' \(truncated\?\)"):
        mk.decode(KEY, v["credential"][:60], now=v["encode_time"])
    with pytest.raises(ReplyError, match="does not end with"):
        mk.decode(KEY, "MUNGE:", now=0)


@pytest.mark.parametrize("text, message", [
    ("", "does not start with MUNGE:"),
    ("   ", "does not start with MUNGE:"),
    ("eyJhbGciOiJIUzI1NiJ9.e30.x", "does not start with MUNGE:"),
    ("MUNGE:@@@@:", "not valid base64"),
    ("MUNGE:abc:", "not valid base64"),
    ("MUNGE:AwQF*AAA:", "not valid base64"),
    ("MUNGE:é:", "not ASCII"),
    ("MUNGE::", "truncated at the version"),
])
def test_malformed_text(text, message):
    with pytest.raises(ReplyError, match=message):
        mk.decode(KEY, text, now=0)


def test_oversized_credential_is_refused_before_decoding():
    huge = "MUNGE:" + "A" * mk.MAX_TEXT + ":"
    start = time.perf_counter()
    with pytest.raises(ReplyError, match="longer than any credential munged makes") as info:
        mk.decode(KEY, huge, now=0)
    assert time.perf_counter() - start < 0.05
    assert info.value.code == mk.EMUNGE_BAD_LENGTH


def test_largest_payload_round_trips_and_one_more_byte_is_refused():
    payload = os.urandom(mk.MAXIMUM_PAYLOAD)
    credential = mk.encode(KEY, payload, 0, 0, now=5)
    assert len(credential) <= mk.MAX_TEXT
    assert mk.decode(KEY, credential, now=5).payload == payload
    with pytest.raises(RequestError, match="at most 1048576 bytes"):
        mk.encode(KEY, payload + b"x", 0, 0)


def test_inner_length_lies_are_caught():
    """A credential signed with the right key but whose inner fields are inconsistent: the
    MAC passes, the unpacking must still refuse it (only a key holder can make these)."""
    def forged(inner, zip_type=mk.ZIP_NONE):
        outer = bytes([3, 0, mk.MAC_SHA256, zip_type, 0])
        import hmac as _hmac
        tag = _hmac.new(hashlib.sha1(KEY + b"2").digest(), outer + inner, "sha256").digest()
        return rearmor(outer + tag + inner)

    head = bytes(8) + b"\x04\x7f\x00\x00\x01"
    fields = (5).to_bytes(4, "big") + (300).to_bytes(4, "big") + bytes(16)
    with pytest.raises(ReplyError, match="truncated at the payload"):
        mk.decode(KEY, forged(head + fields + (10).to_bytes(4, "big") + b"abc"), now=5)
    with pytest.raises(ReplyError, match="3 bytes after the payload"):
        mk.decode(KEY, forged(head + fields + (0).to_bytes(4, "big") + b"abc"), now=5)
    with pytest.raises(ReplyError, match="payload of 4294967295 bytes"):
        mk.decode(KEY, forged(head + fields + (0xFFFFFFFF).to_bytes(4, "big")), now=5)
    with pytest.raises(ReplyError, match="origin address of 3 bytes"):
        mk.decode(KEY, forged(bytes(8) + b"\x03\x7f\x00\x00" + fields + bytes(4)), now=5)
    with pytest.raises(ReplyError, match="truncated at the inner header"):
        mk.decode(KEY, forged(head + fields[:5]), now=5)
    import zlib
    bomb = zlib.compress(bytes(50 << 20))
    with pytest.raises(ReplyError, match="compressed part claims"):
        mk.decode(KEY, forged(b"\xca\xca\xca\xca" + (50 << 20).to_bytes(4, "big") + bomb, mk.ZIP_ZLIB), now=5)
    with pytest.raises(ReplyError, match="does not hold the 100 bytes it claims"):
        mk.decode(KEY, forged(b"\xca\xca\xca\xca" + (100).to_bytes(4, "big") + bomb, mk.ZIP_ZLIB), now=5)
    with pytest.raises(ReplyError, match="no zip header"):
        mk.decode(KEY, forged(bytes(8) + bomb, mk.ZIP_ZLIB), now=5)
    with pytest.raises(ReplyError, match="cannot decompress"):
        mk.decode(KEY, forged(b"\xca\xca\xca\xca" + (10).to_bytes(4, "big") + b"garbage!", mk.ZIP_BZLIB), now=5)


# --- our encoder ----------------------------------------------------------------------------

COMBINATIONS = [(c, m, z) for c in (mk.CIPHER_NONE, mk.CIPHER_AES128, mk.CIPHER_AES256)
                for m in (mk.MAC_MD5, mk.MAC_SHA1, mk.MAC_SHA256, mk.MAC_SHA512)
                for z in (mk.ZIP_NONE, mk.ZIP_ZLIB, mk.ZIP_BZLIB)
                if not (c == mk.CIPHER_AES256 and m in (mk.MAC_MD5, mk.MAC_SHA1))]


@pytest.mark.parametrize("cipher, mac, zip_type", COMBINATIONS)
@pytest.mark.parametrize("payload", [b"", BODY_HASH, b"compress me " * 50])
def test_round_trip(cipher, mac, zip_type, payload):
    credential = mk.encode(KEY, payload, 1234, 5678, ttl=60, restrict_uid=64030, restrict_gid=7,
                           now=1700000000, addr=b"\x0a\x01\x02\x03", cipher=cipher, mac=mac, zip=zip_type)
    decoded = mk.decode(KEY, credential, now=1700000000)
    compressed = zip_type if payload == b"compress me " * 50 else mk.ZIP_NONE  # kept only if smaller
    assert decoded == mk.Decoded(cipher, mac, compressed, None, b"\x0a\x01\x02\x03", 1700000000, 60,
                                 1234, 5678, 64030, 7, payload)


def test_encode_defaults():
    credential = mk.encode(KEY, BODY_HASH, 0, 0, now=42)
    assert credential.startswith("MUNGE:") and credential.endswith(":") and credential.isascii()
    decoded = mk.decode(KEY, credential, now=42)
    assert (decoded.cipher, decoded.mac, decoded.zip) == (mk.CIPHER_NONE, mk.MAC_SHA256, mk.ZIP_NONE)
    assert (decoded.ttl, decoded.addr) == (300, b"\x7f\x00\x00\x01")
    assert (decoded.restrict_uid, decoded.restrict_gid) == (mk.ANY, mk.ANY)
    assert mk.decode(KEY, mk.encode(KEY, b"", 0, 0, ttl=0, now=42), now=42).ttl == mk.DEFAULT_TTL


def test_each_credential_has_a_fresh_salt():
    first = mk.encode(KEY, b"same", 1, 1, now=7)
    second = mk.encode(KEY, b"same", 1, 1, now=7)
    assert first != second
    assert binary(first)[5 + 32:5 + 32 + 8] != binary(second)[5 + 32:5 + 32 + 8]


def test_realm_round_trips():
    credential = mk.encode(KEY, b"r", 1, 1, now=7, realm="cluster")
    assert mk.decode(KEY, credential, now=7).realm == "cluster"
    with pytest.raises(RequestError, match="realm"):
        mk.encode(KEY, b"r", 1, 1, realm="x" * 255)


@pytest.mark.parametrize("kwargs, message", [
    (dict(uid=-1), "uid must fit in 32 bits"),
    (dict(gid=1 << 32), "gid must fit in 32 bits"),
    (dict(addr=b"\x00" * 16), "origin address is 4 bytes"),
    (dict(cipher=mk.CIPHER_BLOWFISH), "cannot encode with cipher blowfish"),
    (dict(cipher=mk.CIPHER_AES256, mac=mk.MAC_SHA1), "MAC sha1 is too short"),
    (dict(mac=1), "unknown MAC type 1"),
    (dict(zip=9), "unknown MUNGE compression type 9"),
])
def test_encode_refuses_bad_arguments(kwargs, message):
    args = dict(uid=0, gid=0)
    args.update(kwargs)
    with pytest.raises(RequestError, match=message):
        mk.encode(KEY, b"p", **args)


def test_short_key_is_refused_by_encode_and_decode():
    with pytest.raises(RequestError, match="31 bytes; munged needs at least 32"):
        mk.encode(KEY[:31], b"p", 0, 0)
    with pytest.raises(RequestError, match="at least 32"):
        mk.decode(KEY[:31], vector("default_aes128")["credential"])


def test_no_key_material_in_messages_or_reprs():
    marker = b"TOPSECRETKEYMATERIAL" * 4
    secrets = (marker.decode(), marker.hex(), base64.b64encode(marker).decode())
    messages = [repr(aes.AES(marker[:32]))]
    for call in (lambda: mk.decode(marker, vector("default_aes128")["credential"], now=0),
                 lambda: mk.decode(marker[:20], "MUNGE::"),
                 lambda: mk.encode(marker, b"", -1, 0)):
        with pytest.raises((ReplyError, RequestError)) as info:
            call()
        messages.append(str(info.value))
    assert all(secret not in message for secret in secrets for message in messages)


def test_property_round_trip():
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(payload=st.binary(max_size=300), uid=st.integers(0, 0xFFFFFFFF),
                      gid=st.integers(0, 0xFFFFFFFF), now=st.integers(3600, 0xFFFFFFFF - 3600),
                      cipher=st.sampled_from([0, 4, 5]), zip_type=st.sampled_from([0, 2, 3]))
    def check(payload, uid, gid, now, cipher, zip_type):
        credential = mk.encode(KEY, payload, uid, gid, now=now, cipher=cipher, zip=zip_type)
        decoded = mk.decode(KEY, credential, now=now)
        assert (decoded.payload, decoded.uid, decoded.gid, decoded.encode_time) == (payload, uid, gid, now)

    check()


# --- against a real munged (skipped without munge installed) ---------------------------------

@pytest.fixture(scope="module")
def munged(tmp_path_factory):
    """A private munged with the test key, in the foreground on a socket of its own."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    binaries = [shutil.which(name, path=search) for name in ("munged", "munge", "unmunge")]
    if not all(binaries):
        pytest.skip("munge is not installed")
    work = tmp_path_factory.mktemp("munged")
    os.chmod(str(work), 0o755)
    key = work / "munge.key"
    key.write_bytes(KEY)
    key.chmod(0o400)
    sock = str(work / "sock")
    process = subprocess.Popen(
        [binaries[0], "--foreground", "--force", "--key-file=%s" % key, "--socket=%s" % sock,
         "--pid-file=%s" % (work / "pid"), "--log-file=%s" % (work / "log"),
         "--seed-file=%s" % (work / "seed")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not os.path.exists(sock):
        process.kill()
        _out, err = process.communicate()
        pytest.skip("munged did not start: %s" % err.decode(errors="replace")[-300:])
    try:
        yield dict(munge=binaries[1], unmunge=binaries[2], socket=sock)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def unmunge(munged, credential):
    """What the real unmunge says about credential: its exit status (munge's error number),
    metadata as a dict, and the payload."""
    result = subprocess.run([munged["unmunge"], "-S", munged["socket"], "-N", "-m", "/dev/stderr"],
                            input=credential.encode(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=10, check=False)
    meta = {}
    for line in result.stderr.decode().splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            meta[name.strip()] = value.strip()
    return result.returncode, meta, result.stdout


@pytest.mark.parametrize("cipher, mac, zip_type", [
    (mk.CIPHER_NONE, mk.MAC_SHA256, mk.ZIP_NONE), (mk.CIPHER_AES128, mk.MAC_SHA256, mk.ZIP_NONE),
    (mk.CIPHER_AES256, mk.MAC_SHA512, mk.ZIP_ZLIB), (mk.CIPHER_AES128, mk.MAC_SHA1, mk.ZIP_BZLIB),
    (mk.CIPHER_NONE, mk.MAC_MD5, mk.ZIP_ZLIB),
])
def test_real_unmunge_accepts_ours(munged, cipher, mac, zip_type):
    payload = BODY_HASH + b" compressible" * 20
    credential = mk.encode(KEY, payload, 4321, 8765, restrict_uid=os.geteuid(), cipher=cipher, mac=mac,
                           zip=zip_type, realm="straw")
    status, meta, out = unmunge(munged, credential)
    assert status == 0 and meta["STATUS"] == "0", meta
    assert (meta["UID"], meta["GID"], meta["UID_RESTRICTION"]) == ("4321", "8765", str(os.geteuid()))
    assert (meta["CIPHER"], meta["MAC"], meta["ZIP"]) == (str(cipher), str(mac), str(zip_type))
    assert out == payload


def test_real_unmunge_refuses_ours_with_another_key(munged):
    status, meta, out = unmunge(munged, mk.encode(OTHER_KEY, b"x", 0, 0))
    assert status == mk.EMUNGE_CRED_INVALID and "STATUS" not in meta and out == b""


def test_fresh_credentials_from_munged_decode_now(munged):
    for options in ([], ["-c", "aes256", "-m", "sha512"], ["-z", "zlib"]):
        made = subprocess.run([munged["munge"], "-S", munged["socket"], "-s", "live payload" * 10] + options,
                              stdout=subprocess.PIPE, timeout=10, check=True).stdout.decode()
        made = made.rstrip("\n")  # the command ends its line; the credential is what precedes
        decoded = mk.decode(KEY, made)  # now = the clock
        assert decoded.payload == b"live payload" * 10
        assert decoded.uid == os.geteuid()


# --- the key file ---------------------------------------------------------------------------

def write_key(path, mode, content=KEY):
    path.write_bytes(content)
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize("mode", [0o400, 0o600, 0o700])
def test_private_key_is_loaded(tmp_path, mode):
    assert mk.load_key(write_key(tmp_path / "munge.key", mode)) == KEY


@pytest.mark.parametrize("mode, who", [
    (0o644, "group"), (0o640, "group"), (0o620, "group"), (0o604, "others"), (0o602, "others"),
    (0o444, "group"),
])
def test_key_readable_by_others_is_refused(tmp_path, mode, who):
    with pytest.raises(RequestError, match="readable or writable by %s \\(mode 0%o\\)" % (who, mode)):
        mk.load_key(write_key(tmp_path / "munge.key", mode))


def test_symlink_to_private_key_is_followed(tmp_path):
    target = write_key(tmp_path / "real.key", 0o400)
    link = tmp_path / "munge.key"
    link.symlink_to(target)
    second = tmp_path / "link-to-link"
    second.symlink_to(link)
    assert mk.load_key(str(link)) == KEY
    assert mk.load_key(str(second)) == KEY


def test_symlink_to_exposed_key_is_refused(tmp_path):
    target = write_key(tmp_path / "real.key", 0o644)
    link = tmp_path / "munge.key"
    link.symlink_to(target)
    with pytest.raises(RequestError, match="readable or writable by group"):
        mk.load_key(str(link))


def test_kubernetes_style_secret_mount(tmp_path):
    """..data -> ..2026_12_01/ ; munge.key -> ..data/munge.key, the file itself 0400."""
    version = tmp_path / "..2026_12_01"
    version.mkdir()
    write_key(version / "munge.key", 0o400)
    (tmp_path / "..data").symlink_to(version.name)
    (tmp_path / "munge.key").symlink_to("..data/munge.key")
    assert mk.load_key(str(tmp_path / "munge.key")) == KEY


def test_short_and_huge_keys(tmp_path):
    with pytest.raises(RequestError, match="is 31 bytes; munged needs at least 32"):
        mk.load_key(write_key(tmp_path / "short", 0o400, KEY[:31]))
    assert mk.load_key(write_key(tmp_path / "exact", 0o400, KEY[:32])) == KEY[:32]
    with pytest.raises(RequestError, match="is 0 bytes"):
        mk.load_key(write_key(tmp_path / "empty", 0o400, b""))
    with pytest.raises(RequestError, match="larger than 1048576 bytes"):
        mk.load_key(write_key(tmp_path / "huge", 0o400, bytes(mk.KEY_MAX_BYTES + 1)))


def test_not_a_regular_file(tmp_path):
    directory = tmp_path / "munge.key"
    directory.mkdir(mode=0o700)
    with pytest.raises(RequestError, match="is not a regular file"):
        mk.load_key(str(directory))
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo), 0o600)
    with pytest.raises(RequestError, match="is not a regular file"):  # and does not hang
        mk.load_key(str(fifo))
    with pytest.raises(RequestError, match="is not a regular file"):
        mk.load_key("/dev/null")


def test_missing_dangling_and_unreadable(tmp_path):
    with pytest.raises(RequestError, match="cannot read the MUNGE key .*No such file"):
        mk.load_key(str(tmp_path / "absent"))
    (tmp_path / "dangling").symlink_to(tmp_path / "absent")
    with pytest.raises(RequestError, match="cannot read the MUNGE key .*dangling"):
        mk.load_key(str(tmp_path / "dangling"))


def test_unreadable_key(tmp_path):
    if os.geteuid() != 0:
        with pytest.raises(RequestError, match="cannot read the MUNGE key .*Permission denied"):
            mk.load_key(write_key(tmp_path / "locked", 0o000))
        return
    # Root reads anything: ask as nobody, in a real process, for root's 0400 key.
    python, setpriv = "/usr/bin/python3", shutil.which("setpriv")
    if not (setpriv and os.path.exists(python)):
        pytest.skip("needs setpriv and /usr/bin/python3 to test as another user")
    work = tempfile.mkdtemp()
    library = readable_library()  # nobody may not read the checkout (a clone under /root)
    try:
        os.chmod(work, 0o755)
        key = os.path.join(work, "munge.key")
        with open(key, "wb") as handle:
            handle.write(KEY)
        os.chmod(key, 0o400)
        script = ("import sys; sys.path.insert(0, %r)\n"
                  "from _slurm.auth.munge_key import load_key\n"
                  "from _slurm.errors import RequestError\n"
                  "try:\n    load_key(%r)\nexcept RequestError as exc:\n    print(exc)\n"
                  % (os.path.abspath(library), key))
        result = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                 python, "-c", script], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=30, check=False)
    finally:
        shutil.rmtree(work)
        shutil.rmtree(library)
    assert result.stdout.decode().strip() == "cannot read the MUNGE key %s: Permission denied" % key


def test_key_errors_never_show_the_key(tmp_path):
    secret = b"TOPSECRET" * 8
    for mode in (0o644, 0o604):
        with pytest.raises(RequestError) as info:
            mk.load_key(write_key(tmp_path / ("k%o" % mode), mode, secret))
        assert "TOPSECRET" not in str(info.value) and secret.hex() not in str(info.value)


# --- AES (FIPS-197 appendix C, SP 800-38A F.2) ---------------------------------------------

FIPS_PLAIN = bytes.fromhex("00112233445566778899aabbccddeeff")


@pytest.mark.parametrize("key, cipher", [
    ("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"),
    ("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"),
    ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "8ea2b7ca516745bfeafc49904b496089"),
])
def test_fips197_blocks(key, cipher):
    engine = aes.AES(bytes.fromhex(key))
    assert engine.encrypt_block(FIPS_PLAIN).hex() == cipher
    assert engine.decrypt_block(bytes.fromhex(cipher)) == FIPS_PLAIN


SP800_IV = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
SP800_PLAIN = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710")


@pytest.mark.parametrize("key, cipher", [
    ("2b7e151628aed2a6abf7158809cf4f3c",
     "7649abac8119b246cee98e9b12e9197d" + "5086cb9b507219ee95db113a917678b2"
     "73bed6b8e3c1743b7116e69e22229516" + "3ff1caa1681fac09120eca307586e1a7"),
    ("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
     "4f021db243bc633d7178183a9fa071e8" + "b4d9ada9ad7dedf4e5e738763f69145a"
     "571b242012fb7ae07fa9baac3df102e0" + "08b0e27988598881d920a9e64f5615cd"),
    ("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
     "f58c4c04d6e5f1ba779eabfb5f7bfbd6" + "9cfc4e967edb808d679f777bc6702c7d"
     "39f23369a9d9bacfa530e26304231461" + "b2eb05e2c39be9fcda6c19078c6a9d1b"),
])
def test_sp800_38a_cbc(key, cipher):
    assert aes.cbc_encrypt(bytes.fromhex(key), SP800_IV, SP800_PLAIN).hex() == cipher
    assert aes.cbc_decrypt(bytes.fromhex(key), SP800_IV, bytes.fromhex(cipher)) == SP800_PLAIN


def test_against_an_independent_implementation():
    modes = pytest.importorskip("Crypto.Cipher.AES")
    for size in (16, 32):
        for length in (0, 1, 15, 16, 17, 100, 1000):
            key, iv, data = os.urandom(size), os.urandom(16), os.urandom(length)
            ours = aes.cbc_encrypt(key, iv, aes.pad(data))
            assert ours == modes.new(key, modes.MODE_CBC, iv).encrypt(aes.pad(data))
            assert aes.unpad(aes.cbc_decrypt(key, iv, ours)) == data


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 31, 32, 100])
def test_pad_unpad(length):
    data = os.urandom(length)
    padded = aes.pad(data)
    assert len(padded) % 16 == 0 and 1 <= len(padded) - length <= 16
    assert aes.unpad(padded) == data


@pytest.mark.parametrize("padded", [
    b"", bytes(16), b"x" * 15 + b"\x11", b"x" * 14 + b"\x01\x02", b"x" * 17, b"x" * 12 + b"\x03\x04\x04\x04",
])
def test_bad_padding_is_a_reply_error(padded):
    with pytest.raises(ReplyError, match="bad padding"):
        aes.unpad(padded)


def test_aes_argument_checks():
    with pytest.raises(RequestError, match="16, 24 or 32 bytes, not 20"):
        aes.AES(bytes(20))
    with pytest.raises(RequestError, match="16 bytes, not 15"):
        aes.AES(bytes(16)).decrypt_block(bytes(15))
    with pytest.raises(RequestError, match="IV is 16 bytes"):
        aes.cbc_decrypt(bytes(16), bytes(8), bytes(16))
    with pytest.raises(ReplyError, match="not a whole number of AES blocks"):
        aes.cbc_decrypt(bytes(16), bytes(16), bytes(20))
    with pytest.raises(RequestError, match="not a whole number of blocks"):
        aes.cbc_encrypt(bytes(16), bytes(16), bytes(20))
    assert repr(aes.AES(b"K" * 16)) == "AES(<key hidden>, rounds=10)"
