# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finding controllers through DNS SRV records (_slurmctld._tcp), as slurmd does when it
is given no server: lowest priority first, then the heavier weight."""

from __future__ import annotations

from .errors import MissingLibraryError, NetworkError, RequestError
from .transport import Address, parse_address

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Optional, Sequence

SERVICE = "_slurmctld._tcp"


def srv_name(domain: Optional[str] = None) -> str:
    return "%s.%s" % (SERVICE, domain.strip(".")) if domain else SERVICE


def lookup(domain: Optional[str] = None, nameservers: Sequence[str] = (),
           timeout: float = 5.0) -> List[Address]:
    """Controllers from the SRV records, in the order to try them."""
    try:
        import dns.exception
        import dns.resolver
    except ImportError:
        raise MissingLibraryError("dnspython", "to look up _slurmctld._tcp SRV records") from None
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        servers = [parse_address(n, 53) for n in nameservers]
        resolver.nameservers = [s.host for s in servers]
        resolver.port = servers[0].port
    resolver.lifetime = timeout
    name = srv_name(domain)
    try:
        answer = resolver.resolve(name, "SRV", search=domain is None)
    except dns.resolver.NXDOMAIN:
        raise RequestError("no controller given and DNS has no %s SRV record" % name,
                           "give servers, or publish _slurmctld._tcp records") from None
    except dns.resolver.NoAnswer:
        raise RequestError("no controller given and DNS has no %s SRV record" % name) from None
    except dns.exception.Timeout:
        raise NetworkError("DNS did not answer the %s SRV lookup within %gs" % (name, timeout)) from None
    except dns.exception.DNSException as exc:
        raise NetworkError("the %s SRV lookup failed: %s" % (name, exc)) from None
    records = sorted(answer, key=lambda r: (r.priority, -r.weight))
    return [Address(str(r.target).rstrip("."), int(r.port)) for r in records]
