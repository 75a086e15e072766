"""The role on a live host, services and packages on: munge installed from Debian's archive,
munged started, restarted before the fetch when its key changed (and the play's own handlers left
alone), check mode telling a key change without the key, and the services that read the files
restarted or reloaded once per change. A Debian root file system without systemd, in its own PID
and mount namespace, stands in for the host, with its real init scripts (the units under a booted
systemd are test_units_systemd.py's)."""
import base64
import json
import os
import shutil
import subprocess

import pytest

from roles_support import HostNamespace, community_general, copy_image, debian_host, mode, processes_rooted_in, recap

# The role inside a play that notified a handler of its own before it.
PLAY_WITH_HANDLER = """
- hosts: all
  gather_facts: false
  handlers:
    - name: The play's own handler
      ansible.builtin.shell: echo handler ran >> /var/log/play-handler.log
      changed_when: true
  tasks:
    - name: Something of the play's that changed
      ansible.builtin.command: "true"
      changed_when: true
      notify: The play's own handler
    - name: The role
      ansible.builtin.import_role:
        name: straw.slurm.configless
      vars: %s
    - name: Keep whether the play's handler ran during the role
      ansible.builtin.shell: if test -e /var/log/play-handler.log; then printf true; else printf false; fi > /var/log/play-handler.seen
      changed_when: false
      check_mode: false
"""

PROBE = """#!/bin/sh
# A service that only remembers what it was asked to do.
echo "$1" >> /var/log/%s.log
exit 0
"""


@pytest.fixture
def live_host(tmp_path):
    root = copy_image(str(tmp_path / "host"), debian_host())
    shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
    for name in ("probe-restart", "probe-reload"):
        script = os.path.join(root, "etc", "init.d", name)
        with open(script, "w") as handle:
            handle.write(PROBE % name)
        os.chmod(script, 0o755)
    with HostNamespace() as namespace:
        namespace.run("mount", "-t", "proc", "proc", os.path.join(root, "proc"))
        namespace.run("chroot", root, "apt-get", "update", "-q")  # a host's package lists are current
        yield root, namespace


def munged_pids(root):
    pids = []
    for pid in processes_rooted_in(root):
        try:
            with open("/proc/%d/comm" % pid) as handle:
                if handle.read().strip() == "munged":
                    pids.append(pid)
        except OSError:
            pass
    return pids


def probe_log(root, name):
    path = os.path.join(root, "var", "log", name + ".log")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return handle.read().split()


def test_munge_and_services_on_a_live_host(controllers, run_playbook, ansible_env, tmp_path, live_host):
    root, namespace = live_host
    c = controllers["26.05"]
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("%s ansible_connection=community.general.chroot ansible_python_interpreter=/usr/bin/python3\n"
                         % root)
    env = {"ANSIBLE_COLLECTIONS_PATH": ansible_env["ANSIBLE_COLLECTIONS_PATH"] + ":" + community_general()}
    with open(c.munge_key, "rb") as handle:
        key = handle.read()

    def run(munge_key, *args):
        role_vars = dict(configless_servers=[c.server], configless_munge_key=base64.b64encode(munge_key).decode(),
                         configless_restart_services=["probe-restart"], configless_reload_services=["probe-reload"])
        return run_playbook(PLAY_WITH_HANDLER % json.dumps(role_vars), *args, check=False, env=env,
                            inventory=str(inventory), wrapper=namespace.prefix(str(tmp_path)))

    # A wrong key: munge is installed and munged started, and the controller's refusal is named.
    first = run(b"\x01" * 1024)
    assert recap(first.stdout)[root][2] == 1, first.stdout[-3000:]
    assert "rejected the credential" in first.stdout
    status = subprocess.run(["chroot", root, "dpkg-query", "-W", "-f", "${Status}", "munge"],
                            stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    assert status == "install ok installed"
    (wrong_key_munged,) = munged_pids(root)
    assert not os.path.exists(os.path.join(root, "etc", "slurm", "slurm.conf"))
    assert probe_log(root, "probe-restart") == []

    # The right key: munged restarts with it before the fetch, the files land, and each
    # dependent service is restarted or reloaded once. The play's own handler, notified before
    # the role, is not run by it: it runs once, at the end of the play.
    assert probe_log(root, "play-handler") == []  # the first run failed before the play's end
    second = run(key)
    assert recap(second.stdout)[root][2] == 0, second.stdout[-3000:]
    assert "RUNNING HANDLER [Restart munge]" not in second.stdout
    (munged,) = munged_pids(root)
    assert munged != wrong_key_munged
    with open(os.path.join(root, "var", "log", "play-handler.seen")) as handle:
        assert handle.read() == "false"
    assert probe_log(root, "play-handler") == ["handler", "ran"]
    key_path = os.path.join(root, "etc", "munge", "munge.key")
    with open(key_path, "rb") as handle:
        assert handle.read() == key and mode(key_path) == 0o400
    with open(os.path.join(root, "etc", "slurm", "slurm.conf"), "rb") as handle:
        assert handle.read() == c.expected("slurm.conf")
    restarted, reloaded = probe_log(root, "probe-restart"), probe_log(root, "probe-reload")
    assert restarted.count("restart") + restarted.count("start") == 1
    assert reloaded.count("reload") == 1 and "start" not in reloaded and "restart" not in reloaded

    # Nothing changed: nothing is changed, restarted or reloaded (but the play's own task and
    # its handler).
    third = run(key)
    assert recap(third.stdout)[root][1:] == (2, 0), third.stdout[-3000:]
    assert munged_pids(root) == [munged]
    assert probe_log(root, "probe-restart") == restarted
    assert probe_log(root, "probe-reload") == reloaded

    # A key that would change, in check mode: the diff says so without the key, munged would be
    # restarted (reported, not done), and nothing changes.
    audit = run(b"\x02" * 1024, "--check", "--diff")
    assert recap(audit.stdout)[root][2] == 0, audit.stdout[-3000:]
    assert "munge.key: a different key, owner munge, group munge, mode 0400" in audit.stdout
    assert base64.b64encode(key).decode() not in audit.stdout
    restart = audit.stdout.split("TASK [straw.slurm.configless : Restart munged with its new key]", 1)[1]
    assert restart.split("\n", 1)[1].startswith("changed:"), restart[:500]
    assert munged_pids(root) == [munged]
    with open(key_path, "rb") as handle:
        assert handle.read() == key
