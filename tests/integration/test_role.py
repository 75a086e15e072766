"""The role straw.slurm.configless through real ansible-playbook runs: a client host in a
temporary tree, idempotence, pruning, --check --diff audits, a fleet fetching once, an image
build over a chroot connection, munge keys, and secrets kept out of the output."""
import base64
import json
import os
import subprocess

import pytest

from _slurm.auth.jwt import mint_token
from roles_support import community_general, copy_image, mode, play, processes_rooted_in, recap


def rpcs(controller):
    return controller.log().count("Processing RPC: REQUEST_CONFIG")


def base_vars(controller, conf_dir, auth="jwt", **extra):
    values = dict(configless_servers=[controller.server], configless_auth=auth,
                  configless_conf_dir=str(conf_dir), configless_packages=False,
                  configless_services=False)
    if auth == "jwt":
        values.update(configless_jwt_key=controller.jwt_key)
    else:
        values.update(configless_munge_socket=controller.munge_socket,
                      configless_munge_key_path=str(conf_dir) + "-munge/munge.key")
    values.update(extra)
    return values


@pytest.mark.parametrize("release, auth", [("24.11", "jwt"), ("26.05", "munge"), ("22.05", "munge")])
def test_client_host(controllers, run_playbook, tmp_path, munge_user, release, auth):
    c = controllers[release]
    conf = tmp_path / "etc" / "slurm"
    conf.mkdir(parents=True)
    (conf / "topology.conf").write_text("stale\n")  # reported absent; not known to be ours
    (conf / "local.conf").write_text("mine\n")      # the controller never mentions it
    extra = {}
    if auth == "munge":
        with open(c.munge_key, "rb") as handle:
            extra["configless_munge_key"] = base64.b64encode(handle.read()).decode()
    first = run_playbook(play(base_vars(c, conf, auth, **extra)))
    assert recap(first.stdout)["localhost"][1] >= 1
    for name in os.listdir(c.conf_dir):
        if name in ("slurm.conf", "nodes.conf", "gres.conf", "cgroup.conf", "plugstack.conf", "prolog.sh") \
                and (name != "prolog.sh" or release != "22.05"):
            assert (conf / name).read_bytes() == c.expected(name), name  # gres.conf is not UTF-8
            assert os.stat(conf / name).st_uid == 0
            assert mode(conf / name) == (0o755 if name == "prolog.sh" else 0o644), name
    assert (conf / "topology.conf").read_text() == "stale\n"  # pruned only if we wrote it
    assert "kept %s/topology.conf" % conf in first.stdout
    assert (conf / "local.conf").read_text() == "mine\n"
    if auth == "munge":
        key = conf.parent / "slurm-munge" / "munge.key"
        with open(c.munge_key, "rb") as handle:
            assert key.read_bytes() == handle.read()
        assert mode(key) == 0o400 and mode(key.parent) == 0o700
        assert os.stat(key).st_uid == munge_user.pw_uid
    second = run_playbook(play(base_vars(c, conf, auth, **extra)))
    assert recap(second.stdout)["localhost"][1] == 0, second.stdout[-3000:]


def test_prune_off_keeps_files_the_controller_reports_absent(controllers, run_playbook, tmp_path):
    c = controllers["24.11"]
    conf = tmp_path / "slurm"
    conf.mkdir()
    (conf / "topology.conf").write_text("kept\n")
    run_playbook(play(base_vars(c, conf, configless_prune=False)))
    assert (conf / "topology.conf").read_text() == "kept\n"
    assert (conf / "slurm.conf").exists()


