# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action behind straw.slurm.config_files: the same as straw.slurm.config_facts's (see there)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.straw.slurm.plugins.action.config_facts import ActionModule  # noqa: F401 pylint: disable=unused-import
