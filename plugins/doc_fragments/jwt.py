# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Options for minting an auth/jwt token, shared by config_facts and the jwt_token lookup."""

    DOCUMENTATION = r"""
options:
  jwt_key:
    description:
      - Path of the cluster's C(jwt_hs256.key) (C(AuthAltParameters=jwt_key=)), to mint a
        short-lived HS256 token the way C(scontrol token) does, with the claims C(iat), C(exp)
        and C(sun). Needs PyJWT where the plugin runs.
      - Anyone holding this key is root on the cluster. Prefer the P(straw.slurm.jwt_token#lookup)
        lookup, which mints on the Ansible controller so the key never reaches the targets.
    type: path
  jwt_user:
    description:
      - The user the token names (claim C(sun)). The slurmd file set needs root or SlurmUser;
        any user the controller knows gets the client set.
    type: str
    default: slurm
  jwt_lifetime:
    description: Seconds the minted token stays valid.
    type: int
    default: 300
"""
