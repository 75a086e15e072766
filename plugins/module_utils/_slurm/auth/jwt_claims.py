# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A JWT's claims read without its key, to refuse what the controller would refuse anyway.

Slurm checks the HS256 signature, exp, and the user in sun; it checks no body hash. What
can be seen without the key is checked before the token is sent (check_token): a token
that is no JWT or has expired is refused here, with the reason, instead of a silent close
or rc 1007 from the controller. Signing and verifying, which need the key, are in jwt.py.
"""

from __future__ import annotations

import os
import time

from ..errors import RequestError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, Dict, List, Optional

#: Clocks of hosts differ: within this many seconds, time claims only warn.
CLOCK_SKEW = 60

#: Users the controller always gives the slurmd file set to (besides SlurmUser, unknown here).
PRIVILEGED_USERS = ("root", "slurm")


def token_from_environment() -> Optional[str]:
    token = os.environ.get("SLURM_JWT", "").strip()
    return token or None


def inspect_token(token: str) -> Dict[str, Any]:
    """The claims of a JWT, read without its key (the controller checks the signature).
    Raises RequestError, naming what is wrong but never the token, if it is not a JWT."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise RequestError("the token is not a JWT: it has %d dot-separated part%s, a JWT has "
                           "three" % (len(parts), "" if len(parts) == 1 else "s"))
    header = _json_part(parts[0], "header")
    claims = _json_part(parts[1], "claims")
    if not parts[2]:
        raise RequestError("the token is not signed (an empty signature); Slurm needs HS256 "
                           "(or RS256 with a jwks)")
    algorithm = header.get("alg")
    if algorithm not in ("HS256", "RS256"):
        raise RequestError("the token is signed with %r; Slurm accepts HS256 (and RS256 with a "
                           "jwks)" % (algorithm,))
    return claims


def check_token(token: str, slurmd_set: bool, now: Optional[float] = None) -> List[str]:
    """Refuses a token the controller certainly refuses (not a JWT, no exp, expired beyond
    any clock skew); returns warnings for what it may refuse, as it remains the judge."""
    claims = inspect_token(token)
    now = time.time() if now is None else now
    warnings: List[str] = []
    expires = _time_claim(claims, "exp")
    if expires is None:
        raise RequestError("the token has no exp claim: Slurm takes it as expired",
                           "mint one with an expiry (scontrol token, or {jwt_key})")
    if expires < now - CLOCK_SKEW:
        raise RequestError("the token expired %s ago (exp %s)" % (_span(now - expires), _utc(expires)),
                           "get a new one (scontrol token lifespan=SECONDS), or give {jwt_key} "
                           "to mint one per fetch")
    if expires < now:
        warnings.append("the token expired %s ago (exp %s); the controller takes it only if "
                        "its clock is behind ours" % (_span(now - expires), _utc(expires)))
    begins = _time_claim(claims, "nbf")
    if begins is not None and begins > now + CLOCK_SKEW:
        warnings.append("the token is not valid for another %s (nbf %s); the controller takes "
                        "it only if its clock is ahead of ours" % (_span(begins - now), _utc(begins)))
    issued = _time_claim(claims, "iat")
    if issued is not None and issued > now + CLOCK_SKEW:
        warnings.append("the token was issued %s in the future (iat %s): do the clocks of this "
                        "host and the token's issuer agree?" % (_span(issued - now), _utc(issued)))
    user = claims.get("sun", claims.get("username"))
    if not isinstance(user, str) or not user:
        warnings.append("the token names no user (no sun claim): the controller must be set "
                        "up to find one (AuthAltParameters=userclaimfield)")
    elif slurmd_set and user not in PRIVILEGED_USERS:
        warnings.append("the token is for user %s: the controller answers rc 2010 to a request "
                        "for the slurmd file set unless %s is SlurmUser (use a token for root "
                        "or SlurmUser, or request the client set)" % (user, user))
    return warnings


def _json_part(part: str, what: str) -> Dict[str, Any]:
    """One base64url part of a JWT, decoded to a JSON object."""
    from . import base64url
    try:
        text = base64url.decode(part).decode("utf-8")
    except ValueError:  # UnicodeDecodeError too
        text = ""
    if not text:
        raise RequestError("the token is not a JWT: its %s is not base64url" % what)
    value = _flat_object(text)
    if value is None:
        import json  # only for what the flat reader declines: it costs milliseconds to load
        try:
            value = json.loads(text)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise RequestError("the token is not a JWT: its %s is not a JSON object" % what)
    return value


def _flat_object(text: str) -> Optional[Dict[str, Any]]:
    """A JSON object of integers and plain strings (what scontrol token and PyJWT write),
    read without loading json; None for anything else, which json then reads."""
    body = text.strip()
    if len(body) < 2 or body[0] != "{" or body[-1] != "}" or "\\" in body:
        return None
    out: Dict[str, Any] = {}
    for item in body[1:-1].split(","):
        key, colon, value = (part.strip() for part in item.partition(":"))
        if not colon or len(key) < 2 or key[0] != '"' or key[-1] != '"' or '"' in key[1:-1]:
            return None
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"' and '"' not in value[1:-1]:
            out[key[1:-1]] = value[1:-1]
        elif _digits(value):
            out[key[1:-1]] = int(value)
        else:
            return None
    return out


def _digits(value: str) -> bool:
    """A JSON integer: an optional minus, then decimal digits."""
    number = value[1:] if value[:1] == "-" else value
    return bool(number) and all(c in "0123456789" for c in number)


def _time_claim(claims: Dict[str, Any], name: str) -> Optional[float]:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _span(seconds: float) -> str:
    """A duration as people say it: "42 s", "3 min 20 s", "1 h 3 min", "2 d 4 h"."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return "%d d %d h" % (days, hours) if hours else "%d d" % days
    if hours:
        return "%d h %d min" % (hours, minutes) if minutes else "%d h" % hours
    if minutes:
        return "%d min %d s" % (minutes, secs) if secs else "%d min" % minutes
    return "%d s" % secs


def _utc(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(moment))
