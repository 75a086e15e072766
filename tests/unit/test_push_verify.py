"""Pushed configurations (REQUEST_RECONFIGURE_SACKD) and their proof: messages.decode_push and
push_files, and auth.verify's PushVerifier with MUNGE credentials made from a key and
auth/slurm tokens made with PyJWT. A push is believed only when SlurmUser made it, freshly,
for exactly these bytes; everything else is Rejected with the reason."""
import base64
import hashlib
import json
import os
import time

import pytest

from _slurm.auth import munge_key
from _slurm.auth.body_hash import body_hash
from _slurm.auth.slurm import SlurmKey, claims
from _slurm.auth.jwt import hs256_claims
from _slurm.auth.verify import PushVerifier, Rejected, payload_matches
from _slurm.errors import ReplyError
from _slurm.header import encode_header
from _slurm.messages import AUTH_MUNGE, AUTH_SLURM, decode_push, push_files
from _slurm.wire import packstr, u16, u32
from fixtures.hostile import encode_files

PUSH = 1006
V = 45 << 8
SLURM_UID = 64030
KEY = bytes(range(256)) * 4  # a 1024-byte munge.key
SLURM_KEY = b"k" * 32 + os.urandom(32)
FILES = [(True, False, b"slurm.conf", b"ClusterName=lab\nSlurmUser=slurm\n"),
         (True, False, b"plugstack.conf", None), (False, False, b"topology.conf", None)]


def push_body(version=V, files=None):
    return encode_files(version, FILES if files is None else files, spool=None)


def push_frame(body, credential, version=V, plugin=AUTH_MUNGE, msg_type=PUSH, flags=0):
    """A push as slurmctld sends it, without the u32 length prefix the listener strips."""
    auth = u32(plugin) + packstr(credential)
    return encode_header(version, msg_type, len(body), flags) + auth + body


def munged(body, uid=SLURM_UID, key=KEY, now=None, version=V, ttl=300):
    return munge_key.encode(key, body_hash(version, PUSH, body), uid, uid, ttl=ttl, now=now)


def munge_push(body=None, **options):
    body = push_body() if body is None else body
    return decode_push(push_frame(body, munged(body, **options)))


def verifier():
    return PushVerifier(slurm_uid=SLURM_UID, munge_key=lambda: KEY)


# -- decode_push and push_files --------------------------------------------------------------

def test_decode_push_reads_header_and_auth_section():
    body = push_body()
    credential = munged(body)
    push = decode_push(push_frame(body, credential))
    assert push.version == V and push.auth_plugin == AUTH_MUNGE
    assert push.credential == credential.encode("ascii") and push.body == body


def test_push_files_reads_the_client_set():
    config = push_files(munge_push())
    assert [f.name for f in config.files] == ["slurm.conf", "plugstack.conf", "topology.conf"]
    assert bytes(config.files[0].content) == b"ClusterName=lab\nSlurmUser=slurm\n"
    assert config.files[1].content == b"" and config.files[1].exists
    assert config.files[2].content is None and not config.files[2].exists
    assert config.spool_dir is None


@pytest.mark.parametrize("version", [40 << 8, 41 << 8, 42 << 8, 43 << 8, 44 << 8, 45 << 8])
def test_pushes_from_23_11_on(version):
    body = push_body(version)
    push = decode_push(push_frame(body, munged(body, version=version), version=version))
    assert push.version == version
    assert push_files(push).files[0].name == "slurm.conf"


def test_a_push_in_protocol_39_is_refused():
    body = push_body(39 << 8)
    with pytest.raises(ReplyError, match="a push in protocol 39: pushes exist from Slurm 23.11"):
        decode_push(push_frame(body, munged(body, version=39 << 8), version=39 << 8))


def test_a_jwt_push_is_refused():
    body = push_body()
    frame = encode_header(V, PUSH, len(body)) + u32(102) + packstr("a.b.c") + packstr("slurm") + body
    with pytest.raises(ReplyError, match="auth plugin 102"):
        decode_push(frame)


def test_a_push_without_credential_is_refused():
    body = push_body()
    frame = encode_header(V, PUSH, len(body), 0x0040) + body
    with pytest.raises(ReplyError, match="without credential"):
        decode_push(frame)


@pytest.mark.parametrize("msg_type, words", [(1001, "meant for slurmd"), (1003, "meant for slurmd"),
                                             (2016, "message type 2016")])
