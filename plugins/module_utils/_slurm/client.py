# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fetch(): servers x version negotiation x credentials -> the controller's files.

Negotiation follows what controllers do with a version they do not accept: 20.02-24.05 and
26.05+ close silently, 24.11-25.11 answer rc 1007 in their own version, 25.11+ with HTTP
answer HTTP. The first attempt speaks the version that worked last (or the newest we speak);
when it is turned down, every other version goes out at once (probe.py) and the highest
accepted wins: two round trips at most, where a scan took up to eleven. Each attempt
carries a fresh credential.
"""

from __future__ import annotations

import time

from . import return_codes as rcs
from .auth.credentials import Credentials
from .errors import (ClosedError, ControllerError, FetchError, NetworkError, ReplyError,
                     RequestError, SlurmConfigError)
from .messages import (CONFIG_REQUEST_CLIENT, CONFIG_REQUEST_SACKD, CONFIG_REQUEST_SLURMD, REQUEST_CONFIG,
                       ConfigFile, ConfigReply, RcReply, decode_reply, encode_request,
                       encode_request_body)
from .transport import DEFAULT_MAX_FRAME, Address, HttpReplyError, exchange, parse_address
from .versions import (NEWEST, PROTO_22_05, PROTO_23_11, best_within_window, probe_order,
                       release_of, version_of)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union
else:
    from .records import NamedTuple

if TYPE_CHECKING:
    import ssl

REQUEST_SETS = {"slurmd": CONFIG_REQUEST_SLURMD, "client": CONFIG_REQUEST_CLIENT}
#: Controllers that answer an unknown version with HTTP (25.11 and newer) all accept 25.11's.
HTTP_ERA = 44 << 8

if TYPE_CHECKING:
    #: exchange(address, frame, timeout, max_frame, tls) -> reply frame; the only I/O we do.
    Exchange = Callable[[Address, bytes, float, int, Optional["ssl.SSLContext"]],
                        Union[bytes, bytearray]]

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


def _attempt(address: Address, version: int, credentials: Credentials, flags: int,
             timeout: float, max_frame: int, send: Exchange,
             tls: Optional["ssl.SSLContext"], port: int = 0) -> Union[ConfigReply, RcReply]:
    frame = _frame(version, credentials, flags, port)
    reply = _decoded(send(address, frame, timeout, max_frame, tls), version, flags)
    if isinstance(reply, ReplyError):
        raise reply
    return reply  # type: ignore[return-value]


def _frame(version: int, credentials: Credentials, flags: int, port: int) -> bytes:
    """A REQUEST_CONFIG frame at version, with a fresh credential."""
    body = encode_request_body(version, flags, port)
    return encode_request(version, credentials.auth_section(version, REQUEST_CONFIG, body), body)


def _controller_error(rc: int, credentials: Credentials) -> ControllerError:
    text, hint = rcs.describe(rc)
    if rc == rcs.AUTHENTICATION_ERROR:
        hint = "auth %s: %s" % (credentials.name, credentials.rejected_hint)
    return ControllerError(rc, "the controller answered %s" % text, hint)


def _rejected(outcome: object, version: int) -> bool:
    """Whether a controller turned this version down (rather than failing otherwise): a
    silent close, Slurm's HTTP answer, or rc 1007 in its own, other version."""
    if isinstance(outcome, (ClosedError, HttpReplyError)):
        return True
    return (isinstance(outcome, RcReply) and outcome.rc == rcs.AUTHENTICATION_ERROR
            and outcome.version != version)


def _decoded(frame: object, version: int, flags: int) -> object:
    """A reply frame as ConfigReply or RcReply, or the ReplyError it raises."""
    if isinstance(frame, Exception):
        return frame
    try:
        reply = decode_reply(frame, slurmd_set=bool(flags & CONFIG_REQUEST_SLURMD))  # type: ignore[arg-type]
    except ReplyError as error:
        return error
    if isinstance(reply, ConfigReply) and reply.version != version:
        # Controllers answer in the client's version; anything else is not a controller.
        return ReplyError("the controller answered a protocol %d request in protocol %d"
                          % (version >> 8, reply.version >> 8))
    return reply


def _known_best(decoded: Dict[int, object], versions: List[int]) -> bool:
    """Whether the best answer is known already, before every version has been answered.

    Walking down from the newest: every version turned down until one decided otherwise.
    Or, where rejections are slow (controllers take about 10 ms to turn a version down, and
    accept in well under one), from the windows controllers accept: four consecutive
    versions accepted end at a 24.11+ controller's own version, and three ending at 23.11 or
    before end at the controller's own (those accept three); or rc 1007 named the
    controller's own version and it was accepted."""
    for version in versions:  # newest first
        if version not in decoded:
            break
        if not _rejected(decoded[version], version):
            return True
    else:
        return True
    accepted = {v for v, reply in decoded.items() if isinstance(reply, ConfigReply)}
    if accepted:
        top = max(accepted)
        run = 1
        while top - (run << 8) in accepted:
            run += 1
        if run >= 4 or (run >= 3 and top <= PROTO_23_11):
            return True
    natives = [reply.version for v, reply in decoded.items()
               if isinstance(reply, RcReply) and _rejected(reply, v)]
    return bool(natives) and max(natives) in accepted


