# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One REQUEST_CONFIG attempt at one protocol version: its frame, and its answer decoded and
judged (accepted, turned down, or refused for another reason).

The single attempt of a repeat fetch (client.py) and the search after a refusal
(negotiation.py) both go through here, so a reply is checked the same way whichever path
brought it.
"""

from __future__ import annotations

from . import return_codes as rcs
from .errors import ClosedError, ControllerError, HttpReplyError, ReplyError
from .messages import (CONFIG_REQUEST_SLURMD, REQUEST_CONFIG, ConfigReply, RcReply, decode_reply,
                       encode_request, encode_request_body)
from .versions import number_of

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Callable, Dict, NamedTuple, Optional, Union

    from .auth.credentials import Credentials
    from .transport import Address

    #: exchange(address, frame, timeout) -> reply frame: one connection, the only I/O here.
    Exchange = Callable[[Address, bytes, float], Union[bytes, bytearray]]
    Outcome = Union[bytearray, Exception]
    #: exchange_all(address, frames by version, timeout, settled) -> outcomes by version:
    #: every frame at once (transport.Network.exchange_all).
    ExchangeAll = Callable[[Address, Dict[int, bytes], float,
                            Callable[[Dict[int, Outcome]], bool]], Dict[int, Outcome]]
else:
    from .records import NamedTuple


class Request(NamedTuple):
    """What one fetch asks of every controller and at every version it tries."""

    credentials: "Credentials"
    flags: int  # messages.CONFIG_REQUEST_*: the file set, and registration for pushes
    port: int  # where pushes go (25.05+), 0 for SlurmdPort
    timeout: float  # for each exchange
    pinned: "Optional[int]"  # the one version to speak, else None: negotiated


def frame(version: int, request: Request) -> bytes:
    """A REQUEST_CONFIG frame at version, with a fresh credential."""
    body = encode_request_body(version, request.flags, request.port)
    return encode_request(version, request.credentials.auth_section(version, REQUEST_CONFIG, body),
                          body)


def decoded(reply_frame: object, version: int, flags: int) -> object:
    """A reply frame as ConfigReply or RcReply, or the ReplyError it raises (an exception
    given instead of a frame is passed through)."""
    if isinstance(reply_frame, Exception):
        return reply_frame
    try:
        reply = decode_reply(reply_frame, slurmd_set=bool(flags & CONFIG_REQUEST_SLURMD))  # type: ignore[arg-type]
    except ReplyError as error:
        return error
    if isinstance(reply, ConfigReply) and reply.version != version:
        # Controllers answer in the client's version; anything else is not a controller.
        return ReplyError("the controller answered a protocol %d request in protocol %d"
                          % (number_of(version), number_of(reply.version)))
    return reply


def attempt(address: "Address", version: int, request: Request, send: "Exchange") -> object:
    """One exchange: the ConfigReply or RcReply, or the ClosedError or HttpReplyError that
    may mean the version was turned down. Other failures are raised."""
    try:
        reply = decoded(send(address, frame(version, request), request.timeout), version,
                        request.flags)
    except (ClosedError, HttpReplyError) as error:
        # Kept as an outcome, not raised: without its traceback, which holds the exchange's
        # frames and their buffers (64 KiB) until the cycle collector runs.
        return error.with_traceback(None)
    if isinstance(reply, ReplyError):
        raise reply
    return reply


def rejected(outcome: object, version: int) -> bool:
    """Whether a controller turned this version down (rather than failing otherwise): a
    silent close, Slurm's HTTP answer, or rc 1007 in its own, other version."""
    if isinstance(outcome, (ClosedError, HttpReplyError)):
        return True
    return (isinstance(outcome, RcReply) and outcome.rc == rcs.AUTHENTICATION_ERROR
            and outcome.version != version)


def controller_error(rc: int, credentials: "Credentials") -> ControllerError:
    """The error for a controller's refusal rc, with the auth's hint when it is auth's."""
    text, hint = rcs.describe(rc)
    if rc == rcs.AUTHENTICATION_ERROR:
        hint = "auth %s: %s" % (credentials.name, credentials.rejected_hint)
    return ControllerError(rc, "the controller answered %s" % text, hint)
