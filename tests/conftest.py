"""Shared by unit and integration tests (and ansible-test units): the library is importable
as `_slurm`, exactly as bin/straw imports it, without Ansible."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "plugins", "module_utils"))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the shared fixtures, under ansible-test too


import pytest  # noqa: E402  (after the path set-up above)

from fixtures.closing import Closer  # noqa: E402


@pytest.fixture
def closing():
    """closing(thing[, close]) -> thing, closed when the test ends (tests/fixtures/closing)."""
    closer = Closer()
    yield closer
    closer.close_all()


@pytest.fixture(scope="module")
def module_closing():
    """As closing, for what a module of tests shares: closed when the module ends."""
    closer = Closer()
    yield closer
    closer.close_all()