def test_check_diff_reports_drift_and_changes_nothing(controllers, run_playbook, tmp_path):
    c = controllers["26.05"]
    conf = tmp_path / "slurm"
    run_playbook(play(base_vars(c, conf)))
    in_sync = run_playbook(play(base_vars(c, conf)), "--check", "--diff")
    assert recap(in_sync.stdout)["localhost"][1] == 0
    with open(conf / "slurm.conf", "a") as handle:
        handle.write("SlurmctldDebug=error\n")
    os.chmod(conf / "cgroup.conf", 0o600)
    (conf / "nodes.conf").unlink()
    before = {p.name: (p.read_bytes(), mode(p)) for p in conf.iterdir()}
    audit = run_playbook(play(base_vars(c, conf)), "--check", "--diff")
    assert recap(audit.stdout)["localhost"][1] == 1
    assert "-SlurmctldDebug=error" in audit.stdout           # a unified diff of slurm.conf
    assert "cgroup.conf: owner, group or mode differ" in audit.stdout
    assert "+NodeName=n[1-4]" in audit.stdout                 # nodes.conf would come back
    assert {p.name: (p.read_bytes(), mode(p)) for p in conf.iterdir()} == before


@pytest.mark.parametrize("fetch_from, expected_rpcs", [("h1", 1), (None, 3)])
def test_fleet_fetches_once_with_fetch_from(controllers, run_playbook, tmp_path, fetch_from, expected_rpcs):
    c = controllers["22.05"]
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("".join("h%d ansible_connection=local configless_conf_dir=%s\n"
                                 % (i, tmp_path / ("h%d" % i)) for i in (1, 2, 3)))
    role_vars = base_vars(c, "unused")
    del role_vars["configless_conf_dir"]
    if fetch_from:
        role_vars["configless_fetch_from"] = fetch_from
    # The protocol is pinned so that each fetch is exactly one RPC, without probing.
    role_vars["configless_protocol"] = "22.05"
    before = rpcs(c)
    run_playbook(play(role_vars, hosts="all"), inventory=str(inventory))
    assert rpcs(c) - before == expected_rpcs
    for i in (1, 2, 3):
        assert (tmp_path / ("h%d" % i) / "slurm.conf").read_bytes() == c.expected("slurm.conf")


def test_image_build_over_a_chroot_connection(controllers, run_playbook, tmp_path, ansible_env):
    c = controllers["26.05"]
    image = copy_image(str(tmp_path / "image"))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local\n"
                         "%s ansible_connection=community.general.chroot ansible_python_interpreter=/usr/bin/python3\n"
                         % image)
    with open(c.munge_key, "rb") as handle:
        key = handle.read()
    role_vars = dict(configless_servers=[c.server], configless_auth="munge",
                     configless_munge_socket=c.munge_socket, configless_fetch_from="localhost",
                     configless_munge_key=base64.b64encode(key).decode(),
                     configless_services=False, configless_packages=False)
    env = {"ANSIBLE_COLLECTIONS_PATH": ansible_env["ANSIBLE_COLLECTIONS_PATH"] + ":" + community_general()}
    result = run_playbook(play(role_vars, hosts=image), env=env, inventory=str(inventory))
    assert recap(result.stdout)[image][2] == 0
    conf = os.path.join(image, "etc", "slurm")
    with open(os.path.join(conf, "slurm.conf"), "rb") as handle:
        assert handle.read() == c.expected("slurm.conf")
    assert mode(os.path.join(conf, "prolog.sh")) == 0o755
    image_key = os.path.join(image, "etc", "munge", "munge.key")
    with open(image_key, "rb") as handle:
        assert handle.read() == key and mode(image_key) == 0o400
    with open(os.path.join(image, "etc", "passwd")) as handle:
        munge_uid = [line.split(":")[2] for line in handle if line.startswith("munge:")][0]
    assert os.stat(image_key).st_uid == int(munge_uid)
    assert processes_rooted_in(image) == []  # nothing was started inside the image
    again = run_playbook(play(role_vars, hosts=image), env=env, inventory=str(inventory))
    assert recap(again.stdout)[image][1] == 0


