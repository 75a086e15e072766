"""Shared by unit and integration tests (and ansible-test units): the library is importable
as `_slurm`, exactly as bin/straw imports it, without Ansible."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "plugins", "module_utils"))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the shared fixtures, under ansible-test too