def test_other_messages_are_not_pushes(msg_type, words):
    body = push_body()
    with pytest.raises(ReplyError, match=words):
        decode_push(push_frame(body, munged(body), msg_type=msg_type))


def test_a_body_longer_or_shorter_than_announced_is_refused():
    body = push_body()
    frame = push_frame(body, munged(body))
    with pytest.raises(ReplyError, match="announces a %d-byte body" % len(body)):
        decode_push(frame + b"\0")
    with pytest.raises(ReplyError, match="announces"):
        decode_push(frame[:-1])


def test_push_files_refuses_a_malformed_body():
    push = munge_push(body=u32(5))
    with pytest.raises(ReplyError):
        push_files(push)


# -- MUNGE ---------------------------------------------------------------------------------

def test_a_genuine_munge_push_verifies():
    now = int(time.time())
    push = munge_push(now=now)
    check = verifier()
    assert check.can_verify(AUTH_MUNGE) and not check.can_verify(AUTH_SLURM)
    proof = check.verify(push)
    assert proof.issued == now
    check.accept(proof)
    assert check.last_issued == now


def test_wrong_uid_is_rejected():
    with pytest.raises(Rejected, match="made by uid 1000, not by SlurmUser \\(uid 64030\\)"):
        verifier().verify(munge_push(uid=1000))


def test_root_is_not_slurm_user_either():
    with pytest.raises(Rejected, match="made by uid 0"):
        verifier().verify(munge_push(uid=0))


def test_wrong_key_is_rejected():
    with pytest.raises(Rejected, match="MUNGE credential is not valid: .*bad MAC"):
        verifier().verify(munge_push(key=os.urandom(1024)))


def test_a_credential_for_other_bytes_is_rejected():
    body = push_body()
    other = push_body(files=[(True, False, b"slurm.conf", b"ClusterName=evil\n")])
    push = decode_push(push_frame(other, munged(body)))
    with pytest.raises(Rejected, match="does not cover this body"):
        verifier().verify(push)


def test_an_altered_body_is_rejected():
    body = push_body()
    frame = bytearray(push_frame(body, munged(body)))
    at = frame.rindex(b"lab")
    frame[at:at + 3] = b"bad"
    with pytest.raises(Rejected, match="does not cover this body"):
        verifier().verify(decode_push(bytes(frame)))


def test_a_credential_with_no_payload_is_rejected():
    body = push_body()
    push = decode_push(push_frame(body, munge_key.encode(KEY, b"", SLURM_UID, SLURM_UID)))
    with pytest.raises(Rejected, match="does not cover"):
        verifier().verify(push)


def test_a_replay_is_rejected():
    frame = push_frame(push_body(), munged(push_body()))
    check = verifier()
    check.accept(check.verify(decode_push(frame)))
    with pytest.raises(Rejected, match="replay"):
        check.verify(decode_push(frame))


def test_a_replay_is_rejected_even_if_the_first_was_not_applied():
    frame = push_frame(push_body(), munged(push_body()))
    check = verifier()
    check.verify(decode_push(frame))
    with pytest.raises(Rejected, match="replay"):
        check.verify(decode_push(frame))


def test_a_rejected_push_is_not_remembered_as_seen():
    check = verifier()
    forged = munge_push(uid=1000)
    for _unused in range(2):  # the second time is still about the uid, not a replay
        with pytest.raises(Rejected, match="made by uid 1000"):
            check.verify(forged)


def test_a_stale_push_is_rejected():
    now = int(time.time())
    check = verifier()
    check.accept(check.verify(munge_push(now=now), now=now))
    with pytest.raises(Rejected, match="stale: made 100s before the last push applied"):
        check.verify(munge_push(now=now - 100), now=now)


def test_a_push_of_the_same_second_is_not_stale():
    now = int(time.time())
    check = verifier()
    check.accept(check.verify(munge_push(now=now), now=now))
    assert check.verify(munge_push(now=now), now=now).issued == now


def test_an_older_push_is_fine_until_a_newer_one_is_applied():
    now = int(time.time())
    check = verifier()
    check.verify(munge_push(now=now), now=now)  # verified, not applied
    assert check.verify(munge_push(now=now - 100), now=now).issued == now - 100