def _in_parallel(address: Address, versions: List[int], credentials: Credentials, flags: int,
                 timeout: float, max_frame: int, tls: Optional["ssl.SSLContext"],
                 port: int) -> Dict[int, object]:
    """Every version at once; done as soon as the best answer is known."""
    from .probe import exchange_all
    frames = {version: _frame(version, credentials, flags, port) for version in versions}
    order = sorted(versions, reverse=True)
    decoded: Dict[int, object] = {}

    def settled(outcomes: Dict[int, Union[bytearray, Exception]]) -> bool:
        for version, outcome in outcomes.items():
            if version not in decoded:
                decoded[version] = _decoded(outcome, version, flags)
        return _known_best(decoded, order)

    outcomes = exchange_all(address, frames, timeout, max_frame, tls, settled)
    for version, outcome in outcomes.items():
        if version not in decoded:
            decoded[version] = _decoded(outcome, version, flags)
    return decoded


def negotiate(address: Address, credentials: Credentials, flags: int,
              protocol: Optional[int], timeout: float, max_frame: int = DEFAULT_MAX_FRAME,
              send: Exchange = exchange, tls: Optional["ssl.SSLContext"] = None,
              port: int = 0) -> ConfigReply:
    """One controller: find a version it accepts and fetch; raise what it told us.

    A pinned version is tried alone. Otherwise the version that worked last (in this process
    or, through known_versions, an earlier one) goes first, else the newest we speak: one
    connection that already tells us what answered (an SSH or web server, say). When it is
    turned down, 24.11-25.11 name their own version in rc 1007 and HTTP comes only from
    25.11 and newer, which all accept 25.11's version: one more attempt does. Otherwise every
    other version goes out at once and the highest accepted wins. (Not blindly all at once
    from the start: slurmctld can stall for seconds on a burst of versions it turns down.)
    """
    first = protocol if protocol is not None else _negotiated.get(address, NEWEST)
    tried: List[int] = [first]
    http = False
    native: Optional[int] = None
    outcome: object
    try:
        outcome = _attempt(address, first, credentials, flags, timeout, max_frame, send, tls, port)
    except (ClosedError, HttpReplyError) as error:
        outcome = error
    results: Dict[int, object] = {first: outcome}
    if protocol is None and _rejected(outcome, first):
        rest = [v for v in probe_order() if v != first]
        if isinstance(outcome, RcReply):  # 24.11-25.11 told us their version: jump to it
            best = best_within_window(outcome.version)
            rest = [best] if best is not None and best != first else rest
        elif isinstance(outcome, HttpReplyError):  # 25.11 or newer: all accept 25.11's
            rest = [v for v in (NEWEST, HTTP_ERA) if v != first]
        if send is exchange and len(rest) > 1:
            results.update(_in_parallel(address, rest, credentials, flags, timeout, max_frame,
                                        tls, port))
        else:  # one candidate, or a test's simulated controller: one after the other
            for version in rest:
                try:
                    results[version] = _attempt(address, version, credentials, flags, timeout,
                                                max_frame, send, tls, port)
                except (ClosedError, HttpReplyError) as error:
                    results[version] = error
                if not _rejected(results[version], version):
                    break
        tried = [first] + [v for v in rest if v in results]
    for version in sorted(results, reverse=True):
        reply = results[version]
        if isinstance(reply, ConfigReply):
            _negotiated[address] = version
            return reply
        if isinstance(reply, HttpReplyError):
            http = True
        elif isinstance(reply, RcReply) and _rejected(reply, version):
            native = reply.version
        elif isinstance(reply, RcReply):
            raise _controller_error(reply.rc, credentials)
        elif not isinstance(reply, ClosedError) and isinstance(reply, Exception):
            raise reply
    _negotiated.pop(address, None)
    if native is not None:
        raise ReplyError("no common protocol version: the controller speaks Slurm %s, "
                         "we tried %s" % (release_of(native),
                                          ", ".join(release_of(v) for v in tried)),
                         "pin a release the controller accepts, or leave protocol on auto"
                         if protocol is not None else None)
    what = ("Slurm %s (protocol %d)" % (release_of(protocol), protocol >> 8)
            if protocol is not None else "every protocol version from Slurm %s to %s"
            % (release_of(min(tried)), release_of(max(tried))))
    if http:
        raise ReplyError("the controller (Slurm 25.11 or newer, HTTP on) accepted none of "
                         "%s" % what)
    hint = "auth %s: %s" % (credentials.name, credentials.rejected_hint)
    raise ClosedError("the controller closed the connection without replying to %s: the "
                      "protocol version is not supported or the credential was rejected"
                      % what, hint)


def _includes(content: bytes) -> List[str]:
    """The file names of a configuration's Include lines (Slurm matches the keyword in any case)."""
    names: List[str] = []
    if b"nclude" not in content and b"NCLUDE" not in content:
        return names  # the common case, decided without splitting a large file into lines
    for line in content.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].lower() == b"include":
            names.append(words[1].decode("utf-8", "replace"))
    return names


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
        for name in _includes(bytes(parent.content)):
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
    for attempt in range(retries):
        if attempt:
            time.sleep(backoff * (2 ** (attempt - 1)))
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
