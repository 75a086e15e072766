# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""This host's address as a MUNGE credential names it (its origin). slurmctld keys a
registration for pushes by the name it finds for that address, and pushes to the address
the registration came from, so a credential made from the key must name the address this
host really speaks from."""

from __future__ import annotations

from . import sockets

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Optional

    from .transport import Address

LOOPBACK = b"\x7f\x00\x00\x01"


def host_address(name: "Optional[str]" = None) -> bytes:
    """The IPv4 address munged would record for this host (it resolves the host name), or the
    loopback address when the name does not resolve to IPv4."""
    try:
        return sockets.inet_aton(sockets.gethostbyname(name or sockets.gethostname()))
    except OSError:
        return LOOPBACK


def address_toward(controller: "Optional[Address]", source: "Optional[str]") -> bytes:
    """The IPv4 address the controller sees our connections come from: source when we connect
    from one (a watcher listening on one address), else the one the route to the controller
    leaves from (no packet is sent), else host_address()."""
    if source:
        try:
            return sockets.inet_aton(source)
        except OSError:
            pass  # an IPv6 or a named address: MUNGE carries IPv4 only
    elif controller is not None:
        probe = sockets.socket(sockets.AF_INET, sockets.SOCK_DGRAM)
        try:
            probe.connect((controller.host, controller.port))
            return sockets.inet_aton(probe.getsockname()[0])
        except OSError:
            pass
        finally:
            probe.close()
    return host_address()