def test_an_expired_credential_is_rejected():
    now = int(time.time())
    push = munge_push(now=now, ttl=300)
    with pytest.raises(Rejected, match="expired"):
        verifier().verify(push, now=now + 10000)


def test_a_credential_from_the_future_is_rejected():
    now = int(time.time())
    with pytest.raises(Rejected, match="rewound"):
        verifier().verify(munge_push(now=now + 10000), now=now)


def test_a_push_in_plugin_slurm_without_a_slurm_key_is_rejected():
    body = push_body()
    push = decode_push(push_frame(body, "a.b.c", plugin=AUTH_SLURM))
    with pytest.raises(Rejected, match="no slurm.key"):
        verifier().verify(push)


def test_a_munge_push_without_key_or_munged_is_rejected():
    check = PushVerifier(slurm_uid=SLURM_UID)
    assert not check.can_verify(AUTH_MUNGE)
    with pytest.raises(Rejected, match="neither the key nor munged"):
        check.verify(munge_push())


def test_the_verifier_hides_its_keys():
    text = repr(PushVerifier(SLURM_UID, munge_key=lambda: KEY, slurm_key=lambda: SlurmKey(SLURM_KEY)))
    assert "64030" in text and "hidden" in text
    assert repr(KEY)[:20] not in text and repr(SLURM_KEY)[2:12] not in text


# -- auth/slurm ------------------------------------------------------------------------------

def slurm_token(body, key=SLURM_KEY, uid=SLURM_UID, now=None, headers=None, version=V, **changes):
    jwt = pytest.importorskip("jwt")
    made = claims(version, body_hash(version, PUSH, body), now=now, uid=uid, gid=uid, host="ctld")
    made.update(changes)
    token = jwt.encode(made, key, algorithm="HS256", headers=headers)
    return token if isinstance(token, str) else token.decode("ascii")


def slurm_push(body=None, **options):
    body = push_body() if body is None else body
    return decode_push(push_frame(body, slurm_token(body, **options), plugin=AUTH_SLURM))


def slurm_verifier(key=SLURM_KEY, kid=None):
    return PushVerifier(slurm_uid=SLURM_UID, slurm_key=lambda: SlurmKey(key, kid))


def test_a_genuine_slurm_push_verifies():
    now = int(time.time())
    check = slurm_verifier()
    assert check.can_verify(AUTH_SLURM) and not check.can_verify(AUTH_MUNGE)
    assert check.verify(slurm_push(now=now)).issued == now


def test_a_slurm_push_with_the_wrong_key_is_rejected():
    with pytest.raises(Rejected, match="not signed with our slurm.key"):
        slurm_verifier().verify(slurm_push(key=os.urandom(64)))


def test_a_slurm_push_with_the_wrong_uid_is_rejected():
    with pytest.raises(Rejected, match="made by uid 1000, not by SlurmUser"):
        slurm_verifier().verify(slurm_push(uid=1000))


def test_a_slurm_push_for_other_bytes_is_rejected():
    body = push_body()
    token = slurm_token(push_body(files=[(True, False, b"slurm.conf", b"x\n")]))
    with pytest.raises(Rejected, match="does not cover this body"):
        slurm_verifier().verify(decode_push(push_frame(body, token, plugin=AUTH_SLURM)))


def test_an_expired_slurm_push_is_rejected():
    now = int(time.time())
    with pytest.raises(Rejected, match="expired"):
        slurm_verifier().verify(slurm_push(now=now - 3600), now=now)


def test_a_slurm_push_from_the_future_is_rejected():
    now = int(time.time())
    with pytest.raises(Rejected, match="in the future"):
        slurm_verifier().verify(slurm_push(now=now + 3600), now=now)


def test_a_slurm_push_lacking_claims_is_rejected():
    body = push_body()
    jwt = pytest.importorskip("jwt")
    token = jwt.encode({"iat": int(time.time()), "payload": "AA=="}, SLURM_KEY, algorithm="HS256")
    token = token if isinstance(token, str) else token.decode("ascii")
    with pytest.raises(Rejected, match="lacks uid, iat or exp"):
        slurm_verifier().verify(decode_push(push_frame(body, token, plugin=AUTH_SLURM)))


