"""A hostile controller on loopback: every malformed, lying or slow reply gives its own clear
error, through the library, the module, the role and the command, and nothing is written."""
import base64
import json
import os
import subprocess
import sys
import time

import pytest

from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.client import fetch
from _slurm.errors import SlurmConfigError
from fixtures.hostile import BINARY_CONTENT, CASES, DRIP, binary_reply
from fixtures.servers import ScriptedController
from fixtures.tokens import token
from lab import ROOT


@pytest.fixture(scope="module")
def hostile():
    """One scripted controller per case, for the whole module."""
    servers = {name: ScriptedController(lambda v, request, c=case: c.reply(v))
               for name, case in CASES.items()}
    servers["binary"] = ScriptedController(lambda v, request: binary_reply(v))
    yield servers
    for server in servers.values():
        server.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_library_names_the_fault(hostile, name):
    with pytest.raises(SlurmConfigError) as info:
        fetch([hostile[name].server], JwtCredentials("a.b.c"), timeout=3)
    for word in CASES[name].words:
        assert word in str(info.value), (name, str(info.value))


def test_a_dripping_controller_cannot_outlast_the_deadline():
    server = ScriptedController(lambda v, request: DRIP.reply(v))
    try:
        start = time.monotonic()
        with pytest.raises(SlurmConfigError, match="no complete reply within 1s"):
            fetch([server.server], JwtCredentials("a.b.c"), timeout=1)
        assert time.monotonic() - start < 2.5
    finally:
        server.close()


def test_a_frame_over_the_limit_is_refused_before_it_is_read(hostile):
    with pytest.raises(SlurmConfigError, match="exceeds the 1024-byte limit"):
        fetch([hostile["oversized frame"].server], JwtCredentials("a.b.c"), max_frame=1024)


def test_binary_content_survives(hostile):
    result = fetch([hostile["binary"].server], JwtCredentials("a.b.c"))
    files = {f.name: f for f in result.files}
    assert files["gres.conf"].content == BINARY_CONTENT
    assert files["plugstack.conf"].content == b"" and files["plugstack.conf"].exists
    assert not files["topology.conf"].exists


MODULE_CASES = ["dot-dot name", "absolute name", "duplicate name", "oversized frame",
                "unknown auth plugin", "HTTP answer", "garbage"]


def test_module_and_writer(hostile, run_collecting, tmp_path):
    """Each case through config_facts; the writer runs only after a fetch that succeeded."""
    tasks = ""
    for index, name in enumerate(MODULE_CASES + ["binary"]):
        tasks += """
    - name: fetch %(i)d
      straw.slurm.config_facts: {servers: ["%(server)s"], auth: jwt, jwt_token: "%(token)s", timeout: 3}
      register: r%(i)d
      ignore_errors: true
    - name: write %(i)d
      straw.slurm.config_files: {path: "%(dest)s/%(i)d", files: "{{ r%(i)d.ansible_facts.slurm_config.files }}"}
      when: r%(i)d is succeeded
    - ansible.builtin.set_fact: {results: "{{ results + [r%(i)d] }}"}
""" % dict(i=index, server=hostile[name].server, dest=tmp_path, token=token())
    results, _proc = run_collecting(tasks)
    for index, name in enumerate(MODULE_CASES):
        assert results[index]["failed"], name
        for word in CASES[name].words:
            assert word in results[index]["msg"], (name, results[index]["msg"])
        assert not (tmp_path / str(index)).exists()
    binary = results[-1]["ansible_facts"]["slurm_config"]["files"]["gres.conf"]
    assert binary["content"] is None
    assert base64.b64decode(binary["content_base64"]) == BINARY_CONTENT
    written = tmp_path / str(len(MODULE_CASES)) / "gres.conf"
    assert written.read_bytes() == BINARY_CONTENT


def test_role_writes_nothing_for_a_hostile_reply(hostile, run_playbook, tmp_path):
    conf = tmp_path / "slurm"
    result = run_playbook("""
- hosts: localhost
  gather_facts: false
  roles:
    - role: straw.slurm.configless
      vars: %s
""" % json.dumps(dict(configless_servers=[hostile["dot-dot name"].server], configless_auth="jwt",
                      configless_jwt_token=token(), configless_conf_dir=str(conf),
                      configless_packages=False, configless_services=False)), check=False)
    assert result.returncode != 0 and "'..'" in result.stdout
    assert not conf.exists()


@pytest.mark.parametrize("name", ["dot-dot name", "truncated frame", "name not UTF-8"])
def test_command_exits_2_and_writes_nothing(hostile, tmp_path, name):
    env = dict(os.environ, SLURM_JWT=token())
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "straw"), hostile[name].server,
                           "-o", str(tmp_path / "out")], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_command_writes_binary_content_exactly(hostile, tmp_path):
    env = dict(os.environ, SLURM_JWT=token())
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "straw"), hostile["binary"].server,
                           "-o", str(tmp_path)], env=env, check=False)
    assert proc.returncode == 0
    assert (tmp_path / "gres.conf").read_bytes() == BINARY_CONTENT
    assert (tmp_path / "plugstack.conf").read_bytes() == b""
