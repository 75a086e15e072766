# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Strict base64url without padding (RFC 7515), the encoding of every JWT part.

Strict because a lenient decoder gives one value many spellings (junk characters skipped,
extra padding, unused low bits set): a replayed token could then pass for a new one. Only
the one canonical spelling of a value decodes; anything else is a ValueError.
"""

from __future__ import annotations

import binascii

ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URL = bytes.maketrans(b"+/", b"-_")


def decode(text: "str | bytes") -> bytes:
    """The bytes text encodes; ValueError unless text is their canonical spelling."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    if not ALPHABET.issuperset(raw) or len(raw) % 4 == 1:
        raise ValueError("not base64url")
    try:
        value = binascii.a2b_base64(raw.translate(_TO_STANDARD) + b"=" * (-len(raw) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
    if encode(value) != raw:  # unused bits set: another spelling of the same bytes
        raise ValueError("not canonical base64url")
    return value


def encode(value: bytes) -> bytes:
    return binascii.b2a_base64(value, newline=False).translate(_TO_URL).rstrip(b"=")
