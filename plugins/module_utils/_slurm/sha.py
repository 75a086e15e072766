# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Python's own SHA-1 and SHA-256, without hashlib: hashlib loads OpenSSL, which costs more
at start-up than a fetch spends hashing (a credential made from the key, the manifest of
what was written). hashlib's where a build lacks them. The same for SHA3-256 and for
comparing digests in constant time (hmac imports hashlib, and so OpenSSL, for good)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, Dict


#: Each constructor once found: a module that is missing is searched for on every import.
_FOUND: "Dict[str, Any]" = {}


def _constructor(name: str, *modules: str) -> "Any":
    """hashlib's constructor name, from the first of Python's private modules that has it,
    else from hashlib."""
    made = _FOUND.get(name)
    if made is None:
        for module in modules:
            try:
                made = getattr(__import__(module), name)
                break
            except (ImportError, AttributeError):
                continue
        else:
            import hashlib
            made = getattr(hashlib, name)
        _FOUND[name] = made
    return made


def sha1() -> "Any":
    """The SHA-1 constructor."""
    return _constructor("sha1", "_sha1")


def sha256() -> "Any":
    """The SHA-256 constructor (in _sha2 from Python 3.12, _sha256 before)."""
    return _constructor("sha256", "_sha2", "_sha256")


def sha3_256() -> "Any":
    """The SHA3-256 constructor."""
    return _constructor("sha3_256", "_sha3")


def compare_digest(a: bytes, b: bytes) -> bool:
    """hmac.compare_digest, without importing hmac (which loads OpenSSL)."""
    try:
        import _operator
        return bool(_operator._compare_digest(a, b))
    except (ImportError, AttributeError):  # an interpreter without CPython's C module
        import hmac
        return hmac.compare_digest(a, b)
