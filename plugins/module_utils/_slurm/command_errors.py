# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How bin/straw words a failure: one line, in the command's own option names (the
library's errors carry the options they concern as data), with the install hint for a
missing library. Loaded only when something went wrong or warns.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Optional

#: What to do about a library a feature needs.
INSTALL_HINTS = {
    "PyJWT": "pip install PyJWT",
    "dnspython": "pip install dnspython, or name the controllers on the command line",
}


class Fatal(Exception):
    """Something outside the library went wrong: one line on stderr, exit 2."""


class CommandError(Fatal):
    """The command after -- could not be started: 127 when not found, else 126, as a shell."""

    def __init__(self, errno_value: "Optional[int]", message: str) -> None:
        super().__init__(message)
        import errno
        self.status = 127 if errno_value == errno.ENOENT else 126


def command_words(message: str) -> str:
    """A library message (an error's raw() text, a warning) with the options it names said
    as this command's: --munge-socket for munge_socket, SLURM_JWT for jwt_token."""
    from .cli import COMMAND_WORDS
    from .errors import worded
    return worded(message, COMMAND_WORDS)


def explain(error: "BaseException", verbose: int) -> str:
    """One line for any failure; the library's messages never hold a secret."""
    from .errors import MissingLibraryError, SlurmConfigError
    if isinstance(error, MissingLibraryError):
        return "%s is required %s (%s)" % (error.library, error.purpose,
                                           INSTALL_HINTS.get(error.library, "install it"))
    if isinstance(error, SlurmConfigError):
        return command_words(error.raw())  # a FetchError names every server tried and why
    if isinstance(error, Fatal):
        return str(error)
    if verbose >= 2:
        import traceback
        traceback.print_exc()
    return "unexpected error: %s: %s" % (type(error).__name__, error)
