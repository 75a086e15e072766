# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One exception family whose class says whose fault a failure is.

RequestError: ours (bad options, no credential, an unusable local key or socket).
ReplyError: the peer's (a malformed or hostile reply, or a controller that said no).
NetworkError: the network's (refused, timed out, closed).
Messages never contain tokens, keys or credentials. A message that names one of the
library's options writes it {like_this}, as data: str() says it as the modules do
(munge_socket), and bin/straw in its own words (--munge-socket), through worded().
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Dict, List, Optional, Tuple

#: The library's options, as the modules name them: the names a message may hold as data.
OPTION_NAMES = ("munge_socket", "munge_key_path", "jwt_key", "jwt_user", "jwt_token",
                "jwt_token_file", "slurm_key", "slurm_jwks", "slurm_kid", "sack_socket",
                "tls_ca")


def worded(text: str, words: "Optional[Dict[str, str]]" = None) -> str:
    """text with each {option} it names said as words says it (by default, as the modules
    name it)."""
    if "{" not in text:
        return text
    for name in OPTION_NAMES:
        marker = "{%s}" % name
        if marker in text:
            text = text.replace(marker, (words or {}).get(name, name))
    return text


class SlurmConfigError(Exception):
    """Base class: every failure of the client is one of these, never anything else."""

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def raw(self) -> str:
        """The message and its hint, with the options it names still as data."""
        return self.message if not self.hint else "%s (%s)" % (self.message, self.hint)

    def __str__(self) -> str:
        return worded(self.raw())


class RequestError(SlurmConfigError):
    """Our side: the request could not be built or the options are wrong."""


class MissingLibraryError(RequestError):
    """An optional Python library (PyJWT, dnspython) is needed for what was asked."""

    def __init__(self, library: str, purpose: str) -> None:
        super().__init__("%s is required %s" % (library, purpose))
        self.library = library
        self.purpose = purpose


class ReplyError(SlurmConfigError):
    """The peer's side: the reply is malformed, unexpected or hostile."""


class HttpReplyError(ReplyError):
    """The port answered with HTTP: a 25.11+ controller that did not take our version."""


class NotSlurmError(ReplyError):
    """What answered is not slurmctld (an SSH, web or TLS server, binary noise): the message
    names it, and no other protocol version can do better, so negotiation stops here."""


class ControllerError(ReplyError):
    """The controller answered RESPONSE_SLURM_RC with a non-zero return code."""

    def __init__(self, rc: int, message: str, hint: Optional[str] = None) -> None:
        super().__init__(message, hint)
        self.rc = rc


class NetworkError(SlurmConfigError):
    """The network's side: connection refused, timed out, or closed early."""


class SlowError(NetworkError):
    """The controller took the connection but did not answer in time: a busy controller,
    which a longer wait may still serve."""


class ClosedError(NetworkError):
    """The controller closed the connection without sending a single byte."""


class FetchError(SlurmConfigError):
    """No controller could serve the request; names every server tried and why."""

    def __init__(self, attempts: List[Tuple[str, SlurmConfigError]]) -> None:
        self.attempts = attempts
        if len(attempts) == 1:
            message = _named(*attempts[0])
        else:
            message = "no controller answered: " + "; ".join(
                _named(server, error) for server, error in attempts)
        super().__init__(message)

    @property
    def last(self) -> Optional[SlurmConfigError]:
        return self.attempts[-1][1] if self.attempts else None


def _named(server: str, error: SlurmConfigError) -> str:
    """server: error, unless the error already starts by naming the server."""
    text = error.raw()
    return text if text.startswith(server + " ") else "%s: %s" % (server, text)
