# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by config_facts and the jwt_token lookup: whom a minted token names and
    how long it lives. Each plugin documents its own jwt_key, since where the key is read (the
    target or the Ansible controller) is what tells them apart."""

    DOCUMENTATION = r"""
options:
  jwt_user:
    description:
      - The user a token minted from O(jwt_key) names (claim C(sun)). The slurmd file set needs
        root or SlurmUser; any user the controller knows gets the client set.
    type: str
    default: slurm
  jwt_lifetime:
    description: Seconds a token minted from O(jwt_key) stays valid (claims C(iat) and C(exp)).
    type: int
    default: 300
"""
