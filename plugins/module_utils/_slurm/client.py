# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fetch(): servers x version negotiation x credentials -> the controller's files.

The first attempt speaks the version that worked last (or the newest we speak); when it
is turned down, negotiation.py finds the controller's, in two round trips at most where a
scan took up to eleven. Each attempt carries a fresh credential.
"""

from __future__ import annotations

import time

from . import return_codes as rcs
from .attempt import attempt
from .errors import (ControllerError, FetchError, NetworkError, ReplyError, RequestError,
                     SlurmConfigError)
from .messages import (CONFIG_REQUEST_CLIENT, CONFIG_REQUEST_SACKD, CONFIG_REQUEST_SLURMD,
                       ConfigFile, ConfigReply)
from .transport import DEFAULT_MAX_FRAME, Address, exchange, parse_address
from .versions import NEWEST, PROTO_22_05, release_of, version_of

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union
else:
    from .records import NamedTuple

if TYPE_CHECKING:
    import ssl

    from .attempt import Exchange
    from .auth.credentials import Credentials

REQUEST_SETS = {"slurmd": CONFIG_REQUEST_SLURMD, "client": CONFIG_REQUEST_CLIENT}

# The last version that worked per controller: repeated fetches skip the probing.
_negotiated: Dict[Address, int] = {}


class FetchResult(NamedTuple):
    files: List[ConfigFile]
    spool_dir: Optional[str]
    controller: str
    protocol_version: int
    release: str
    warnings: List[str]
    address: Optional[Address] = None


def seed(versions: Dict[Address, int]) -> None:
    """Versions remembered elsewhere (known_versions): each is tried first, as if it had
    worked earlier in this process; one that fails costs one connection, then we negotiate."""
    for address, version in versions.items():
        _negotiated.setdefault(address, version)


def negotiate(address: Address, credentials: Credentials, flags: int,
              protocol: Optional[int], timeout: float, max_frame: int = DEFAULT_MAX_FRAME,
              send: Exchange = exchange, tls: Optional["ssl.SSLContext"] = None,
              port: int = 0) -> ConfigReply:
    """One controller: find a version it accepts and fetch; raise what it told us.

    A pinned version is tried alone. Otherwise the version that worked last (in this process
    or, through known_versions, an earlier one) goes first, else the newest we speak: one
    connection that already tells us what answered (an SSH or web server, say). Only when it
    is not accepted does negotiation.py search on, so a repeat fetch loads none of that.
    """
    first = protocol if protocol is not None else _negotiated.get(address, NEWEST)
    outcome = attempt(address, first, credentials, flags, timeout, max_frame, send, tls, port)
    if isinstance(outcome, ConfigReply):
        _negotiated[address] = first
        return outcome
    from .negotiation import after_refusal
    try:
        version, reply = after_refusal(address, first, outcome, protocol, credentials, flags,
                                       timeout, max_frame, send, tls, port)
    except SlurmConfigError:
        _negotiated.pop(address, None)
        raise
    _negotiated[address] = version
    return reply


def _missing_includes(reply: ConfigReply) -> List[str]:
    """Include lines naming files the reply lacks: replies before protocol 38 (22.05) never
    carry included files, and newer ones carry every include that has a bare name."""
    warnings: List[str] = []
    if reply.version >= PROTO_22_05:
        return warnings
    shipped = {f.name for f in reply.files}
    for parent in reply.files:
        if parent.content is None or not parent.name.endswith(".conf"):
            continue
        from .slurm_conf import includes
        for name in includes(bytes(parent.content)):
            if "/" not in name and name not in shipped and not any(c in name for c in "*?["):
                warnings.append("%s includes %s, which the controller did not send "
                                "(controllers before 22.05, or replies at their older "
                                "protocols, do not ship included files)" % (parent.name, name))
    return warnings


def _retryable(error: SlurmConfigError) -> bool:
    """Whether the next controller in the list might do better than this one."""
    if isinstance(error, ControllerError):
        return error.rc in rcs.STANDBY or error.rc in rcs.RATE_LIMITED
    return isinstance(error, (NetworkError, ReplyError))


def fetch(servers: Sequence[Union[str, Address]], credentials: Credentials,
          request: str = "slurmd", protocol: Optional[str] = "auto", timeout: float = 10.0,
          max_frame: int = DEFAULT_MAX_FRAME, send: Exchange = exchange,
          tls: Optional["ssl.SSLContext"] = None, retries: int = 1,
          backoff: float = 1.0, register: Optional[int] = None) -> FetchResult:
    """Fetches the configuration from the first controller of servers that serves it.

    retries is the number of passes over the list; between passes we wait backoff seconds,
    doubling each time. register (a port, 0 for the controller's SlurmdPort) also registers
    this host for pushes after a reconfigure, as sackd does (Slurm 23.11+; older
    controllers ignore it). The error names every server tried and why each failed.
    """
    if request not in REQUEST_SETS:
        raise RequestError("unknown request set %r: use slurmd or client" % request)
    if not servers:
        raise RequestError("no controller given")
    if timeout <= 0:
        raise RequestError("timeout must be positive")
    if retries < 1:
        raise RequestError("retries must be at least 1")
    pinned = None if protocol in (None, "", "auto") else version_of(str(protocol))
    credentials.refresh()
    flags = REQUEST_SETS[request] | (CONFIG_REQUEST_SACKD if register is not None else 0)
    addresses = [s if isinstance(s, Address) else parse_address(s) for s in servers]
    attempts: List[Tuple[str, SlurmConfigError]] = []
    for passes in range(retries):
        if passes:
            time.sleep(backoff * (2 ** (passes - 1)))
        for address in addresses:
            try:
                reply = negotiate(address, credentials, flags, pinned, timeout, max_frame, send,
                                  tls, register or 0)
            except SlurmConfigError as error:
                attempts.append((str(address), error))
                if isinstance(error, RequestError) or not _retryable(error):
                    raise FetchError(attempts) from None
                continue
            return FetchResult(reply.files, reply.spool_dir, str(address), reply.version,
                               release_of(reply.version), _missing_includes(reply), address)
    raise FetchError(attempts)
