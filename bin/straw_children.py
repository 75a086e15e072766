# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The processes `straw --watch --on-change CMD` starts: the user's command through /bin/sh.

This lives beside the command's launchers, not in the library: the library is also what
Ansible's modules load, and a module starts processes only through Ansible. bin/straw and
the single file (bin/straw-pyz) hand it to the watcher.
"""

import subprocess


class Children:
    """The --on-change commands started and not yet reaped."""

    def __init__(self):
        self._running = []

    def __len__(self):
        return len(self._running)

    def start(self, command, environment):
        """Starts command with environment; the reason it could not, else None."""
        try:
            self._running.append(subprocess.Popen(["/bin/sh", "-c", command], env=environment,
                                                  stdin=subprocess.DEVNULL))
        except OSError as error:
            return error.strerror or str(error)
        return None

    def reap(self):
        """The exit statuses of the commands that ended since the last call."""
        ended = []
        for child in list(self._running):
            status = child.poll()
            if status is not None:
                self._running.remove(child)
                ended.append(status)
        return ended