def test_secrets_stay_out_of_the_output(controllers, run_playbook, tmp_path, munge_user):
    c = controllers["24.11"]
    token = mint_token(c.jwt_key, "slurm")
    with open(c.munge_key, "rb") as handle:
        key = handle.read()
    role_vars = base_vars(c, tmp_path / "slurm")
    del role_vars["configless_jwt_key"]
    role_vars.update(configless_jwt_token=token, configless_munge_key=base64.b64encode(key).decode())
    run = run_playbook(play(role_vars), "-vvv")
    munge_vars = base_vars(controllers["26.05"], tmp_path / "m", "munge",
                           configless_munge_key=base64.b64encode(key).decode())
    run2 = run_playbook(play(munge_vars), "-vvv", "--diff")
    for output in (run.stdout, run2.stdout):
        assert token not in output and token.split(".")[2] not in output
        assert base64.b64encode(key).decode() not in output and key.hex() not in output
        assert "MUNGE:" not in output


def test_fail_early_without_a_munge_key(controllers, run_playbook, tmp_path):
    c = controllers["24.11"]
    result = run_playbook(play(base_vars(c, tmp_path / "slurm", "munge")), check=False)
    assert result.returncode != 0
    assert "munge auth needs the cluster's munge key" in result.stdout
    assert not (tmp_path / "slurm").exists()


def test_argument_specs_reject_a_bad_choice(controllers, run_playbook, tmp_path):
    result = run_playbook(play(base_vars(controllers["24.11"], tmp_path / "s", configless_request="everything")),
                          check=False)
    assert result.returncode != 0 and "configless_request" in result.stdout


def test_collection_playbook(controllers, run_playbook, tmp_path, ansible_env):
    """ansible-playbook straw.slurm.fetch -i HOST, -e ... : the one-line entry point."""
    c = controllers["26.05"]
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("node1 ansible_connection=local\n")
    extra = json.dumps(base_vars(c, tmp_path / "slurm"))
    proc = subprocess.run([os.path.join(os.path.dirname(ansible_env["ANSIBLE_PYTHON_INTERPRETER"]),
                                        "ansible-playbook"), "straw.slurm.fetch", "-i", str(inventory),
                           "-e", extra], env=ansible_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "slurm" / "slurm.conf").read_bytes() == c.expected("slurm.conf")


def test_auth_slurm_installs_the_key_and_fetches(controllers, run_playbook, tmp_path):
    from lab import up
    c = up("26.05", name="slurmauth", port=controllers["26.05"].port + 20, mode="slurm")
    with open(c.slurm_key, "rb") as handle:
        key = handle.read()
    conf = tmp_path / "slurm"
    role_vars = dict(configless_servers=[c.server], configless_auth="slurm",
                     configless_slurm_key=base64.b64encode(key).decode(), configless_slurm_user="root",
                     configless_conf_dir=str(conf), configless_packages=False, configless_services=False)
    result = run_playbook(play(role_vars), "-vvv")
    installed = conf / "slurm.key"
    assert installed.read_bytes() == key and mode(installed) == 0o600
    assert (conf / "slurm.conf").read_bytes() == c.expected("slurm.conf")
    assert base64.b64encode(key).decode() not in result.stdout and key.hex() not in result.stdout
    again = run_playbook(play(role_vars))
    assert recap(again.stdout)["localhost"][1] == 0


def test_first_host_negotiates_for_the_others(controllers, run_playbook, tmp_path):
    """protocol auto on a fleet: the first host negotiates (a window of versions the
    controller accepts), the others speak the release it found: one RPC each."""
    c = controllers["22.05"]
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("".join("h%d ansible_connection=local configless_conf_dir=%s\n"
                                 % (i, tmp_path / ("h%d" % i)) for i in (1, 2, 3, 4)))
    role_vars = base_vars(c, "unused")
    del role_vars["configless_conf_dir"]
    before = rpcs(c)
    result = run_playbook(play(role_vars, hosts="all"), "-v", inventory=str(inventory))
    # 22.05 accepts three versions: at most those for h1, then one for each other host.
    assert rpcs(c) - before <= 3 + 3, result.stdout[-3000:]
    assert "Negotiate the protocol on the first host" in result.stdout
    for i in (1, 2, 3, 4):
        assert (tmp_path / ("h%d" % i) / "slurm.conf").read_bytes() == c.expected("slurm.conf")