def test_a_slurm_replay_and_a_stale_slurm_push_are_rejected():
    now = int(time.time())
    check = slurm_verifier()
    push = slurm_push(now=now)
    check.accept(check.verify(push, now=now))
    with pytest.raises(Rejected, match="replay"):
        check.verify(push, now=now)
    with pytest.raises(Rejected, match="stale"):
        check.verify(slurm_push(now=now - 30), now=now)


def test_a_jwks_key_checks_the_kid():
    check = slurm_verifier(kid="k1")
    assert check.verify(slurm_push(headers={"kid": "k1"})).issued > 0
    assert check.verify(slurm_push()).issued > 0  # no kid: the default key
    with pytest.raises(Rejected, match="not signed"):
        check.verify(slurm_push(headers={"kid": "k2"}))


def test_a_slurm_token_with_alg_none_is_rejected():
    body = push_body()
    made = claims(V, body_hash(V, PUSH, body), uid=SLURM_UID, gid=SLURM_UID, host="ctld")
    token = "%s.%s." % (b64url({"alg": "none", "typ": "JWT"}), b64url(made))
    with pytest.raises(Rejected, match="not signed"):
        slurm_verifier().verify(decode_push(push_frame(body, token, plugin=AUTH_SLURM)))


# -- payload_matches and hs256_claims ----------------------------------------------------------

def test_payload_matches_k12_and_sha3():
    body = push_body()
    k12 = body_hash(V, PUSH, body)
    assert k12[:1] == b"\x02" and len(k12) == 33
    assert payload_matches(k12, body)
    sha3 = b"\x04" + hashlib.sha3_256(body + u16(PUSH)).digest()
    assert payload_matches(sha3, body)
    for payload in (k12, sha3):
        assert not payload_matches(payload, body + b"\0")
        assert not payload_matches(payload[:-1], body)
    # The custom string is the push's message type, not REQUEST_CONFIG's.
    assert not payload_matches(body_hash(V, 2015, body), body)
    assert not payload_matches(b"\x04" + hashlib.sha3_256(body + u16(2015)).digest(), body)


@pytest.mark.parametrize("payload", [b"", b"\x01", b"\x01\x03\xee", b"\x03" + bytes(32), b"\x00" + bytes(32)])
def test_payload_matches_nothing_else(payload):
    assert not payload_matches(payload, push_body())


def b64url(value):
    data = value if isinstance(value, bytes) else json.dumps(value).encode("ascii")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed(header, body, key=SLURM_KEY):
    import hmac
    head = "%s.%s" % (header, body)
    return head + "." + b64url(hmac.new(key, head.encode("ascii"), hashlib.sha256).digest())


def test_hs256_claims_of_a_good_token():
    token = signed(b64url({"alg": "HS256", "typ": "JWT"}), b64url({"uid": 5}))
    assert hs256_claims(token, SLURM_KEY) == {"uid": 5}
    assert hs256_claims(token, SLURM_KEY + b"x") is None


def test_hs256_claims_of_a_pyjwt_token():
    assert hs256_claims(slurm_token(push_body()), SLURM_KEY)["uid"] == SLURM_UID


def swapped_claims(token, new_claims):
    """token with its claims replaced, keeping the signature of the old ones."""
    header, _claims, signature = token.split(".")
    return "%s.%s.%s" % (header, b64url(new_claims), signature)


GOOD_HEADER = b64url({"alg": "HS256"})
MALFORMED = {
    "empty": "",
    "one part": "abc",
    "two parts": "a.b",
    "four parts": "a.b.c.d",
    "dots only": "..",
    "not base64": "!!!.@@@.###",
    "bad padding": GOOD_HEADER + "." + b64url({"uid": 1}) + ".a",
    "header not JSON": signed(b64url(b"not json"), b64url({"uid": 1})),
    "header a list": signed(b64url(["HS256"]), b64url({"uid": 1})),
    "alg none": signed(b64url({"alg": "none"}), b64url({"uid": 1})),
    "alg HS512": signed(b64url({"alg": "HS512"}), b64url({"uid": 1})),
    "no alg": signed(b64url({"typ": "JWT"}), b64url({"uid": 1})),
    "claims a list": signed(GOOD_HEADER, b64url([1, 2])),
    "claims a number": signed(GOOD_HEADER, b64url(b"5")),
    "claims not UTF-8": signed(GOOD_HEADER, b64url(b"\xff\xfe")),
    "unsigned": GOOD_HEADER + "." + b64url({"uid": 1}) + ".",
    "signature of other claims": swapped_claims(signed(GOOD_HEADER, b64url({"uid": 2})), {"uid": 1}),
    "non-ASCII": "\u00e9.\u00e9.\u00e9",
    "non-ASCII signature": signed(GOOD_HEADER, b64url({"uid": 1})) + "\u00e9",
}


