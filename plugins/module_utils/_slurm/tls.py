# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS for 25.05+ controllers with TLSType=tls/s2n. Slurm verifies the certificate chain
against the cluster's CA but not the host name; we do the same unless asked to check it."""

from __future__ import annotations

import ssl

from .errors import RequestError


def client_context(ca_file: str, check_hostname: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise RequestError("cannot load the CA certificate %s: %s"
                           % (ca_file, getattr(exc, "strerror", None) or exc)) from None
    return context
