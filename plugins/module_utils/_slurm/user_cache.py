# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where straw.slurm keeps what it can always rebuild: the versions controllers accepted,
and the command's bytecode where the collection's tree is read-only. One place, so that
clearing it is one command. Imports nothing: bin/straw reads it before anything else.
"""

from __future__ import annotations

import os


def cache_directory() -> str:
    """$XDG_CACHE_HOME/straw-slurm where that is set; else /var/cache/straw-slurm for root
    (a service's CacheDirectory=straw-slurm) and ~/.cache/straw-slurm for others."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base and os.geteuid() == 0:
        return "/var/cache/straw-slurm"
    return os.path.join(base or os.path.join(os.path.expanduser("~"), ".cache"), "straw-slurm")
