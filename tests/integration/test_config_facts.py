"""straw.slurm.config_facts through real ansible-playbook runs against every lab controller."""
import base64
import hashlib
import json

import pytest

from lab import RELEASES

COMBOS = [(release, auth, request) for release in RELEASES
          for auth in ("munge", "munge_key", "jwt") for request in ("slurmd", "client")]


@pytest.fixture(scope="module")
def fetched(controllers, run_playbook, tmp_path_factory):
    """One playbook that fetches every combination; results keyed by (release, auth, request)."""
    out = tmp_path_factory.mktemp("facts") / "results.json"
    items = []
    for release, auth, request in COMBOS:
        c = controllers[release]
        items.append(dict(key="%s/%s/%s" % (release, auth, request), server=c.server, auth=auth,
                          request=request, munge_socket=c.munge_socket, jwt_key=c.jwt_key,
                          munge_key=c.munge_key,
                          # SlurmUser may have the slurmd set; anyone may have the client set.
                          jwt_user="slurm" if request == "slurmd" else "nobody"))
    run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Fetch from every lab controller, with no protocol given
      straw.slurm.config_facts:
        servers: ["{{ item.server }}"]
        auth: "{{ 'munge' if item.auth == 'munge_key' else item.auth }}"
        munge_socket: "{{ item.munge_socket if item.auth == 'munge' else omit }}"
        munge_key_path: "{{ item.munge_key if item.auth == 'munge_key' else omit }}"
        jwt_key: "{{ item.jwt_key if item.auth == 'jwt' else omit }}"
        jwt_user: "{{ item.jwt_user }}"
        request: "{{ item.request }}"
      loop: %s
      loop_control: {label: "{{ item.key }}"}
      register: fetched
    - name: Keep the results for the test
      ansible.builtin.copy:
        content: "{{ dict(fetched.results | map(attribute='item.key') | zip(fetched.results | map(attribute='ansible_facts.slurm_config'))) | to_json }}"
        dest: %s
        mode: "0600"
""" % (json.dumps(items), out))
    return json.loads(out.read_text())


@pytest.mark.parametrize("release, auth, request_set", COMBOS)
def test_files_equal_the_controllers_byte_for_byte(fetched, controllers, release, auth, request_set):
    facts = fetched["%s/%s/%s" % (release, auth, request_set)]
    controller = controllers[release]
    assert facts["release"] == release
    assert facts["controller"] == controller.server
    files = facts["files"]
    assert files["slurm.conf"]["exists"]
    for name, fact in files.items():
        expected = controller.expected(name)
        if fact["exists"]:
            data = (fact["content"].encode("utf-8") if fact["content"] is not None
                    else base64.b64decode(fact["content_base64"]))
            assert data == expected, name
            assert fact["sha256"] == hashlib.sha256(expected).hexdigest()
        elif release == "20.11":
            assert not expected, name  # R1 cannot tell an empty file from an absent one
        else:
            assert expected is None, name
    if request_set == "slurmd":
        assert facts["spool_dir"] == "/var/spool/slurmd-ctl"
        assert files["gres.conf"]["content"] is None  # not UTF-8: travels as base64
        assert files["gres.conf"]["content_base64"]
        assert "cgroup.conf" in files
    else:
        assert facts["spool_dir"] is None
        assert "gres.conf" not in files
    if release != "20.11":
        assert files["nodes.conf"]["exists"]  # the Included file follows its parent
        assert files["plugstack.conf"] == dict(files["plugstack.conf"], exists=True, content="", size=0)
    if release in ("24.11", "26.05") and request_set == "slurmd":
        assert files["prolog.sh"]["executable"] is True
    assert "topology.conf" in files and not files["topology.conf"]["exists"]
    settings = facts["settings"]  # slurm.conf read as Slurm reads it, its include followed
    assert settings["ClusterName"] == "lab" and settings["SlurmUser"] == "slurm"
    assert settings["SlurmctldHost"] == ["localhost(127.0.0.1)"]
    assert settings["SlurmctldPort"] == str(controller.port)
    if release != "20.11":  # 20.11 ships no included file
        assert settings["NodeName"] == [{"NodeName": "n[1-4]", "NodeAddr": "127.0.0.1", "CPUs": "2",
                                         "State": "UNKNOWN"}]
        assert settings["PartitionName"][0]["PartitionName"] == "debug"


def test_protocol_versions(fetched):
    numbers = {"20.11": 36, "22.05": 38, "24.11": 42, "26.05": 45}
    for release, number in numbers.items():
        assert fetched["%s/jwt/client" % release]["protocol_version"] == number << 8


@pytest.fixture(scope="module")
def failures(controllers, run_playbook, tmp_path_factory):
    """One playbook of fetches that must fail; each failure message keyed by task name."""
    from lab import up
    nocfg = up("24.11", name="nocfg", port=17227, mode="noconfigless")
    c22, c24, c26 = controllers["22.05"], controllers["24.11"], controllers["26.05"]
    wrong_key = tmp_path_factory.mktemp("keys") / "wrong.key"
    wrong_key.write_bytes(b"w" * 32)
    cases = {
        "unprivileged slurmd set": dict(servers=[c24.server], auth="jwt", jwt_key=c24.jwt_key, jwt_user="nobody"),
        "unreachable": dict(servers=["127.0.0.1:17999"], auth="jwt", jwt_key=c24.jwt_key),
        "configless disabled": dict(servers=[nocfg.server], auth="munge", munge_socket=c24.munge_socket),
        "wrong jwt key 22.05": dict(servers=[c22.server], auth="jwt", jwt_key=str(wrong_key)),
        "wrong jwt key 24.11": dict(servers=[c24.server], auth="jwt", jwt_key=str(wrong_key)),
        "wrong jwt key 26.05": dict(servers=[c26.server], auth="jwt", jwt_key=str(wrong_key)),
        "pinned release too old": dict(servers=[c26.server], auth="jwt", jwt_key=c26.jwt_key, protocol="20.11"),
        "pinned release too new for 24.11": dict(servers=[c24.server], auth="jwt", jwt_key=c24.jwt_key, protocol="26.05"),
        "no munged": dict(servers=[c24.server], auth="munge", munge_socket="/nonexistent/munge.socket.2"),
        "no token": dict(servers=[c24.server], auth="jwt"),
        "auth slurm": dict(servers=[c24.server], auth="slurm"),
        "unknown release": dict(servers=[c24.server], auth="jwt", jwt_key=c24.jwt_key, protocol="19.05"),
    }
    out = tmp_path_factory.mktemp("failures") / "results.json"
    tasks = "".join("""
    - name: %s
      straw.slurm.config_facts: %s
      environment: {SLURM_JWT: ""}
      register: r
      ignore_errors: true
    - ansible.builtin.set_fact: {results: "{{ results | combine({%s: r}) }}"}
