#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: config_files
short_description: Write a configuration fetched from slurmctld into a directory
version_added: 0.1.0
description:
  - Writes the files that M(straw.slurm.config_facts) returned, the way configless C(slurmd)
    writes its cache, and safer.
  - Every changed file is first written in full to a temporary file in the same directory, and
    only when all of them are written are they renamed over the old ones. A reader never sees
    half a file; a full disk or a permission error leaves every existing file as it was.
  - Files get mode 0644, or 0755 when the controller marks them executable (Prolog and Epilog
    scripts), and the owner and group asked for. The exact bytes are kept, including text that
    is not UTF-8.
  - Files the controller reports as absent are removed when O(prune=true). Files the controller
    never mentions are never touched.
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
    description: Remove the files the controller reports as absent.
    type: bool
    default: true
seealso:
  - module: straw.slurm.config_facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Text files show a unified diff; other files a size and checksum line.
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
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.straw.slurm.plugins.module_utils._slurm.errors import SlurmConfigError
from ansible_collections.straw.slurm.plugins.module_utils._slurm.facts import facts_files
from ansible_collections.straw.slurm.plugins.module_utils._slurm import file_diffs
from ansible_collections.straw.slurm.plugins.module_utils._slurm import files as writer


def _diff(path, change):
    def text(data):
        if data is None:
            return ''
        return data.decode('utf-8') if file_diffs.is_text(data) else file_diffs.summary(data)
    name = os.path.join(path, change.name)
    if change.action == 'attributes':
        return {'before_header': name, 'after_header': name,
                'before': '', 'after': file_diffs.describe(path, change)}
    return {'before_header': name if change.before is not None else '/dev/null',
            'after_header': name if change.after is not None else '/dev/null',
            'before': text(change.before), 'after': text(change.after)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            files=dict(type='dict', required=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            prune=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    path = module.params['path']
    try:
        uid, gid = writer.owner_ids(module.params['owner'], module.params['group'])
        files = facts_files(module.params['files'])
        created = not os.path.isdir(path)
        changes = writer.plan(path, files, module.params['prune'], uid, gid)
        if not module.check_mode:
            writer.ensure_directory(path, uid, gid)
            writer.apply(path, changes, uid, gid)
    except SlurmConfigError as exc:
        module.fail_json(msg=str(exc))
    result = dict(
        changed=bool(changes) or created,
        written=[c.name for c in changes if c.action != 'remove'],
        removed=[c.name for c in changes if c.action == 'remove'],
    )
    if module._diff:
        result['diff'] = [_diff(path, c) for c in changes]
    module.exit_json(**result)


if __name__ == '__main__':
    main()
