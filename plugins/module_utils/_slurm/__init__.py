# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A client for slurmctld's configless REQUEST_CONFIG RPC.

PRIVATE to the straw.slurm collection: standard library only, no Ansible imports, so the
same code serves the module (shipped to targets by AnsiballZ), bin/straw and the tests.
"""
