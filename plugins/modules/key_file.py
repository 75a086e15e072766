#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: key_file
short_description: Install a secret key (munge.key, slurm.key) from its bytes in base64
version_added: 1.0.0
description:
  - Writes a key file from base64, byte for byte. Keys are random bytes, which
    M(ansible.builtin.copy) with C(content) cannot carry.
  - The file is replaced atomically (a complete temporary file renamed over it) with the owner,
    group and mode asked for; nothing is written when the bytes, owner and mode already match.
  - The key never appears in the result, the diff or an error message. Diff mode says what
    would change - a key created or replaced, its owner, group or mode - never what the key
    holds, its length or a digest of it.
  - The P(straw.slurm.configless#role) role installs the munge key or C(slurm.key) with this
    module (from O(straw.slurm.configless#role:main:configless_munge_key) or
    O(straw.slurm.configless#role:main:configless_slurm_key)).
author:
  - straw.slurm developers (@straw-slurm)
options:
  path:
    description: Where the key goes. Its directory must exist.
    type: path
    required: true
  content_base64:
    description: The key's bytes, base64-encoded (normally from a vault).
    type: str
    required: true
  owner:
    description: Owner (name or uid).
    type: str
  group:
    description: Group (name or gid).
    type: str
  mode:
    description: Mode, as an octal string.
    type: str
    default: '0400'
seealso:
  - module: straw.slurm.config_facts
    description: >-
      Fetches with the keys this module installs: a munge key with no munged
      (O(straw.slurm.config_facts#module:munge_key_path)), or C(slurm.key) for auth/slurm
      (O(straw.slurm.config_facts#module:slurm_key)).
  - module: ansible.builtin.copy
    description: For text files; its O(ansible.builtin.copy#module:content) cannot carry a key's random bytes.
  - name: Slurm's authentication plugins
    link: https://slurm.schedmd.com/authentication.html
    description: What C(munge.key) and C(slurm.key) are, and who must hold them.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: partial
    details: Says whether the key, its owner, group or mode would change, never what the key holds.
  idempotent:
    support: full
    description: Nothing is written when the bytes, owner and mode already match.
  platform:
    platforms: posix
  safe_file_operations:
    support: full
    description: The key is replaced atomically, by renaming a complete temporary file over it.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
"""

EXAMPLES = r"""
- name: Install the cluster's munge key
  straw.slurm.key_file:
    path: /etc/munge/munge.key
    content_base64: "{{ vault_munge_key_b64 }}"
    owner: munge
    group: munge
    mode: '0400'
"""

RETURN = r"""
path:
  description: The key's path.
  returned: always
  type: str
  sample: /etc/munge/munge.key
"""

import base64
import binascii
import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.straw.slurm.plugins.module_utils._target_python import TOO_OLD

# The library needs Python 3.8 or newer: on an older one it is not imported, and main says so
# in one line instead of a SyntaxError from inside the library.
if TOO_OLD is None:
    from ansible_collections.straw.slurm.plugins.module_utils._slurm import writer
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.errors import SlurmConfigError
    from ansible_collections.straw.slurm.plugins.module_utils._slurm.messages import ConfigFile


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def describe(path, key_state, uid, gid, mode):
    """One line for the diff: the key as a state (never its bytes), owner, group and mode."""
    return '%s: %s, owner %s, group %s, mode %04o\n' % (
        os.path.basename(path), key_state, _name(pwd.getpwuid, uid), _name(grp.getgrgid, gid), mode)


def diff_of(path, change, uid, gid, mode):
    """What replacing the key would change, said without the key: before and after."""
    if change.before is None:
        after_uid = os.geteuid() if uid is None else uid
        after_gid = os.getegid() if gid is None else gid
        return {'before_header': path, 'after_header': path, 'before': '',
                'after': describe(path, 'a key', after_uid, after_gid, mode)}
    info = os.stat(path)
    after_state = 'a different key' if change.action == 'update' else 'the same key'
    return {'before_header': path, 'after_header': path,
            'before': describe(path, 'a key', info.st_uid, info.st_gid, info.st_mode & 0o7777),
            'after': describe(path, after_state, info.st_uid if uid is None else uid,
                              info.st_gid if gid is None else gid, mode)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            content_base64=dict(type='str', required=True, no_log=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='str', default='0400'),
        ),
        supports_check_mode=True,
    )
    if TOO_OLD:
        module.fail_json(msg=TOO_OLD)
    path = module.params['path']
    try:
        key = base64.b64decode(module.params['content_base64'], validate=True)
    except (binascii.Error, ValueError):
        module.fail_json(msg='content_base64 for %s is not valid base64' % path)
    if not key:
        module.fail_json(msg='the key for %s is empty' % path)
    try:
        mode = int(module.params['mode'], 8)
    except ValueError:
        module.fail_json(msg='mode %r is not an octal number' % module.params['mode'])
    directory, name = os.path.split(path)
    if not module.check_mode and not os.path.isdir(directory):
        module.fail_json(msg='the directory %s does not exist' % directory)
    diff = None
    try:
        uid, gid = writer.owner_ids(module.params['owner'], module.params['group'])
        changes = writer.plan(directory, [ConfigFile(name, key, True, False)], False, uid, gid, mode)
        if module._diff and changes:
            diff = diff_of(path, changes[0], uid, gid, mode)  # before the key is replaced
        if not module.check_mode:
            writer.apply(directory, changes, uid, gid)
    except SlurmConfigError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=bool(changes), path=path)
    if diff is not None:
        result['diff'] = diff
    module.exit_json(**result)


if __name__ == '__main__':
    main()
