"""Upstream straw, which sections 2 and 5 compare against when $STRAW_UPSTREAM names it."""
import glob
import os
import shutil
import subprocess


def python310():
    """A Python 3.10 that runs (upstream straw breaks on 3.11+), or None."""
    candidates = [os.environ.get("STRAW_UPSTREAM_PYTHON"), shutil.which("python3.10")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")),
                         reverse=True)
    for candidate in candidates:
        # A pyenv shim is on PATH even when it has no 3.10 to run: try each.
        if candidate and subprocess.run([candidate, "-c", "pass"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, check=False).returncode == 0:
            return candidate
    return None


def upstream_straw():
    """(straw.py, a Python to run it, None) from $STRAW_UPSTREAM, or (None, None, why)."""
    given = os.environ.get("STRAW_UPSTREAM")
    if not given:
        return None, None, "upstream straw is absent (STRAW_UPSTREAM, the path of its straw.py, is not set)"
    if not os.path.isfile(given):
        return None, None, "STRAW_UPSTREAM=%s does not exist" % given
    python = python310()
    if python is None:
        return None, None, ("no Python 3.10 to run upstream straw (it breaks on 3.11+): set "
                            "STRAW_UPSTREAM_PYTHON")
    return given, python, None
