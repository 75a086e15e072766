# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How bin/straw words a failure: one line, in the command's own option names, with the
install hint for a missing library. Loaded only when something went wrong or warns.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import List, Optional

#: What to do about a library a feature needs.
INSTALL_HINTS = {
    "PyJWT": "pip install PyJWT",
    "dnspython": "pip install dnspython, or name the controllers on the command line",
}

# The library names its options as the Ansible module does; the command says them its way.
OPTION_NAMES = {"munge_socket": "--munge-socket", "munge_key_path": "--munge-key",
                "jwt_key": "--jwt-key", "jwt_user": "--jwt-user",
                "jwt_token": "SLURM_JWT", "slurm_key": "--slurm-key", "slurm_jwks": "--slurm-jwks",
                "slurm_kid": "--slurm-kid", "sack_socket": "--sack-socket", "tls_ca": "--tls-ca"}


class Fatal(Exception):
    """Something outside the library went wrong: one line on stderr, exit 2."""


class CommandError(Fatal):
    """The command after -- could not be started: 127 when not found, else 126, as a shell."""

    def __init__(self, errno_value: "Optional[int]", message: str) -> None:
        super().__init__(message)
        import errno
        self.status = 127 if errno_value == errno.ENOENT else 126


def command_words(message: str) -> str:
    """The library's option names (munge_socket) as this command's (--munge-socket), where
    they stand as words: never inside a path such as /etc/slurm/slurm_key."""
    out = []
    for index, word in enumerate(_words(message)):
        bare = word.rstrip(" (,").rstrip("),;:")
        out.append(OPTION_NAMES[bare] + word[len(bare):] if index and bare in OPTION_NAMES
                   else word)
    return "".join(out)


def _words(message: str) -> "List[str]":
    """message split after spaces, '(' and ',', keeping every character."""
    words, start = [], 0
    for index, char in enumerate(message):
        if char in " (,":
            words.append(message[start:index + 1])
            start = index + 1
    words.append(message[start:])
    return [w for w in words if w]


def explain(error: "BaseException", verbose: int) -> str:
    """One line for any failure; the library's messages never hold a secret."""
    from .errors import MissingLibraryError, SlurmConfigError
    if isinstance(error, MissingLibraryError):
        return "%s is required %s (%s)" % (error.library, error.purpose,
                                           INSTALL_HINTS.get(error.library, "install it"))
    if isinstance(error, (Fatal, SlurmConfigError)):
        return command_words(str(error))  # a FetchError names every server tried and why
    if verbose >= 2:
        import traceback
        traceback.print_exc()
    return "unexpected error: %s: %s" % (type(error).__name__, error)
