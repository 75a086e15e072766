"""The collection as users get it: built into a tarball, installed into a virtualenv of its
own, and used from there (no trace of this checkout on any path)."""
import json
import os
import subprocess
import sys
import tarfile

import pytest

from lab import ROOT

CACHE = os.environ.get("STRAW_TEST_CACHE", "/var/tmp/straw-slurm-test")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(out), ROOT],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    (path,) = out.glob("straw-slurm-*.tar.gz")
    return path


def test_tarball_holds_the_collection_and_nothing_of_the_lab(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for wanted in ("MANIFEST.json", "plugins/modules/config_facts.py",
                   "plugins/module_utils/_slurm/client.py", "plugins/lookup/jwt_token.py",
                   "meta/runtime.yml", "README.md", "LICENSE"):
        assert wanted in names or any(n.endswith(wanted) for n in names), wanted
    for name in names:
        assert not name.startswith(("tests/lab", ".git", ".ci", "benchmarks")), name
        # No bytecode and no tool's cache (.mypy_cache, .pytest_cache, .ruff_cache).
        assert not any(part == "__pycache__" or (part.startswith(".") and part.endswith("_cache"))
                       for part in name.split("/")), name
        assert ".hypothesis" not in name, name


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """A virtualenv with only ansible-core and PyJWT, and the tarball installed beside it."""
    venv = os.path.join(CACHE, "install-venv")
    if not os.path.exists(os.path.join(venv, "bin", "ansible-playbook")):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q",
                        "ansible-core>=2.19,<2.20", "PyJWT"], check=True,
                       stderr=subprocess.DEVNULL)
    collections = tmp_path_factory.mktemp("installed")
    subprocess.run([os.path.join(venv, "bin", "ansible-galaxy"), "collection", "install",
                    "-p", str(collections), str(tarball)], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return venv, str(collections)


def test_installed_collection_fetches_and_runs_the_role(installed, controllers, tmp_path):
    venv, collections = installed
    c = controllers["26.05"]
    out = tmp_path / "facts.json"
    play = tmp_path / "play.yml"
    play.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts:
        servers: ["%s"]
        munge_socket: %s
    - straw.slurm.config_files:
        path: %s
        files: "{{ ansible_facts.slurm_config.files }}"
    - ansible.builtin.copy: {content: "{{ ansible_facts.slurm_config | to_json }}", dest: %s, mode: "0600"}

- hosts: localhost
  gather_facts: false
  roles:
    - role: straw.slurm.configless
      vars:
        configless_servers: ["%s"]
        configless_auth: jwt
        configless_jwt_key: %s
        configless_conf_dir: %s
        configless_packages: false
        configless_services: false
""" % (c.server, c.munge_socket, tmp_path / "etc", out, c.server, c.jwt_key, tmp_path / "role"))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHON"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PYTHON_INTERPRETER=os.path.join(venv, "bin", "python"))
    proc = subprocess.run([os.path.join(venv, "bin", "ansible-playbook"), "-i", str(inventory), str(play)],
                          env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, check=False,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    facts = json.loads(out.read_text())
    assert facts["release"] == "26.05"
    assert (tmp_path / "etc" / "slurm.conf").read_bytes() == c.expected("slurm.conf")
    assert oct((tmp_path / "etc" / "prolog.sh").stat().st_mode & 0o777) == "0o755"
    assert (tmp_path / "role" / "slurm.conf").read_bytes() == c.expected("slurm.conf")  # the role
