"""KangarooTwelve: the published empty-input vector, Slurm's own vectors (the hashes real
controllers accepted), and the tree mode checked against an independent implementation."""
import os

import pytest

from _slurm.k12 import kangarootwelve

CUSTOM = b"\x07\xdf"  # REQUEST_CONFIG, big-endian


def ptn(n):
    return bytes(i % 251 for i in range(n))


def test_published_empty_vector():
    assert kangarootwelve(b"", b"", 32).hex() == (
        "1ac2d450fc3b4205d19da7bfca1b37513c0803577ac7167f06fe2ce1f0ef39e5")


def test_longer_output_extends_the_shorter():
    assert kangarootwelve(b"", b"", 64)[:32] == kangarootwelve(b"", b"", 32)
    assert len(kangarootwelve(b"abc", b"", 500)) == 500


@pytest.mark.parametrize("body, digest", [
    ("00000001", "fb94bf659aba27ad7b1c7c87340ded52162f6a553ecc681e4df89f3434273503"),
    ("00000000", "cd8bdd62df681c56ad59c4eefd6188374799f35692d50c4a25c01d489f1a2505"),
    ("000000000000", "1a53795f79d2112114a47c778fc7cb276bf0d2ce62e1e748598f238ca3b68728"),
    ("000000010000", "d372ab4ef89090ab43b1f3f6b6ed921220443d789cc136b78fe50701a48e5727"),
    ("000000020000", "a45e593fccae41bc5a6eb8e023156d82b967bb38f63010a613a876cc5856d6d9"),
])
def test_slurm_vectors(body, digest):
    assert kangarootwelve(bytes.fromhex(body), CUSTOM, 32).hex() == digest


@pytest.mark.parametrize("length", [0, 1, 4, 6, 100, 167, 168, 169, 8189, 8190, 8191, 8192,
                                    8193, 16384, 20000, 100000])
def test_against_an_independent_implementation(length):
    oracle = pytest.importorskip("Crypto.Hash.KangarooTwelve")
    message = ptn(length)
    for custom in (b"", CUSTOM, ptn(41)):
        expected = oracle.new(data=message, custom=custom).read(32)
        assert kangarootwelve(message, custom, 32) == expected, (length, custom)


def test_random_inputs_against_the_oracle():
    oracle = pytest.importorskip("Crypto.Hash.KangarooTwelve")
    for _round in range(20):
        message = os.urandom(int.from_bytes(os.urandom(2), "big") % 9000)
        custom = os.urandom(os.urandom(1)[0] % 40)
        assert kangarootwelve(message, custom, 48) == oracle.new(data=message, custom=custom).read(48)
