# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fetched files as Ansible facts and back: the shape the module returns and the
writer module takes. Text that is valid UTF-8 travels as content; anything else as
content_base64 with content null, so that no byte is ever lost.

hashlib (OpenSSL, megabytes resident for good) and base64 (re) are imported only by the
functions that need them: the watcher imports this module for settings_fact alone."""

from __future__ import annotations

from .errors import RequestError
from .messages import ConfigFile
from .names import check_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import: the hints are for mypy
    from typing import Any, Dict, List, Optional


def file_fact(file: ConfigFile) -> Dict[str, Any]:
    content = file.content
    fact: Dict[str, Any] = {"exists": file.exists, "executable": file.executable,
                            "content": None, "content_base64": None,
                            "sha256": None, "size": None}
    if content is not None:
        from .sha import sha256
        fact["sha256"] = sha256()(content).hexdigest()
        fact["size"] = len(content)
        try:
            fact["content"] = str(content, "utf-8")
        except UnicodeDecodeError:
            import base64
            fact["content_base64"] = base64.b64encode(content).decode("ascii")
    return fact


def files_as_facts(files: List[ConfigFile]) -> Dict[str, Dict[str, Any]]:
    return {f.name: file_fact(f) for f in files}


def settings_fact(files: List[ConfigFile]) -> Dict[str, Any]:
    """slurm.conf's settings as Slurm reads them, its Include lines followed through the
    fetched files (an include is shipped by its bare name): see slurm_conf.py."""
    from .slurm_conf import settings
    contents = {f.name: bytes(f.content) for f in files if f.content is not None}
    return settings("slurm.conf", lambda name: contents.get(name.rsplit("/", 1)[-1]))


def fact_content(name: str, fact: Dict[str, Any]) -> Optional[bytes]:
    """The exact bytes a fact stands for, checked against its sha256 when it has one."""
    if not fact.get("exists", True):
        return None
    if fact.get("content_base64") is not None:
        import base64
        try:
            data = base64.b64decode(fact["content_base64"], validate=True)
        except (ValueError, TypeError):
            raise RequestError("file %s: content_base64 is not valid base64" % name) from None
    elif fact.get("content") is not None:
        data = str(fact["content"]).encode("utf-8", "surrogateescape")
    else:
        data = b""
    digest = fact.get("sha256")
    if digest:
        from .sha import sha256
        if sha256()(data).hexdigest() != digest:
            raise RequestError("file %s: content does not match its sha256" % name)
    return data


def files_from_facts(facts: Dict[str, Dict[str, Any]]) -> List[ConfigFile]:
    """ConfigFiles from facts (as the module returned them), names checked again."""
    if not isinstance(facts, dict):
        raise RequestError("files must be a dict keyed by file name")
    out = []
    for name, fact in facts.items():
        check_name(name)
        if not isinstance(fact, dict):
            raise RequestError("file %s: expected a dict" % name)
        content = fact_content(name, fact)
        out.append(ConfigFile(name, content, content is not None, bool(fact.get("executable"))))
    return out
