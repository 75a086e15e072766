# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Slurm return codes a configuration fetch can meet, with what to do about each."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, Optional, Tuple


AUTHENTICATION_ERROR = 1007
RATE_LIMITED = (1804, 1805)
STANDBY = (2027, 2131)

_TEXT: Dict[int, Tuple[str, Optional[str]]] = {
    -1: ("generic error (SLURM_ERROR)", None),
    22: ("invalid argument: the controller does not know REQUEST_CONFIG", "Slurm 20.02 or newer is needed"),
    1007: ("protocol authentication error: the controller rejected the credential", None),
    1008: ("insane message length", None),
    1804: ("rate limit exceeded, retry momentarily", None),
    1805: ("rate limit exceeded, retry later", None),
    2010: ("invalid user id: the slurmd file set needs root or SlurmUser",
           "run as root or SlurmUser, or use request: client for the client file set"),
    2027: ("backup controller in standby mode", "try the primary controller"),
    2126: ("configless mode is disabled on the controller",
           "add enable_configless to SlurmctldParameters in slurm.conf and reconfigure"),
    2131: ("controller in standby mode", "try a different controller"),
    6000: ("invalid authentication credential", None),
    6001: ("authentication credential expired", None),
    13000: ("this controller speaks TLS: give {tls_ca}", "the cluster's CA certificate"),
}


def describe(rc: int) -> Tuple[str, Optional[str]]:
    """(text, hint) for a return code; unknown codes are named by number."""
    if rc in _TEXT:
        text, hint = _TEXT[rc]
        return "rc %d, %s" % (rc, text), hint
    return "rc %d" % rc, None