@pytest.mark.parametrize("name", MALFORMED)
def test_hs256_claims_of_malformed_tokens_is_none(name):
    assert hs256_claims(MALFORMED[name], SLURM_KEY) is None


def test_slurm_key_verify_of_malformed_tokens_is_none():
    for token in MALFORMED.values():
        assert SlurmKey(SLURM_KEY).verify(token) is None


NESTED = b"[" * 100000


@pytest.mark.parametrize("part", ["header", "claims"])
def test_hs256_claims_of_deeply_nested_json_is_none(part):
    header = b64url(NESTED) if part == "header" else GOOD_HEADER
    body = b64url(NESTED) if part == "claims" else b64url({"uid": 1})
    assert hs256_claims("%s.%s.%s" % (header, body, b64url(b"x" * 32)), SLURM_KEY) is None


def test_a_push_with_deeply_nested_json_is_rejected():
    body = push_body()
    token = "%s.%s.%s" % (GOOD_HEADER, b64url(NESTED), b64url(b"x" * 32))
    with pytest.raises(Rejected):
        slurm_verifier().verify(decode_push(push_frame(body, token, plugin=AUTH_SLURM)))


# -- one credential, one identity: replays in other spellings ---------------------------------

def respelled(credential):
    """Other spellings of one MUNGE credential that a lenient decoder would read alike."""
    text = credential.decode() if isinstance(credential, bytes) else credential
    body = text[len("MUNGE:"):-1]
    return [text + "\n", " " + text, "MUNGE:" + body[:8] + "\n" + body[8:] + ":",
            "MUNGE:" + body + "=:", text + "\0", "MUNGE:" + body + "!:"]


def test_a_replay_in_another_spelling_is_never_applied():
    body = push_body()
    credential = munged(body)
    check = verifier()
    check.accept(check.verify(decode_push(push_frame(body, credential))))
    for other in respelled(credential):
        with pytest.raises(Rejected) as caught:
            check.verify(decode_push(push_frame(body, other)))
        assert caught.value.kind in ("forged", "replayed")


def test_a_respelled_first_sight_is_refused_too():
    """Not only replays: a credential that is not in munged's own spelling is not munged's."""
    body = push_body()
    for other in respelled(munged(body)):
        with pytest.raises(Rejected):
            verifier().verify(decode_push(push_frame(body, other)))


def test_a_slurm_token_with_a_respelled_signature_is_a_replay_or_forged():
    body = push_body()
    token = slurm_token(body)
    check = slurm_verifier()
    check.accept(check.verify(decode_push(push_frame(body, token, plugin=AUTH_SLURM))))
    head, _dot, signature = token.rpartition(".")
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(signature[-1])
    other = head + "." + signature[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1]
    for spelled in (other, token + "=", token + "\n", token.replace(".", ". ", 1)):
        with pytest.raises(Rejected):
            check.verify(decode_push(push_frame(body, spelled, plugin=AUTH_SLURM)))


# -- the cost of a stranger's push ------------------------------------------------------------

def cpu(action, rounds=20):
    best = float("inf")
    for _unused in range(rounds):
        start = time.process_time()
        try:
            action()
        except Rejected:
            pass
        best = min(best, time.process_time() - start)
    return best


def test_an_oversized_credential_is_refused_before_it_is_decoded():
    body = push_body()
    big = munge_key.encode(KEY, b"x" * (1 << 20), SLURM_UID, SLURM_UID, cipher=munge_key.CIPHER_AES128)
    push = decode_push(push_frame(body, big))
    with pytest.raises(Rejected, match="longer than any") as caught:
        verifier().verify(push)
    assert caught.value.kind == "oversized"
    assert cpu(lambda: verifier().verify(push)) < 0.001


