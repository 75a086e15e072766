# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action behind each straw.slurm module: ansible-core's own (normal), plus one line
instead of a traceback when the target's Python is too old.

A module checks the Python it runs on before it imports the library, but from ansible-core
2.17 on, ansible-core's own code fails first on a Python it no longer supports (3.6 from
2.17, 3.7 from 2.18), with a SyntaxError or a traceback. Only then, when the module failed
without a result of its own, this asks the interpreter it used for its version, and when
that is older than the library's oldest, the result becomes the module's one line.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.straw.slurm.plugins.module_utils._target_python import MINIMUM, too_old_message

# What the interpreter says of itself: its version, then its path (a shebang may be a command
# such as "/usr/bin/env python3").
VERSION_PROBE = "import sys; print('%d.%d.%d' % tuple(sys.version_info[:3])); print(sys.executable)"


class ActionModule(NormalAction):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        if not result.get("failed") or not self._module_gave_no_result(result):
            return result
        found = self._target_python()
        if found is None or found[0] >= MINIMUM:
            return result
        version, interpreter = found
        short = dict(failed=True, changed=False, msg=too_old_message(interpreter, "%d.%d.%d" % version))
        if "ansible_facts" in result:  # a discovered interpreter is remembered as usual
            short["ansible_facts"] = result["ansible_facts"]
        return short

    @staticmethod
    def _module_gave_no_result(result):
        """True when what failed was ansible-core's code on the target, not the module: its
        output was not a result, or ansible-core refused the Python itself."""
        msg = str(result.get("msg", ""))
        return ("module_stderr" in result or "module_stdout" in result
                or re.search(r"requires (a minimum of )?Python", msg) is not None)

    def _target_python(self):
        """((major, minor, micro), path) of the interpreter the module ran on, or None."""
        interpreter = (getattr(self, "_used_interpreter", None) or "").lstrip("#!").strip()
        if not interpreter:
            return None
        command = "%s -c %s" % (interpreter, self._connection._shell.quote(VERSION_PROBE))
        try:
            out = self._low_level_execute_command(command)
        except Exception:  # pylint: disable=broad-except
            return None
        lines = str(out.get("stdout", "")).splitlines()
        match = re.match(r"^(\d+)\.(\d+)\.(\d+)$", lines[0].strip()) if lines else None
        if out.get("rc") != 0 or match is None:
            return None
        path = lines[1].strip() if len(lines) > 1 and lines[1].strip() else interpreter
        return tuple(int(part) for part in match.groups()), path
