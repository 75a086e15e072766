# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Python's own SHA-1 and SHA-256, without hashlib: hashlib loads OpenSSL, which costs more
at start-up than a fetch spends hashing (a credential made from the key, the manifest of
what was written). hashlib's where a build lacks them."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any


def sha1() -> "Any":
    """The SHA-1 constructor."""
    try:
        from _sha1 import sha1 as made  # type: ignore[import-not-found]
    except ImportError:
        from hashlib import sha1 as made
    return made


def sha256() -> "Any":
    """The SHA-256 constructor."""
    try:
        from _sha2 import sha256 as made  # type: ignore[import-not-found]  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256 as made  # type: ignore[import-not-found]
        except ImportError:
            from hashlib import sha256 as made
    return made