def test_a_credential_with_too_much_to_decrypt_is_refused_before_aes():
    """Under the length bound, yet sealing more than a push's credential ever does."""
    body = push_body()
    padded = munge_key.encode(KEY, b"x" * 500, SLURM_UID, SLURM_UID, cipher=munge_key.CIPHER_AES128)
    assert len(padded) < 1024
    push = decode_push(push_frame(body, padded))
    with pytest.raises(Rejected, match="sealed bytes"):
        verifier().verify(push)
    assert cpu(lambda: verifier().verify(push)) < 0.001
    forged = decode_push(push_frame(body, munge_key.encode(b"\x07" * 64, body_hash(V, PUSH, body), SLURM_UID,
                                                           SLURM_UID, cipher=munge_key.CIPHER_AES128)))
    assert cpu(lambda: verifier().verify(forged)) < 0.001  # a forged push of a real size


# -- keys follow their files -------------------------------------------------------------------

def replace(path, content):
    """As a secret mount or a vault agent rotates a key: a new file renamed over the old."""
    temporary = str(path) + ".new"
    with open(temporary, "wb") as handle:
        handle.write(content)
    os.chmod(temporary, 0o600)
    os.rename(temporary, str(path))


def test_a_rotated_munge_key_is_followed(tmp_path):
    from _slurm.auth.key_files import FollowedFile
    path = tmp_path / "munge.key"
    replace(path, KEY)
    check = PushVerifier(SLURM_UID, munge_key=FollowedFile(str(path), munge_key.load_key).current)
    now = time.time()
    check.accept(check.verify(munge_push(now=int(now)), now=now))
    new_key = os.urandom(1024)
    replace(path, new_key)
    with pytest.raises(Rejected, match="bad MAC"):
        check.verify(munge_push(now=int(now)), now=now)  # signed with the key that is gone
    assert check.verify(munge_push(key=new_key, now=int(now)), now=now).issued == int(now)
    os.unlink(str(path))
    with pytest.raises(Rejected, match="cannot be checked: cannot read the MUNGE key") as caught:
        check.verify(munge_push(key=new_key, now=int(now)), now=now)
    assert caught.value.kind == "unchecked"


def fresh_slurm_push(**options):
    """A token of its own (made in the same second with the same claims, two are one)."""
    return slurm_push(jti=os.urandom(8).hex(), **options)


def test_a_rotated_slurm_key_is_followed(tmp_path):
    from _slurm.auth.key_files import FollowedFile
    path = tmp_path / "slurm.key"
    replace(path, SLURM_KEY)
    check = PushVerifier(SLURM_UID, slurm_key=FollowedFile(str(path), SlurmKey.from_file).current)
    assert check.verify(fresh_slurm_push()).issued > 0
    new_key = os.urandom(64)
    replace(path, new_key)
    with pytest.raises(Rejected, match="not signed"):
        check.verify(fresh_slurm_push())
    assert check.verify(fresh_slurm_push(key=new_key)).issued > 0


def jwks(*keys, default=None):
    def entry(kid, key):
        item = {"kty": "oct", "alg": "HS256", "kid": kid,
                "k": base64.urlsafe_b64encode(key).rstrip(b"=").decode()}
        if kid == default:
            item["use"] = "default"
        return item
    return json.dumps({"keys": [entry(kid, key) for kid, key in keys]}).encode()


def test_a_jwks_verifies_with_the_key_the_token_names(tmp_path):
    from _slurm.auth.key_files import FollowedFile
    old, new = os.urandom(32), os.urandom(32)
    path = tmp_path / "slurm.jwks"
    replace(path, jwks(("old", old), ("new", new), default="new"))
    check = PushVerifier(SLURM_UID, slurm_key=FollowedFile(str(path), SlurmKey.from_jwks).current)
    assert check.verify(fresh_slurm_push(key=old, headers={"kid": "old"})).issued > 0
    assert check.verify(fresh_slurm_push(key=new, headers={"kid": "new"})).issued > 0
    assert check.verify(fresh_slurm_push(key=new)).issued > 0  # no kid: the default key
    with pytest.raises(Rejected, match="not signed"):
        check.verify(fresh_slurm_push(key=old, headers={"kid": "new"}))
    with pytest.raises(Rejected, match="not signed"):
        check.verify(fresh_slurm_push(key=old, headers={"kid": "gone"}))
    replace(path, jwks(("new", new), default="new"))  # the old key retired
    with pytest.raises(Rejected, match="not signed"):
        check.verify(fresh_slurm_push(key=old, headers={"kid": "old"}))
    assert check.verify(fresh_slurm_push(key=new, headers={"kid": "new"})).issued > 0