""" % (name, json.dumps(dict(args, timeout=3)), "'%s'" % name) for name, args in cases.items())
    proc = run_playbook("""
- hosts: localhost
  gather_facts: false
  vars: {results: {}}
  tasks:%s
    - ansible.builtin.copy: {content: "{{ results | to_json }}", dest: %s, mode: "0600"}
""" % (tasks, out), "-vvv")
    results = json.loads(out.read_text())
    return {name: (r.get("failed"), r.get("msg", "")) for name, r in results.items()}, proc.stdout


@pytest.mark.parametrize("case, words", [
    ("unprivileged slurmd set", ["rc 2010", "request: client"]),
    ("unreachable", ["127.0.0.1:17999", "refused"]),
    ("configless disabled", ["rc 2126", "enable_configless"]),
    ("wrong jwt key 22.05", ["closed the connection", "auth jwt"]),
    ("wrong jwt key 24.11", ["rc 1007", "auth jwt"]),
    ("wrong jwt key 26.05", ["rc 1007", "auth jwt"]),
    ("pinned release too old", ["20.11"]),
    ("pinned release too new for 24.11", ["speaks Slurm 24.11"]),
    ("no munged", ["munged socket not found", "/nonexistent/munge.socket.2"]),
    ("no token", ["needs a token"]),
    ("auth slurm", ["slurm.key", "sack socket"]),
    ("unknown release", ["unknown Slurm release", "19.05"]),
])
def test_errors_name_the_cause(failures, case, words):
    failed, message = failures[0][case]
    assert failed, case
    for word in words:
        assert word in message, (case, message)
    assert "Traceback" not in message


def test_no_traceback_or_key_material_in_verbose_output(failures, controllers):
    output = failures[1]
    assert "Traceback" not in output
    for release in RELEASES:
        with open(controllers[release].jwt_key, "rb") as handle:
            key = handle.read()
        assert key.hex() not in output


def test_token_minted_on_the_controller_by_the_lookup(controllers, run_playbook, tmp_path):
    """The recommended JWT setup: the key stays on the Ansible controller."""
    out = tmp_path / "facts.json"
    c = controllers["22.05"]
    proc = run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts:
        servers: ["%s"]
        auth: jwt
        jwt_token: "{{ lookup('straw.slurm.jwt_token', jwt_key='%s', jwt_user='slurm') }}"
    - ansible.builtin.copy: {content: "{{ ansible_facts.slurm_config | to_json }}", dest: %s, mode: "0600"}
""" % (c.server, c.jwt_key, out), "-vvv")
    assert json.loads(out.read_text())["files"]["slurm.conf"]["exists"]
    assert "eyJ" not in proc.stdout  # no JWT (base64url of '{"') in the verbose output


@pytest.fixture
def without_pyjwt(tmp_path):
    """An environment in which `import jwt` fails, as on a host without PyJWT."""
    blocker = tmp_path / "nojwt"
    blocker.mkdir()
    (blocker / "jwt.py").write_text("raise ImportError('PyJWT hidden for this test')\n")
    return {"PYTHONPATH": str(blocker)}


def test_lookup_without_pyjwt_says_what_is_missing(controllers, run_playbook, without_pyjwt):
    proc = run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug: {msg: "{{ lookup('straw.slurm.jwt_token', jwt_key='%s') }}"}
""" % controllers["22.05"].jwt_key, check=False, env=without_pyjwt)
    assert proc.returncode != 0
    assert "PyJWT" in proc.stdout and "Traceback" not in proc.stdout


def test_module_minting_without_pyjwt_says_what_is_missing(controllers, run_playbook, without_pyjwt):
    proc = run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts: {servers: ["%s"], auth: jwt, jwt_key: "%s"}
""" % (controllers["24.11"].server, controllers["24.11"].jwt_key), check=False,
        env=without_pyjwt)
    assert proc.returncode != 0
    assert "Failed to import the required Python library (PyJWT)" in proc.stdout
    assert "to mint a token from a key" in proc.stdout and "Traceback" not in proc.stdout
