# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fetch session: servers x version negotiation x credentials -> the controller's files.

The session belongs to its caller (bin/straw, the config_facts module, the watcher), which
builds it once from its options and fetches through it as often as it needs. It holds what
was learned on the way: the version each controller accepted, and (in its Network) where
each was reached. The first attempt speaks the version that worked last (or the newest we
speak); when it is turned down, negotiation.py finds the controller's, in two round trips
at most. Each attempt carries a fresh credential.
"""

from __future__ import annotations

import time

from . import return_codes as rcs
from .attempt import Request, attempt
from .errors import (ControllerError, FetchError, NetworkError, ReplyError, RequestError,
                     SlowError, SlurmConfigError)
from .messages import (CONFIG_REQUEST_CLIENT, CONFIG_REQUEST_SACKD, CONFIG_REQUEST_SLURMD,
                       ConfigFile, ConfigReply)
from .transport import DEFAULT_MAX_FRAME, Address, Network, parse_address
from .versions import NEWEST, PROTO_22_05, release_of, version_of

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union
else:
    from .records import NamedTuple

if TYPE_CHECKING:
    import ssl

    from .attempt import Exchange, ExchangeAll, Outcome
    from .pace import Backoff
    from .auth.credentials import Credentials

REQUEST_SETS = {"slurmd": CONFIG_REQUEST_SLURMD, "client": CONFIG_REQUEST_CLIENT}
#: The longest wait between passes over the servers while retry_for lasts.
RETRY_WAIT_MAX = 30.0
#: The longest a later pass waits for a controller that was too slow to answer in time.
PATIENCE_MAX = 120.0
_UNTIL_THE_END = float("inf")  # a lone controller's patience: all retry_for has left


class FetchResult(NamedTuple):
    files: List[ConfigFile]
    spool_dir: Optional[str]
    controller: str
    protocol_version: int
    release: str
    warnings: List[str]
    address: Optional[Address] = None


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


def _passing(error: SlurmConfigError) -> bool:
    """Whether the same controller might do better later: it was unreachable, silent, slow
    or busy, or a backup in standby (a takeover may follow). A reply that was not Slurm's,
    or a version no one shares, stays as it is."""
    if isinstance(error, ControllerError):
        return error.rc in rcs.STANDBY or error.rc in rcs.RATE_LIMITED
    return isinstance(error, NetworkError)


class Session:
    """Fetches for one caller, from the first of its servers that serves the files.

    request is the file set (slurmd or client) and protocol a release to pin ("auto":
    negotiated). retries is the number of passes over the servers, backoff the wait before
    the second (doubling after, drawn at random: pace.Backoff); retry_for keeps passing over
    them until that many seconds have gone by, while what failed may pass (an unreachable,
    busy, stalled or standby controller). A queue of clients that all give up at the same
    timeout and join its back again is never served, as the controller answers the requests
    they left first: so a controller that took the connection but did not answer in time is
    given twice as long at the next pass (up to PATIENCE_MAX, and never past retry_for), and a
    lone controller within retry_for, with no one else to ask, until retry_for ends
    (sockets.keep_alive notices its host going away meanwhile). A new fetch starts from the
    timeout given, so that one fetch of a watcher, which sees no signal meanwhile, never
    holds it longer than that. versions_path is a known_versions file: its versions are tried
    first, and a negotiated one is written back when remember is set.
    exchange and exchange_all replace the network (tests' simulated controllers); without
    exchange_all, the versions a negotiation tries go one after the other.
    """

    def __init__(self, servers: Sequence[Union[str, Address]], credentials: Credentials,
                 request: str = "slurmd", protocol: Optional[str] = "auto",
                 timeout: float = 10.0, retries: int = 1, backoff: float = 1.0,
                 retry_for: float = 0.0,
                 network: Optional[Network] = None, versions_path: Optional[str] = None,
                 remember: bool = True, exchange: Optional[Exchange] = None,
                 exchange_all: Optional[ExchangeAll] = None) -> None:
        if request not in REQUEST_SETS:
            raise RequestError("unknown request set %r: use slurmd or client" % request)
        if not servers:
            raise RequestError("no controller given")
        if timeout <= 0:
            raise RequestError("timeout must be positive")
        if retries < 1:
            raise RequestError("retries must be at least 1")
        self.servers = [s if isinstance(s, Address) else parse_address(s) for s in servers]
        self.credentials = credentials
        self.request = request
        self.pinned = None if protocol in (None, "", "auto") else version_of(str(protocol))
        if retry_for < 0:
            raise RequestError("retry_for must not be negative")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.retry_for = retry_for
        self.network = network if network is not None else Network()
        self.exchange = exchange if exchange is not None else self.network.exchange
        self.exchange_all = (exchange_all if exchange is not None
                             else _all_at_once(self.network))  # type: Optional[ExchangeAll]
        #: The last version that worked per controller: repeated fetches skip the probing.
        self.negotiated: Dict[Address, int] = {}
        self.versions_path = versions_path
        self.remember = remember and self.pinned is None
        if versions_path:
            from . import known_versions
            self.negotiated.update(known_versions.load(versions_path))

    def fetch(self, register: Optional[int] = None, request: Optional[str] = None) -> FetchResult:
        """The files, from the first server that serves them; FetchError names every server
        tried and why each failed. register (a port, 0 for the controller's SlurmdPort) also
        registers this host for pushes after a reconfigure, as sackd does (Slurm 23.11+;
        older controllers ignore it)."""
        self.credentials.refresh()
        flags = (REQUEST_SETS[request or self.request]
                 | (CONFIG_REQUEST_SACKD if register is not None else 0))
        asked = Request(self.credentials, flags, register or 0, self.timeout, self.pinned)
        attempts: List[Tuple[str, SlurmConfigError]] = []
        waits: Optional[Backoff] = None
        until = time.monotonic() + self.retry_for
        patience: Dict[Address, float] = {}  # for controllers too slow to answer, this fetch
        alone = len(self.servers) == 1 and self.retry_for > 0
        passes = 0
        while passes < self.retries or time.monotonic() < until:
            if passes and not any(_passing(error) for _server, error in attempts[-len(self.servers):]):
                break  # nothing that failed in the last pass would change by waiting
            if passes:
                if waits is None:
                    from .pace import Backoff
                    waits = Backoff(self.backoff, RETRY_WAIT_MAX)
                wait = waits.next()
                if passes >= self.retries:  # within retry_for: never wait past it
                    wait = min(wait, max(0.0, until - time.monotonic()))
                time.sleep(wait)
            passes += 1
            if passes > self.retries:  # name each server's latest failure, not every one
                del attempts[:]
            for address in self.servers:
                try:
                    version, reply = self.negotiate(address, self._patient(
                        asked, patience.get(address), until if passes > self.retries or alone else None))
                except SlurmConfigError as error:
                    attempts.append((str(address), error))
                    if isinstance(error, SlowError):  # it has our request queued
                        patience[address] = (_UNTIL_THE_END if alone else
                                             min(2 * patience.get(address, self.timeout),
                                                 max(PATIENCE_MAX, self.timeout)))
                    if isinstance(error, RequestError) or not _retryable(error):
                        raise FetchError(attempts) from None
                    continue
                self._learned(address, version)
                return FetchResult(reply.files, reply.spool_dir, str(address), reply.version,
                                   release_of(reply.version), _missing_includes(reply), address)
        raise FetchError(attempts)

    def _patient(self, asked: Request, patience: Optional[float],
                 until: Optional[float]) -> Request:
        """asked, waiting patience seconds for each reply (within retry_for: no later than
        until), never less than the timeout given."""
        if patience is None:
            return asked
        if until is not None:
            patience = min(patience, until - time.monotonic())
        return asked._replace(timeout=max(self.timeout, patience))

    def negotiate(self, address: Address, request: Request) -> Tuple[int, ConfigReply]:
        """One controller: a version it accepts, and its reply; raises what it told us.

        A pinned version is tried alone. Otherwise the version that worked last goes first,
        else the newest we speak: one connection that already tells us what answered (an SSH
        or web server, say). Only when it is not accepted does negotiation.py search on, so
        a repeat fetch loads none of that."""
        remembered = self.negotiated.get(address)
        first = request.pinned if request.pinned is not None else remembered or NEWEST
        outcome = attempt(address, first, request, self.exchange)
        if isinstance(outcome, ConfigReply):
            return first, outcome
        from .negotiation import after_refusal
        try:
            return after_refusal(address, first, outcome, request, self.exchange, self.exchange_all,
                                 retry_first=first == remembered)
        except SlurmConfigError:
            self.negotiated.pop(address, None)
            raise

    def _learned(self, address: Address, version: int) -> None:
        if self.negotiated.get(address) == version:
            return
        self.negotiated[address] = version
        if self.remember and self.versions_path:
            from . import known_versions
            known_versions.remember(self.versions_path, address, version)


def _all_at_once(network: Network) -> ExchangeAll:
    """Every version at once over network's sockets (probe.py, loaded only by a search)."""
    def exchange_all(address: Address, frames: Dict[int, bytes], timeout: float,
                     settled: Callable[[Dict[int, Outcome]], bool]) -> Dict[int, Outcome]:
        from .probe import exchange_all as at_once
        return at_once(network, address, frames, timeout, settled)
    return exchange_all


def fetch(servers: Sequence[Union[str, Address]], credentials: Credentials,
          request: str = "slurmd", protocol: Optional[str] = "auto", timeout: float = 10.0,
          max_frame: int = DEFAULT_MAX_FRAME, tls: Optional["ssl.SSLContext"] = None,
          retries: int = 1, backoff: float = 1.0, register: Optional[int] = None,
          exchange: Optional[Exchange] = None, retry_for: float = 0.0) -> FetchResult:
    """One fetch in a session of its own (see Session)."""
    return Session(servers, credentials, request, protocol, timeout, retries, backoff,
                   retry_for, Network(tls, max_frame), exchange=exchange).fetch(register)
