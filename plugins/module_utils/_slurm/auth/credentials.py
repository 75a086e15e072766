# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What goes in a request's auth section: the interface each auth type implements.

Each kind lives beside its own machinery and is imported only when chosen (choose.py): a
JWT fetch never loads munge's socket client, K12 or slurm.key's JSON parsing.
MungeCredentials is in munge.py, MungeKeyCredentials in munge_key.py, JwtCredentials in
jwt_credentials.py and SlurmCredentials in slurm.py.
"""

from __future__ import annotations


class Credentials:
    """Makes a fresh auth section for every request (munge refuses replays)."""

    name = "none"
    #: What to check when a controller silently drops our request.
    rejected_hint = ""

    def refresh(self) -> None:
        """Before each fetch: sources that can change under us (a token file, a key that
        a mounted secret rotates, a minted token near its expiry) are read again."""

    def auth_section(self, version: int, msg_type: int, body: bytes) -> bytes:
        raise NotImplementedError

    def use_origin(self, address: bytes) -> None:
        """The IPv4 address our credentials say they come from, where they carry one."""
