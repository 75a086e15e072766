# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: jwt_token
short_description: Mint a short-lived Slurm auth/jwt token on the Ansible controller
version_added: 1.0.0
description:
  - Mints an HS256 token from the cluster's C(jwt_hs256.key), as C(scontrol token) would, on the
    Ansible controller. Pass it to M(straw.slurm.config_facts) as
    O(straw.slurm.config_facts#module:jwt_token) so that the key never has to reach the targets.
    This is the recommended way to use auth/jwt.
  - The token is a secret for its lifetime. Use it in module parameters marked no_log (such as
    C(jwt_token)) or set C(no_log) where you store it.
requirements:
  - PyJWT on the Ansible controller.
author:
  - straw.slurm developers (@straw-slurm)
options:
  _terms:
    description: Not used.
    required: false
  jwt_key:
    description:
      - Path on the Ansible controller of the cluster's C(jwt_hs256.key)
        (C(AuthAltParameters=jwt_key=)). The token is signed with it, HS256, the way
        C(scontrol token) does (see O(jwt_user) and O(jwt_lifetime)). Must be given.
      - Anyone holding this key is root on the cluster. It is read here, on the Ansible
        controller, and never sent to the targets; only the short-lived token is.
    type: path
extends_documentation_fragment:
  - straw.slurm.jwt
seealso:
  - module: straw.slurm.config_facts
    description: >-
      Takes the token as O(straw.slurm.config_facts#module:jwt_token), with
      O(straw.slurm.config_facts#module:auth=jwt); the P(straw.slurm.configless#role) role
      takes it as O(straw.slurm.configless#role:main:configless_jwt_token).
  - name: Slurm's JWT authentication
    link: https://slurm.schedmd.com/jwt.html
    description: How a cluster turns on auth/jwt (C(AuthAltTypes=auth/jwt)) and where C(jwt_hs256.key) lives.
"""

EXAMPLES = r"""
- name: Fetch the client set with a token minted on the controller
  straw.slurm.config_facts:
    servers: [ctl1.example.org]
    auth: jwt
    jwt_token: "{{ lookup('straw.slurm.jwt_token', jwt_key='/secrets/jwt_hs256.key', jwt_user='slurm') }}"
"""

RETURN = r"""
_raw:
  description: One token.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase

from ansible_collections.straw.slurm.plugins.module_utils._slurm.auth.jwt import mint_token
from ansible_collections.straw.slurm.plugins.module_utils._slurm.errors import (
    MissingLibraryError, SlurmConfigError)


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        key = self.get_option('jwt_key')
        if not key:
            raise AnsibleLookupError('straw.slurm.jwt_token needs jwt_key, the path of jwt_hs256.key')
        try:
            token = mint_token(key, self.get_option('jwt_user'), self.get_option('jwt_lifetime'))
        except MissingLibraryError as exc:
            raise AnsibleLookupError(missing_required_lib(exc.library, reason=exc.purpose)) from None
        except SlurmConfigError as exc:
            raise AnsibleLookupError(str(exc)) from None
        return [token]
