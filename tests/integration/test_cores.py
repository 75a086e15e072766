"""A smoke run on the oldest and the newest ansible-core that galaxy.yml claims (2.16 and 2.21,
from the virtualenvs tests/cores.sh builds): the module straw.slurm.config_facts, the role
straw.slurm.configless, and the role in check mode with diff, through real ansible-playbook
runs against a real controller. The main virtualenv's ansible-core runs everything else."""
import json
import os
import subprocess

import pytest

from roles_support import mode, play, recap

CACHE = os.environ.get("STRAW_TEST_CACHE", "/var/tmp/straw-slurm-test")
CORES = ("2.16", "2.21")  # galaxy.yml: requires_ansible >=2.16.0; 2.21 is the newest


@pytest.fixture(scope="module", params=CORES)
def core(request):
    """The ansible-playbook of one ansible-core version."""
    playbook = os.path.join(CACHE, "venv-core-" + request.param, "bin", "ansible-playbook")
    if not os.path.exists(playbook):
        pytest.skip("no virtualenv with ansible-core %s here: `tests/cores.sh venv %s` builds it "
                    "(tests/run does)" % (request.param, request.param))
    version = subprocess.run([playbook, "--version"], stdout=subprocess.PIPE, universal_newlines=True,
                             check=True).stdout.splitlines()[0]
    assert "[core %s." % request.param in version, version
    return playbook


def role_vars(controller, conf_dir):
    return dict(configless_servers=[controller.server], configless_auth="jwt",
                configless_jwt_key=controller.jwt_key, configless_conf_dir=str(conf_dir),
                configless_packages=False, configless_services=False)


def test_module(core, controllers, run_playbook, tmp_path):
    c = controllers["26.05"]
    out = tmp_path / "facts.json"
    run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts:
        servers: [%s]
        munge_socket: %s
    - ansible.builtin.copy: {content: "{{ ansible_facts.slurm_config | to_json }}", dest: %s, mode: "0600"}
""" % (c.server, c.munge_socket, out), ansible_playbook=core)
    facts = json.loads(out.read_text())
    assert facts["release"] == "26.05" and facts["protocol_version"] == 45 << 8
    assert facts["files"]["slurm.conf"]["content"].encode() == c.expected("slurm.conf")


def test_role_then_check_mode_with_diff(core, controllers, run_playbook, tmp_path):
    c = controllers["26.05"]
    conf = tmp_path / "slurm"
    first = run_playbook(play(role_vars(c, conf)), ansible_playbook=core)
    assert recap(first.stdout)["localhost"][1] >= 1
    assert (conf / "slurm.conf").read_bytes() == c.expected("slurm.conf")
    assert mode(conf / "prolog.sh") == 0o755
    again = run_playbook(play(role_vars(c, conf)), ansible_playbook=core)
    assert recap(again.stdout)["localhost"][1] == 0, again.stdout[-3000:]
    with open(conf / "slurm.conf", "a") as handle:
        handle.write("SlurmctldDebug=error\n")
    (conf / "nodes.conf").unlink()
    before = {p.name: (p.read_bytes(), mode(p)) for p in conf.iterdir()}
    audit = run_playbook(play(role_vars(c, conf)), "--check", "--diff", ansible_playbook=core)
    assert recap(audit.stdout)["localhost"][1] == 1, audit.stdout[-3000:]
    assert "-SlurmctldDebug=error" in audit.stdout
    assert "+NodeName=n[1-4]" in audit.stdout
    assert {p.name: (p.read_bytes(), mode(p)) for p in conf.iterdir()} == before
