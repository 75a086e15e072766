# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MUNGE credentials made and read from the key file alone, without munged.

Why: a host that holds the cluster's munge.key but runs no munged (a container, a
configless client) can still sign requests, and can check the MUNGE credential on a
controller's push. The format is munged's (src/munged/enc.c, dec.c, conf.c), all big-endian:

    "MUNGE:" base64(outer | mac | inner) ":"
    outer = version 3, cipher, mac, zip, realm_len, realm, IV (cipher's size; none if 0)
    inner = salt[8], addr_len, addr, encode_time, ttl, uid, gid, restrict_uid,
            restrict_gid, payload_len, payload          (zipped, then encrypted)
    mac = HMAC(SHA-1(key | "2"), outer | zipped inner), with the credential's digest
    cipher key = HMAC(SHA-1(key | "1"), mac), cut to the cipher's key size (AES-CBC)

Whoever holds the key can make a credential for any uid: it is as sensitive as root on the
cluster. No message or repr here ever contains key material. Replays are the caller's to
catch (it keeps the salts it has seen); uid/gid restrictions are returned, not enforced.
"""

from __future__ import annotations

import os
import stat
import struct
import time

from ..errors import ReplyError, RequestError
from ..messages import AUTH_MUNGE
from ..origin import LOOPBACK
from ..wire import packstr, u32
from .credentials import Credentials

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, NamedTuple, Optional, Tuple, Union
else:
    from ..records import NamedTuple

CIPHER_NONE, CIPHER_BLOWFISH, CIPHER_CAST5, CIPHER_AES128, CIPHER_AES256 = 0, 2, 3, 4, 5
MAC_MD5, MAC_SHA1, MAC_RIPEMD160, MAC_SHA256, MAC_SHA512 = 2, 3, 4, 5, 6
ZIP_NONE, ZIP_BZLIB, ZIP_ZLIB = 0, 2, 3
CIPHER_NAMES = {0: "none", 2: "blowfish", 3: "cast5", 4: "aes128", 5: "aes256"}
MAC_NAMES = {2: "md5", 3: "sha1", 4: "ripemd160", 5: "sha256", 6: "sha512"}
#: Their digests' sizes, known without hashlib (which loads OpenSSL for good).
DIGEST_SIZES = {"md5": 16, "sha1": 20, "ripemd160": 20, "sha256": 32, "sha512": 64}
ZIP_NAMES = {0: "none", 2: "bzlib", 3: "zlib"}

ANY = 0xFFFFFFFF  # MUNGE_UID_ANY / MUNGE_GID_ANY: no restriction
DEFAULT_TTL = 300  # MUNGE_DEFAULT_TTL
MAXIMUM_TTL = 3600  # MUNGE_MAXIMUM_TTL: munged caps a credential's ttl at --max-ttl
MAXIMUM_PAYLOAD = 1 << 20  # MUNGE_MAXIMUM_PAYLOAD_LEN
KEY_MIN_BYTES = 32  # MUNGE_KEY_LEN_MIN_BYTES: munged refuses shorter keys
KEY_MAX_BYTES = 1 << 20  # munged sets no maximum (mungekey writes at most 1024): a bound only

_VERSION = 3  # MUNGE_CRED_VERSION
_PREFIX, _SUFFIX = b"MUNGE:", b":"
_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_SALT = 8
_INNER = struct.Struct(">IIIIIII")  # encode time, ttl, uid, gid, restrict uid/gid, length
_ZIP_MAGIC = 0xCACACACA
_ZIP_META = struct.Struct(">II")  # magic, length before compression
_AES = {CIPHER_AES128: 16, CIPHER_AES256: 32}  # key size; both have a 16-byte IV
# The longest credential munged can make: outer with a 255-byte realm and an IV, the
# longest MAC, the inner header, the largest payload and a padding block, in base64.
_MAX_BINARY = (5 + 255 + 16) + 64 + (_SALT + 1 + 4 + _INNER.size) + MAXIMUM_PAYLOAD + 16
MAX_TEXT = len(_PREFIX) + 4 * -(-_MAX_BINARY // 3) + len(_SUFFIX) + 64  # + whitespace, NULs

# munge_err_t values, so a caller can tell an expired push from a forged one.
EMUNGE_BAD_CRED, EMUNGE_BAD_VERSION, EMUNGE_BAD_CIPHER, EMUNGE_BAD_MAC = 8, 9, 10, 11
EMUNGE_BAD_ZIP, EMUNGE_CRED_INVALID, EMUNGE_CRED_EXPIRED, EMUNGE_CRED_REWOUND = 12, 14, 15, 16
EMUNGE_BAD_LENGTH = 3


class CredentialError(ReplyError):
    """A credential that does not decode, does not verify, or is out of its time window;
    code is munge's error number for the same failure (EMUNGE_*)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__("MUNGE credential rejected: " + reason)
        self.code = code


class Decoded(NamedTuple):
    """What unmunge prints: the sender's identity, its restrictions and the payload."""

    cipher: int
    mac: int
    zip: int
    realm: Optional[str]
    addr: bytes  # IPv4 of the encoding host, 4 bytes (b"" if the credential has none)
    encode_time: int
    ttl: int
    uid: int
    gid: int
    restrict_uid: int
    restrict_gid: int
    payload: bytes


def load_key(path: str) -> bytes:
    """The bytes of a munge key file, refused unless munged would accept it.

    Symlinks are followed (Kubernetes mounts secrets as links); the file finally opened is
    the one checked, through its descriptor. Like munged: a regular file, no group or
    other read/write bits, at least 32 bytes. Unlike munged, the owner is not checked:
    root may read munge's key.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise RequestError("cannot read the MUNGE key %s: %s" % (path, exc.strerror or exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RequestError("the MUNGE key %s is not a regular file" % path)
        mode = stat.S_IMODE(info.st_mode)
        for bits, who in ((stat.S_IRGRP | stat.S_IWGRP, "group"), (stat.S_IROTH | stat.S_IWOTH, "others")):
            if mode & bits:
                raise RequestError("the MUNGE key %s is readable or writable by %s (mode %04o)"
                                   % (path, who, mode), "make it 0400 or 0600, as munged requires")
        key = b""
        while len(key) <= KEY_MAX_BYTES:
            chunk = os.read(fd, KEY_MAX_BYTES + 1 - len(key))
            if not chunk:
                break
            key += chunk
    except OSError as exc:
        raise RequestError("cannot read the MUNGE key %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        os.close(fd)
    if len(key) > KEY_MAX_BYTES:
        raise RequestError("the MUNGE key %s is larger than %d bytes: not a munge key"
                           % (path, KEY_MAX_BYTES))
    _check_key(key, " %s" % path)
    return key


def _check_key(key: bytes, where: str = "") -> None:
    if len(key) < KEY_MIN_BYTES:
        raise RequestError("the MUNGE key%s is %d bytes; munged needs at least %d"
                           % (where, len(key), KEY_MIN_BYTES))


def _subkeys(key: bytes) -> Tuple[bytes, bytes]:
    """(cipher subkey, MAC subkey): SHA-1 of the key file followed by "1", resp. "2"."""
    _check_key(key)
    from ..sha import sha1
    new = sha1()
    return new(key + b"1").digest(), new(key + b"2").digest()


def _digest(mac: int) -> str:
    name = MAC_NAMES.get(mac)
    if name is None:
        raise CredentialError(EMUNGE_BAD_MAC, "unknown MAC type %d" % mac)
    if name in ("sha1", "sha256", "sha512"):  # every Python has these
        return name
    import hashlib
    try:
        hashlib.new(name)  # ripemd160 may be missing (OpenSSL 3), md5 refused (FIPS mode)
    except ValueError:
        raise CredentialError(EMUNGE_BAD_MAC, "MAC %s is not supported by this Python" % name) from None
    return name


def _cipher_key(dek_subkey: bytes, cipher: int, digest: str, mac: bytes) -> bytes:
    """The per-credential AES key munged derives from the MAC (munged's DEK)."""
    return _mac(dek_subkey, mac, digest)[:_AES[cipher]]


def _check_pair(cipher: int, digest: str) -> None:
    """munged refuses a MAC shorter than the cipher key it must yield."""
    if cipher not in _AES:
        return
    if DIGEST_SIZES[digest] < _AES[cipher]:
        raise CredentialError(EMUNGE_BAD_MAC, "MAC %s is too short for cipher %s"
                              % (digest, CIPHER_NAMES[cipher]))


def _u32(value: int, what: str) -> int:
    if not 0 <= value <= 0xFFFFFFFF:
        raise RequestError("a MUNGE credential's %s must fit in 32 bits, not %d" % (what, value))
    return value


def encode(key: bytes, payload: bytes, uid: int, gid: int, ttl: int = DEFAULT_TTL,
           restrict_uid: int = ANY, restrict_gid: int = ANY, now: Optional[int] = None,
           addr: bytes = LOOPBACK, realm: Optional[str] = None, *,
           cipher: int = CIPHER_NONE, mac: int = MAC_SHA256, zip: int = ZIP_NONE) -> str:
    """A credential claiming uid/gid, decodable by every munged that shares key.

    Defaults: no encryption (the inner part is then readable by anyone who sees the
    credential, which for Slurm holds ids and a body hash), HMAC-SHA-256, no compression,
    a fresh random salt. ttl 0 means munged's default and is capped at its maximum, as
    munged does. addr is the origin munged would record (see origin.host_address; Slurm reads the
    sender's host from it). cipher/mac/zip take munge's numbers, for tests and interoperability.
    """
    if len(payload) > MAXIMUM_PAYLOAD:
        raise RequestError("a MUNGE payload is at most %d bytes, not %d" % (MAXIMUM_PAYLOAD, len(payload)))
    if len(addr) not in (0, 4):
        raise RequestError("a MUNGE origin address is 4 bytes (IPv4), not %d" % len(addr))
    if cipher not in (CIPHER_NONE,) + tuple(_AES):
        raise RequestError("cannot encode with cipher %s" % CIPHER_NAMES.get(cipher, cipher))
    if zip not in ZIP_NAMES:
        raise RequestError("unknown MUNGE compression type %d" % zip)
    try:
        digest = _digest(mac)
        _check_pair(cipher, digest)
    except CredentialError as exc:
        raise RequestError("cannot encode: %s" % exc.message) from None
    dek_subkey, mac_subkey = _subkeys(key)
    realm_bytes = b"" if realm is None else realm.encode("utf-8") + b"\0"  # libmunge sends the NUL
    if len(realm_bytes) > 255:
        raise RequestError("a MUNGE realm is at most 254 bytes")
    ttl = DEFAULT_TTL if ttl == 0 else min(_u32(ttl, "ttl"), MAXIMUM_TTL)
    stamp = int(time.time()) if now is None else now
    iv = os.urandom(16) if cipher else b""
    inner = os.urandom(_SALT) + bytes([len(addr)]) + addr + _INNER.pack(
        _u32(stamp, "encode time"), ttl, _u32(uid, "uid"), _u32(gid, "gid"),
        _u32(restrict_uid, "uid restriction"), _u32(restrict_gid, "gid restriction"),
        len(payload)) + payload
    if zip != ZIP_NONE and payload:  # munged compresses only a credential with a payload
        packed = _ZIP_META.pack(_ZIP_MAGIC, len(inner)) + _compress(zip, inner)
        if len(packed) < len(inner):  # and keeps the result only when it is smaller
            inner = packed
        else:
            zip = ZIP_NONE
    else:
        zip = ZIP_NONE
    outer = bytes([_VERSION, cipher, mac, zip, len(realm_bytes)]) + realm_bytes + iv
    tag = _mac(mac_subkey, outer + inner, digest)
    if cipher:
        from . import aes
        inner = aes.cbc_encrypt(_cipher_key(dek_subkey, cipher, digest, tag), iv, aes.pad(inner))
    import binascii
    return (_PREFIX + binascii.b2a_base64(outer + tag + inner, newline=False) + _SUFFIX).decode("ascii")


_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


def _hmac(key: bytes, message: bytes, new: "Any") -> bytes:
    """HMAC (RFC 2104) over a 64-byte block, as SHA-1 and SHA-256 have."""
    if len(key) > 64:
        key = new(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(new(key.translate(_OPAD) + new(key.translate(_IPAD) + message).digest()).digest())


def _mac(key: bytes, message: bytes, digest: str) -> bytes:
    """HMAC with digest: SHA-256 (the default) and SHA-1 without loading OpenSSL for hashlib
    and hmac, which would stay resident in a watcher for good."""
    if digest in ("sha1", "sha256"):
        from .. import sha
        return _hmac(key, message, sha.sha1() if digest == "sha1" else sha.sha256())
    import hmac
    return hmac.new(key, message, digest).digest()


def _compress(zip: int, data: bytes) -> bytes:
    if zip == ZIP_ZLIB:
        import zlib
        return zlib.compress(data)
    import bz2
    return bz2.compress(data, 9)


def _decompress(zip: int, data: bytes) -> bytes:
    """The inner part before compression; its declared length is bounded first, and the
    decompressor may not produce more than that (no decompression bombs)."""
    if len(data) < _ZIP_META.size:
        raise CredentialError(EMUNGE_CRED_INVALID, "compressed part is truncated")
    magic, length = _ZIP_META.unpack_from(data)
    if magic != _ZIP_MAGIC:
        raise CredentialError(EMUNGE_CRED_INVALID, "compressed part has no zip header")
    if length > _SALT + 1 + 4 + _INNER.size + MAXIMUM_PAYLOAD:
        raise CredentialError(EMUNGE_BAD_LENGTH, "compressed part claims %d bytes" % length)
    body = data[_ZIP_META.size:]
    import bz2
    import zlib
    try:
        if zip == ZIP_ZLIB:
            inflater = zlib.decompressobj()
            plain = inflater.decompress(body, length)
            if not inflater.eof:  # the limit stopped it before the trailer: finish, 1 byte more
                plain += inflater.decompress(inflater.unconsumed_tail, 1)
            complete = inflater.eof and not inflater.unconsumed_tail and not inflater.unused_data
        else:
            unpacker = bz2.BZ2Decompressor()
            plain = unpacker.decompress(body, length)
            if not unpacker.eof:
                plain += unpacker.decompress(b"", 1)
            complete = unpacker.eof and not unpacker.unused_data
    except (zlib.error, OSError, ValueError, EOFError) as exc:
        raise CredentialError(EMUNGE_CRED_INVALID, "cannot decompress: %s" % exc) from None
    if not complete or len(plain) != length:
        raise CredentialError(EMUNGE_CRED_INVALID, "compressed part does not hold the %d bytes it claims"
                              % length)
    return plain


def _unarmor(credential: Union[bytes, str]) -> bytes:
    """The binary credential inside "MUNGE:...:", in the one spelling munged writes: no
    whitespace, no NUL, canonical padded base64. munged itself skips whitespace; we do not,
    so that a credential has one text and a replay cannot pass for new in another spelling."""
    if len(credential) > MAX_TEXT:
        raise CredentialError(EMUNGE_BAD_LENGTH, "%d characters is longer than any credential munged makes"
                              % len(credential))
    if isinstance(credential, str):
        try:
            text = credential.encode("ascii")
        except UnicodeEncodeError:
            raise CredentialError(EMUNGE_BAD_CRED, "not ASCII text") from None
    else:
        text = bytes(credential)
    if not text.startswith(_PREFIX):
        raise CredentialError(EMUNGE_BAD_CRED, "does not start with MUNGE:")
    if not text.endswith(_SUFFIX) or len(text) < len(_PREFIX) + len(_SUFFIX):
        raise CredentialError(EMUNGE_BAD_CRED, "does not end with ':' (truncated?)")
    armored = text[len(_PREFIX):-len(_SUFFIX)]
    if not _BASE64.issuperset(armored):
        raise CredentialError(EMUNGE_BAD_CRED, "not valid base64")
    import binascii
    try:
        binary = binascii.a2b_base64(armored)
    except (binascii.Error, ValueError):
        raise CredentialError(EMUNGE_BAD_CRED, "not valid base64") from None
    if binascii.b2a_base64(binary, newline=False) != armored:
        raise CredentialError(EMUNGE_BAD_CRED, "not in canonical base64 (whitespace, junk or padding)")
    return binary


class _Reader:
    """Takes fields off the front of a buffer; running short is a truncated credential."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int, what: str) -> bytes:
        if self.offset + count > len(self.data):
            raise CredentialError(EMUNGE_BAD_CRED, "truncated at the %s" % what)
        self.offset += count
        return self.data[self.offset - count:self.offset]

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]


class _Sealed(NamedTuple):
    """A credential's parts before the key is used: what can be read without it."""

    cipher: int
    mac: int
    digest: str
    zip: int
    realm: bytes
    iv: bytes
    outer: bytes
    tag: bytes
    inner: bytes  # encrypted when cipher is not none


def _open(credential: Union[bytes, str]) -> _Sealed:
    """The parts of a credential's strict text, checked for everything but the MAC."""
    data = _unarmor(credential)
    reader = _Reader(data)
    version = reader.byte("version")
    if version != _VERSION:
        raise CredentialError(EMUNGE_BAD_VERSION, "unknown credential version %d" % version)
    cipher = reader.byte("cipher type")
    if cipher not in CIPHER_NAMES:
        raise CredentialError(EMUNGE_BAD_CIPHER, "unknown cipher type %d" % cipher)
    if cipher != CIPHER_NONE and cipher not in _AES:
        raise CredentialError(EMUNGE_BAD_CIPHER, "cipher %s is not supported" % CIPHER_NAMES[cipher])
    mac = reader.byte("MAC type")
    digest = _digest(mac)
    _check_pair(cipher, digest)
    zip = reader.byte("compression type")
    if zip not in ZIP_NAMES:
        raise CredentialError(EMUNGE_BAD_ZIP, "unknown compression type %d" % zip)
    realm_bytes = reader.take(reader.byte("realm length"), "realm")
    iv = reader.take(16 if cipher else 0, "cipher IV")
    outer = data[:reader.offset]
    tag = reader.take(DIGEST_SIZES[digest], "MAC")
    return _Sealed(cipher, mac, digest, zip, realm_bytes, iv, outer, tag, data[reader.offset:])


def identity(credential: Union[bytes, str]) -> bytes:
    """What tells one credential from every other, whatever its text: its MAC, which covers
    the salt, the time and the payload. For refusing replays before any key is used."""
    sealed = _open(credential)
    return bytes([sealed.mac]) + sealed.tag


def decode(key: bytes, credential: Union[bytes, str], now: Optional[int] = None,
           max_sealed: Optional[int] = None) -> Decoded:
    """The contents of a credential made with key, checked as munged checks it: format,
    MAC (constant-time), and time window. Raises CredentialError (a ReplyError) with the
    reason. The time window is munged's default: from encode_time - ttl (munged allows
    clock skew up to the ttl) to encode_time + ttl, with ttl capped at 3600 s.

    max_sealed bounds the encrypted part before it is decrypted: munged encrypts before it
    MACs, so nothing proves a credential genuine until AES has run over all of it.
    """
    dek_subkey, mac_subkey = _subkeys(key)
    sealed = _open(credential)
    cipher, digest, zip, iv, tag, inner = (sealed.cipher, sealed.digest, sealed.zip, sealed.iv,
                                           sealed.tag, sealed.inner)
    if max_sealed is not None and len(inner) > max_sealed:
        raise CredentialError(EMUNGE_BAD_LENGTH, "%d sealed bytes, more than the %d a credential of "
                              "this kind holds" % (len(inner), max_sealed))
    from ..sha import compare_digest
    padding_ok = True
    if cipher:
        from . import aes
        try:
            inner = aes.unpad(aes.cbc_decrypt(_cipher_key(dek_subkey, cipher, digest, tag), iv, inner))
        except ReplyError:
            padding_ok = False  # as munged: reported as the MAC failure it almost always is
    expected = _mac(mac_subkey, sealed.outer + inner, digest)
    if not compare_digest(expected, tag) or not padding_ok:
        raise CredentialError(EMUNGE_CRED_INVALID, "bad MAC (made with another key, or altered)")
    if zip != ZIP_NONE:
        inner = _decompress(zip, inner)
    fields = _Reader(inner)
    fields.take(_SALT, "salt")
    addr = fields.take(fields.byte("origin address length"), "origin address")
    if len(addr) not in (0, 4):
        raise CredentialError(EMUNGE_BAD_CRED, "origin address of %d bytes" % len(addr))
    stamp, ttl, uid, gid, restrict_uid, restrict_gid, length = _INNER.unpack(
        fields.take(_INNER.size, "inner header"))
    if length > MAXIMUM_PAYLOAD:
        raise CredentialError(EMUNGE_BAD_LENGTH, "payload of %d bytes" % length)
    payload = fields.take(length, "payload")
    if fields.offset != len(inner):
        raise CredentialError(EMUNGE_BAD_CRED, "%d bytes after the payload" % (len(inner) - fields.offset))
    ttl = min(ttl, MAXIMUM_TTL)
    current = int(time.time()) if now is None else now
    if current < stamp - ttl:
        raise CredentialError(EMUNGE_CRED_REWOUND, "rewound: encoded %d s in the future (clocks disagree?)"
                              % (stamp - current))
    if current > stamp + ttl:
        raise CredentialError(EMUNGE_CRED_EXPIRED, "expired %d s ago (ttl %d s)"
                              % (current - stamp - ttl, ttl))
    realm = sealed.realm.rstrip(b"\0").decode("utf-8", "replace") if sealed.realm else None
    return Decoded(cipher, sealed.mac, zip, realm, addr, stamp, ttl, uid, gid, restrict_uid, restrict_gid,
                   payload)


class MungeKeyCredentials(Credentials):
    """auth/munge without munged: credentials made from the cluster's munge.key itself."""

    name = "munge"
    rejected_hint = ("check that the munge key matches the controller's, that AuthType is "
                     "auth/munge, and that the clocks agree")

    def __init__(self, key_path: str) -> None:
        self.key_path = key_path
        from .key_files import FollowedFile
        #: The key as the file holds it now (a mounted secret may rotate); refused here,
        #: before any connection, when unusable. The push verifier follows the same file.
        self.key_file = FollowedFile(key_path, load_key)
        # The address a credential carries. A fetch needs none in particular; a watcher's
        # registration is keyed by the host name the controller finds for it, so the watcher
        # sets the address it reaches the controller from (use_origin). Resolving this
        # host's name, as munged does once at its start, can cost more than a whole fetch.
        self.origin = LOOPBACK

    def __repr__(self) -> str:
        return "MungeKeyCredentials(%r)" % self.key_path

    def refresh(self) -> None:
        self.key_file.current()  # a key that became unusable is named before connecting

    def use_origin(self, address: bytes) -> None:
        self.origin = address

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        from .body_hash import body_hash
        payload = body_hash(version, msg_type, body)
        credential = encode(self.key_file.current(), payload, os.geteuid(), os.getegid(), addr=self.origin)
        return u32(AUTH_MUNGE) + packstr(credential.encode("ascii"))
