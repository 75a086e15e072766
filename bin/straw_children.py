# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The processes `straw --watch --on-change CMD` starts: the user's command through /bin/sh.

This lives beside the command's launchers, not in the library: the library is also what
Ansible's modules load, and a module starts processes only through Ansible. bin/straw and
the single file (bin/straw-pyz) hand it to the watcher.
"""

import os

try:
    import _signal as signal  # signal's C core: the module's enums cost memory for good
except ImportError:
    import signal

# Popen's restore_signals: what Python ignores, the command gets back at their defaults.
DEFAULT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ")
                        if hasattr(signal, name))


class Children:
    """The --on-change commands started and not yet reaped.

    os.posix_spawn rather than subprocess: the watcher runs for days, and subprocess (with
    selectors, threading, locale, re and enum) would stay resident for all of them to start
    a command now and then."""

    def __init__(self):
        self._running = []

    def __len__(self):
        return len(self._running)

    def start(self, command, environment):
        """Starts command with environment; the reason it could not, else None."""
        try:
            pid = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", command], environment,
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)],
                                 setsigdef=DEFAULT_SIGNALS)
        except OSError as error:
            return error.strerror or str(error)
        self._running.append(pid)
        return None

    def reap(self):
        """The exit statuses of the commands that ended since the last call (minus the
        signal's number for one that a signal ended, as Popen says it)."""
        ended = []
        for pid in list(self._running):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                done, status = pid, 0
            if done == pid:
                self._running.remove(pid)
                ended.append(-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                             else os.WEXITSTATUS(status))
        return ended
