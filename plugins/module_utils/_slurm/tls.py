# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TLS for 25.05+ controllers with TLSType=tls/s2n. Slurm verifies the certificate chain
against the cluster's CA but not the host name; we do the same unless asked to check it.

When a handshake fails, the causes are named: a peer that does not speak TLS, or a
certificate that the CA file does not vouch for (whose certificate, which CA file)."""

from __future__ import annotations

import socket
import ssl

from .errors import NetworkError, RequestError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Optional, Tuple

#: OpenSSL's reasons for a handshake whose answer was not TLS at all.
_NOT_TLS_REASONS = ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE",
                    "HTTP_REQUEST", "UNEXPECTED_EOF_WHILE_READING", "RECORD_LENGTH_MISMATCH",
                    "WRONG_SSL_VERSION", "UNKNOWN_PROTOCOL", "EOF")
_NAME_OIDS = {b"\x55\x04\x03": "CN", b"\x55\x04\x0a": "O", b"\x55\x04\x0b": "OU",
              b"\x55\x04\x06": "C", b"\x55\x04\x07": "L", b"\x55\x04\x08": "ST"}
_NAME_MISMATCH = (62, 63, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, _EMAIL_, _IP_ADDRESS_


class ClientContext(ssl.SSLContext):
    """An SSLContext that remembers its CA file, so that a failed verification can name it."""

    ca_file: Optional[str] = None


def client_context(ca_file: str, check_hostname: bool = False, cert_file: Optional[str] = None,
                   key_file: Optional[str] = None) -> ssl.SSLContext:
    context = ClientContext(ssl.PROTOCOL_TLS_CLIENT)
    context.ca_file = ca_file
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise RequestError("cannot load the CA certificate %s: %s"
                           % (ca_file, getattr(exc, "strerror", None) or exc)) from None
    if cert_file:
        load_client_certificate(context, cert_file, key_file)
    return context


def load_client_certificate(context: ssl.SSLContext, cert_file: str,
                            key_file: Optional[str] = None) -> None:
    """A client certificate, for controllers that ask for one (Slurm's do not need it)."""
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise RequestError("cannot load the client certificate %s: %s"
                           % (cert_file, getattr(exc, "strerror", None) or exc)) from None


def not_tls(exc: BaseException) -> bool:
    """Whether a failed handshake means the peer does not speak TLS: it answered something
    else, or closed or reset the connection instead of answering."""
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)):
        return True
    reason = getattr(exc, "reason", None) or ""
    return isinstance(exc, ssl.SSLError) and any(r in reason for r in _NOT_TLS_REASONS)


def speaks_tls(sock: socket.socket, host: str) -> bool:
    """Whether the peer on sock answers a TLS handshake in TLS (even with an alert)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.wrap_socket(sock, server_hostname=host).close()
    except ssl.SSLError as exc:
        return not not_tls(exc)
    except OSError:
        return False
    return True


def peer_certificate(sock: socket.socket, host: str) -> Optional[bytes]:
    """The peer's certificate (DER), taken in a handshake that verifies nothing: only to name
    the certificate that the real handshake refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        tls = context.wrap_socket(sock, server_hostname=host)
    except OSError:
        return None
    try:
        return tls.getpeercert(binary_form=True)
    finally:
        tls.close()


def handshake_error(exc: OSError, context: ssl.SSLContext, host: str,
                    certificate: Optional[bytes]) -> NetworkError:
    """The error for a failed handshake, naming its cause."""
    if not_tls(exc):
        return NetworkError("TLS failed: the controller does not speak TLS (TLSType is not "
                            "tls/s2n there?): leave out {tls_ca}",
                            "it closed the connection during the handshake"
                            if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError,
                                                ConnectionError))
                            else "its answer to the handshake is not TLS")
    if not isinstance(exc, ssl.SSLCertVerificationError):
        return NetworkError("TLS failed: %s" % (getattr(exc, "reason", None) or exc))
    whose = "the controller's certificate"
    names = certificate_names(certificate) if certificate else None
    if names:
        whose += " (subject %s, issuer %s)" % names
    detail = exc.verify_message or getattr(exc, "reason", None) or str(exc)
    if exc.verify_code in _NAME_MISMATCH:
        return NetworkError("TLS failed: %s is not valid for %s: %s" % (whose, host, detail),
                            "Slurm itself checks only the chain: leave out tls_check_hostname, "
                            "or connect by a name the certificate holds")
    ca_file = getattr(context, "ca_file", None) or "the CA file given"
    return NetworkError("TLS failed: %s does not verify against the CA in %s: %s"
                        % (whose, ca_file, detail),
                        "give {tls_ca} the CA that signed the controller's certificate")


def certificate_names(der: bytes) -> Optional[Tuple[str, str]]:
    """(subject, issuer) of a DER certificate, e.g. ("CN=ctld", "CN=cluster-ca")."""
    try:
        _tag, start, end = _element(der, 0)  # Certificate
        _tag, start, end = _element(der, start)  # tbsCertificate
        fields = _children(der, start, end)
        if fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        # serialNumber, signature, issuer, validity, subject
        return _name(der, fields[4]), _name(der, fields[2])
    except (IndexError, ValueError):
        return None


def _element(der: bytes, offset: int) -> Tuple[int, int, int]:
    """(tag, start, end) of the DER element at offset."""
    tag, length = der[offset], der[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[start:start + count], "big")
        start += count
    if start + length > len(der):
        raise ValueError("truncated DER")
    return tag, start, start + length


def _children(der: bytes, start: int, end: int) -> List[Tuple[int, int, int]]:
    out = []
    while start < end:
        out.append(_element(der, start))
        start = out[-1][2]
    return out


def _name(der: bytes, element: Tuple[int, int, int]) -> str:
    """A Name (a sequence of sets of OID, value pairs) as "CN=x,O=y"."""
    parts = []
    for _set, start, end in _children(der, element[1], element[2]):
        for _seq, pair_start, pair_end in _children(der, start, end):
            (_t, oid_start, oid_end), (_v, value_start, value_end) = _children(
                der, pair_start, pair_end)[:2]
            label = _NAME_OIDS.get(der[oid_start:oid_end])
            if label:
                parts.append("%s=%s" % (label, der[value_start:value_end].decode("utf-8", "replace")))
    return ",".join(parts) or "(no name)"


def server_context(cert_file: str, key_file: str, ca_file: str) -> ssl.SSLContext:
    """For a listener that takes pushes over TLS, as sackd with sackd_cert_file: our
    certificate, chained to the cluster's CA; the controller's own certificate is checked
    against that CA when it shows one."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise RequestError("cannot load the listener certificate %s or key %s: %s"
                           % (cert_file, key_file, getattr(exc, "strerror", None) or exc)) from None
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
