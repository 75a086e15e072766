#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: config_files
short_description: Write a configuration fetched from slurmctld into a directory
version_added: 1.0.0
description:
  - Writes the files that M(straw.slurm.config_facts) returned, the way configless C(slurmd)
    writes its cache, and safer.
  - Every changed file is first written in full to a temporary file in the same directory, and
    only when all of them are written are they renamed over the old ones. A reader never sees
    half a file; a full disk or a permission error leaves every existing file as it was.
  - Files get mode 0644, or 0755 when the controller marks them executable (Prolog and Epilog
    scripts), and the owner and group asked for. The exact bytes are kept, including text that
    is not UTF-8.
  - Files the controller reports as absent are removed when O(prune=true), but only those this
    collection wrote and whose bytes are unchanged since. It records what it writes, with a
    sha256 of the bytes, in a manifest in O(path) (C(.straw-slurm-manifest), mode 0600).
    Anything else the controller reports as absent (a package's C(plugstack.conf), a copy an
    admin edited, a file from before the site went configless) is kept, listed in RV(kept) and
    named in a warning. O(prune=force) removes them all.
  - A directory written before the manifest existed has none. The first run records the files
    the controller serves (as it writes them) and removes nothing; later runs prune as above.
  - Files the controller never mentions are never touched.
author:
  - straw.slurm developers (@straw-slurm)
options:
  path:
    description: The directory to write into; created (mode 0755) when missing.
    type: path
    required: true
  files:
    description:
      - The files, keyed by name, as in RV(straw.slurm.config_facts#module:ansible_facts.slurm_config.files).
    type: dict
    required: true
  owner:
    description: Owner of the files (name or uid). Default the user the module runs as.
    type: str
  group:
    description: Group of the files (name or gid). Default that user's group.
    type: str
  prune:
    description:
      - V(true) removes the files the controller reports as absent that this collection wrote
        and that still hold the bytes it wrote; the others are kept and reported in RV(kept).
      - V(force) removes every file the controller reports as absent, whoever wrote it. This is
        the way to take over a directory.
      - V(false) removes nothing.
      - Any of Ansible's spellings of a boolean is taken as one.
    type: raw
    default: true
seealso:
  - module: straw.slurm.config_facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Text files show a unified diff; other files a size and checksum line.
      - Each file reported as absent says C(would remove X) (C(removed X)), or C(would keep X)
        (C(kept X)) and why it is not this collection's to remove.
  idempotent:
    support: full
    description: A second run with the same files changes nothing and reports no change.
  platform:
    platforms: posix
  safe_file_operations:
    support: full
    description: Files are replaced atomically, by renaming a complete temporary file over them.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
"""

EXAMPLES = r"""
- name: Fetch the configuration
  straw.slurm.config_facts:
    servers: [ctl1.example.org]

- name: Write it to /etc/slurm
  straw.slurm.config_files:
    path: /etc/slurm
    files: "{{ ansible_facts['slurm_config']['files'] }}"

- name: Take over /etc/slurm, removing every file the controller does not serve
  straw.slurm.config_files:
    path: /etc/slurm
    files: "{{ ansible_facts['slurm_config']['files'] }}"
    prune: force
"""

RETURN = r"""
written:
  description: Names of the files created or replaced (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [slurm.conf, gres.conf]
removed:
  description: Names of the files removed (or that would be).
  returned: always
  type: list
  elements: str
  sample: [topology.conf]
kept:
  description:
    - Names of the files that the controller reports as absent and that are kept (or would be)
      because this collection did not write them, or they changed since it did. Each run that
      keeps any also warns once, naming them and why.
    - Always empty with O(prune=false) or O(prune=force).
  returned: always
  type: list
  elements: str
  sample: [plugstack.conf]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.straw.slurm.plugins.module_utils._target_python import TOO_OLD

# The library needs Python 3.8 or newer: on an older one it is not imported, and main says so
# in one line instead of a SyntaxError from inside the library.
if TOO_OLD is None:
    from ansible_collections.straw.slurm.plugins.module_utils._slurm import config_dir
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.errors import SlurmConfigError
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.facts import files_from_facts
    from ansible_collections.straw.slurm.plugins.module_utils._slurm import file_diffs
    from ansible_collections.straw.slurm.plugins.module_utils._slurm import writer


def _diff(path, change, check_mode):
    def text(data):
        if data is None:
            return ''
        return data.decode('utf-8') if file_diffs.is_text(data) else file_diffs.summary(data)
    name = os.path.join(path, change.name)
    if change.action == 'attributes':
        return {'before_header': name, 'after_header': name,
                'before': '', 'after': file_diffs.describe(path, change)}
    diff = {'before_header': name if change.before is not None else '/dev/null',
            'after_header': name if change.after is not None else '/dev/null',
            'before': text(change.before), 'after': text(change.after)}
    if change.action == 'remove':  # an empty file shows no lines: say it
        diff['prepared'] = '%s %s\n' % ('would remove' if check_mode else 'removed', name)
    return diff


def _kept_diff(path, kept, check_mode):
    verb = 'would keep' if check_mode else 'kept'
    return {'prepared': '%s %s (%s)\n' % (verb, os.path.join(path, kept.name), kept.reason)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            files=dict(type='dict', required=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            prune=dict(type='raw', default=True),
        ),
        supports_check_mode=True,
    )
    if TOO_OLD:
        module.fail_json(msg=TOO_OLD)
    path = module.params['path']
    try:
        prune = config_dir.prune_mode(module.params['prune'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        uid, gid = writer.owner_ids(module.params['owner'], module.params['group'])
        files = files_from_facts(module.params['files'])
        created = not os.path.isdir(path)
        planned = config_dir.plan(path, files, prune, uid, gid)
        if not module.check_mode:
            writer.ensure_directory(path, uid, gid)
            warning = config_dir.apply(path, planned, uid, gid)
            if warning:
                module.warn(warning)
    except SlurmConfigError as exc:
        module.fail_json(msg=str(exc))
    changes = planned.changes
    if planned.kept:
        module.warn(config_dir.kept_message(path, planned.kept, module.check_mode, 'prune=force'))
    result = dict(
        changed=bool(changes) or created,
        written=[c.name for c in changes if c.action != 'remove'],
        removed=[c.name for c in changes if c.action == 'remove'],
        kept=[k.name for k in planned.kept],
    )
    if module._diff:
        result['diff'] = ([_diff(path, c, module.check_mode) for c in changes]
                          + [_kept_diff(path, k, module.check_mode) for k in planned.kept])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
