# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What follows a first attempt that was not accepted: the search for a version the
controller accepts, or the error that says why there is none.

Controllers turn a version down in one of three ways: 20.02-24.05 and 26.05+ close
silently (after sleeping 10 ms), 24.11-25.11 answer rc 1007 in their own version, and
25.11+ with HTTP on answer HTTP. The last two narrow the search (rc 1007 names the version
to try next; HTTP means 25.11 or newer, so only the versions from 25.11's up remain); after a
silent close every other version goes out at once (probe.py) and the highest accepted wins.
Only first contacts and changed controllers come here: a repeat fetch is one attempt in
client.py.
"""

from __future__ import annotations

from .attempt import attempt, controller_error, decoded, frame, rejected
from .errors import ClosedError, HttpReplyError, ReplyError
from .messages import ConfigReply, RcReply
from .versions import (HTTP_ERA, PROTO_23_11, best_within_window, described, probe_order,
                       release_of, shifted)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, List, Optional, Tuple, Union

    from .attempt import Exchange, ExchangeAll, Request
    from .transport import Address


def after_http(first: int) -> "List[int]":
    """What remains to try once version first drew HTTP: the controller is 25.11 or newer,
    so one of the versions from 25.11's up is its own (26.05 answers HTTP to 26.11's and
    accepts 26.05's, 25.11 accepts only its own of these); they go out together."""
    return [v for v in probe_order() if v >= HTTP_ERA and v != first]


def known_best(decoded_replies: "Dict[int, object]", versions: "List[int]") -> bool:
    """Whether the best answer is known already, before every version has been answered.

    Walking down from the newest: every version turned down until one decided otherwise.
    Or, where rejections are slow (controllers take about 10 ms to turn a version down, and
    accept in well under one), from the windows controllers accept: four consecutive
    versions accepted end at a 24.11+ controller's own version, and three ending at 23.11 or
    before end at the controller's own (those accept three); or rc 1007 named the
    controller's own version and it was accepted."""
    for version in versions:  # newest first
        if version not in decoded_replies:
            break
        if not rejected(decoded_replies[version], version):
            return True
    else:
        return True
    accepted = {v for v, reply in decoded_replies.items() if isinstance(reply, ConfigReply)}
    if accepted:
        top = max(accepted)
        run = 1
        while shifted(top, -run) in accepted:
            run += 1
        if run >= 4 or (run >= 3 and top <= PROTO_23_11):
            return True
    natives = [reply.version for v, reply in decoded_replies.items()
               if isinstance(reply, RcReply) and rejected(reply, v)]
    return bool(natives) and max(natives) in accepted


def _in_parallel(address: "Address", versions: "List[int]", request: "Request",
                 send_all: "ExchangeAll") -> "Dict[int, object]":
    """Every version at once; done as soon as the best answer is known."""
    frames = {version: frame(version, request) for version in versions}
    order = sorted(versions, reverse=True)
    replies: "Dict[int, object]" = {}

    def settled(outcomes: "Dict[int, Union[bytearray, Exception]]") -> bool:
        for version, outcome in outcomes.items():
            if version not in replies:
                replies[version] = decoded(outcome, version, request.flags)
        return known_best(replies, order)

    outcomes = send_all(address, frames, request.timeout, settled)
    for version, outcome in outcomes.items():
        if version not in replies:
            replies[version] = decoded(outcome, version, request.flags)
    return replies


def after_refusal(address: "Address", first: int, outcome: object, request: "Request",
                  send: "Exchange", send_all: "Optional[ExchangeAll]",
                  retry_first: bool = False) -> "Tuple[int, ConfigReply]":
    """The version and reply that a search finds after the first attempt (at first,
    answered by outcome) was not accepted; raises what the controller told us otherwise.
    A pinned version is never searched around. The candidates go out together through
    send_all; without it (a test's simulated controller), one after the other. retry_first:
    first is a version this controller accepted before."""
    results: "Dict[int, object]" = {first: outcome}
    rest: "List[int]" = []
    pinned = request.pinned
    if pinned is None and rejected(outcome, first):
        rest = [v for v in probe_order() if v != first]
        if isinstance(outcome, RcReply):  # 24.11-25.11 told us their version: jump to it
            best = best_within_window(outcome.version)
            rest = [best] if best is not None and best != first else rest
        elif isinstance(outcome, HttpReplyError):  # 25.11 or newer, older than first
            rest = after_http(first)
        if send_all is not None and len(rest) > 1:
            # A silent close is also what a passing fault looks like: a version that worked
            # before goes out once more beside the others, so that one dropped connection
            # does not settle the session on an older one.
            again = [first] if retry_first and isinstance(outcome, ClosedError) else []
            results.update(_in_parallel(address, again + rest, request, send_all))
        else:
            for version in rest:
                results[version] = attempt(address, version, request, send)
                if not rejected(results[version], version):
                    break
    tried = [first] + [v for v in rest if v in results]
    http = False
    native: "Optional[int]" = None
    credentials = request.credentials
    for version in sorted(results, reverse=True):
        reply = results[version]
        if isinstance(reply, ConfigReply):
            return version, reply
        if isinstance(reply, HttpReplyError):
            http = True
        elif isinstance(reply, RcReply) and rejected(reply, version):
            native = reply.version
        elif isinstance(reply, RcReply):
            raise controller_error(reply.rc, credentials)
        elif not isinstance(reply, ClosedError) and isinstance(reply, Exception):
            raise reply
    if native is not None:
        raise ReplyError("no common protocol version: the controller speaks Slurm %s, "
                         "we tried %s" % (release_of(native),
                                          ", ".join(release_of(v) for v in tried)),
                         "pin a release the controller accepts, or leave protocol on auto"
                         if pinned is not None else None)
    what = (described(pinned) if pinned is not None
            else "every protocol version from Slurm %s to %s"
            % (release_of(min(tried)), release_of(max(tried))))
    if http:
        raise ReplyError("the controller (Slurm 25.11 or newer, HTTP on) accepted none of "
                         "%s" % what)
    hint = "auth %s: %s" % (credentials.name, credentials.rejected_hint)
    raise ClosedError("the controller closed the connection without replying to %s: the "
                      "protocol version is not supported or the credential was rejected"
                      % what, hint)
