# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one line a module gives on a target Python older than the library's oldest, instead of
a SyntaxError from deep inside the library.

PRIVATE to the straw.slurm collection. Every Python compiles this file (no annotations, no
f-strings), so a module imports it first and the library only when TOO_OLD is None; the action
plugins use the same words when ansible-core itself cannot start on such a Python.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

MINIMUM = (3, 8)


def too_old_message(interpreter, version):
    """The interpreter, its version (a string such as 3.6.8), what is needed and how to choose."""
    return ("%s is Python %s, and straw.slurm needs Python %d.%d or newer on the target: point "
            "ansible_python_interpreter at a newer one (on EL8, dnf install python3.11 and set "
            "ansible_python_interpreter=/usr/bin/python3.11)" % ((interpreter, version) + MINIMUM))


# None on a Python the library runs on; otherwise the message for module.fail_json.
TOO_OLD = (too_old_message(sys.executable, "%d.%d.%d" % tuple(sys.version_info[:3]))
           if sys.version_info[:2] < MINIMUM else None)
