"""The role's units under a real systemd: a minimal Debian (mmdebstrap minbase with systemd,
dbus and python3, so no procps and no /bin/kill) booted by systemd-nspawn on the host's
network, the role run live on it over the community.docker.nsenter connection, and the units
driven with systemctl against a lab controller of our own after real `scontrol reconfigure`s.

watch: enabled and up again after a reboot, a reconfigure's push written (verified as
configless_slurm_user's, not the fetched SlurmUser's), configless_on_change reaching another
unit from inside the sandbox, `systemctl reload` putting back a tampered file, and a clean stop.
poll: the timer up again after a reboot, its runs following a reconfigure and putting back a
tampered file, and a clean stop."""
import base64
import os
import shutil
import subprocess
import time

import pytest

from lab import down, up
from roles_support import BootedNode, community_collections, copy_image, debian_systemd_node, play, recap

PORT = 18530  # this module's controller (18500-18599 are ours)
LISTEN = 18560  # where the watch unit takes pushes (not the lab's SlurmdPort, PORT + 1)
SLURM_UID = "64030"  # SlurmUser of the lab's chroots; the node has no slurm user
CONF = "etc/slurm"
UNITS = "/etc/systemd/system"
PROBE = """[Unit]
Description=Stands for a service that reads Slurm's files: remembers what it was asked

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo start >> /var/log/straw-probe.log'
ExecReload=/bin/sh -c 'echo reload >> /var/log/straw-probe.log'

[Install]
WantedBy=multi-user.target
"""

pytestmark = pytest.mark.skipif(shutil.which("systemd-nspawn") is None,
                                reason="systemd-nspawn is missing (Debian's systemd-container: tests/env.sh installs it)")


@pytest.fixture(scope="module")
def controller():
    c = up("26.05", name="units%d" % PORT, port=PORT)
    yield c
    down(c)


@pytest.fixture(scope="module")
def key(controller):
    with open(controller.munge_key, "rb") as handle:
        return handle.read()


@pytest.fixture
def node(tmp_path):
    """boot() starts the node's root (a private copy) in a container, again after a poweroff;
    every container is powered off, and the copy removed, when the test ends."""
    root = copy_image(str(tmp_path / "node"), debian_systemd_node())
    with open(os.path.join(root, UNITS[1:], "straw-probe.service"), "w") as handle:
        handle.write(PROBE)
    os.symlink(UNITS + "/straw-probe.service",
               os.path.join(root, UNITS[1:], "multi-user.target.wants", "straw-probe.service"))
    booted = []

    def boot():
        started = BootedNode(root, str(tmp_path / "console.log"))
        booted.append(started)
        return started
    yield root, boot
    try:
        for started in booted:
            started.close()
    finally:
        shutil.rmtree(root)


def role(run_playbook, ansible_env, tmp_path, node, key, controller, **values):
    """The role, live on the booted node over the nsenter connection."""
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("node ansible_connection=community.docker.nsenter ansible_nsenter_pid=%d "
                         "ansible_python_interpreter=/usr/bin/python3\n" % node.pid)
    role_vars = dict(configless_servers=[controller.server], configless_auth="munge", configless_munged=False,
                     configless_munge_key=base64.b64encode(key).decode(), configless_packages=False,
                     configless_slurm_user=SLURM_UID, **values)
    env = {"ANSIBLE_COLLECTIONS_PATH": ansible_env["ANSIBLE_COLLECTIONS_PATH"] + ":" + community_collections()}
    result = run_playbook(play(role_vars, hosts="all"), check=False, env=env, inventory=str(inventory))
    assert result.returncode == 0 and recap(result.stdout).get("node", (0, 0, 1))[2] == 0, result.stdout[-4000:]
    return result


def systemctl(node, *args, timeout=30):
    return node.run("systemctl", *args, timeout=timeout)


def journal(node, unit):
    return node.run("journalctl", "-b", "-u", unit, "-o", "cat", "--no-pager").stdout


def show(node, unit, *names):
    out = systemctl(node, "show", unit, *("-p" + name for name in names)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def read(root, name):
    try:
        with open(os.path.join(root, CONF, name), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def wait_for(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def reconfigure(controller):
    subprocess.run(["chroot", controller.root, "env", "SLURM_CONF=/srv/%s/slurm.conf" % controller.name,
                    "scontrol", "reconfigure"], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def changes(controller):
    """change() adds a line to the controller's nodes.conf and returns its new bytes; the file
    is put back (and the controller reconfigured) after the test."""
    path = os.path.join(controller.conf_dir, "nodes.conf")
    with open(path, "rb") as handle:
        original = handle.read()

    def change():
        with open(path, "ab") as handle:
            handle.write(b"# changed by test_units_systemd at %d\n" % time.time_ns())
        with open(path, "rb") as handle:
            return handle.read()
    yield change
    with open(path, "wb") as handle:
        handle.write(original)
    reconfigure(controller)


def leftovers(root):
    """Temporary files left in the configuration directory: every hidden name but the state
    files the command keeps there (the files it writes are staged as hidden names)."""
    return [name for name in os.listdir(os.path.join(root, CONF))
            if name.startswith(".") and name != ".straw-slurm-manifest"]


def no_secret(text, key):
    assert base64.b64encode(key).decode() not in text and key.hex() not in text and "MUNGE:" not in text


def verified(node, *units):
    """systemd-analyze verify inside the booted minimal image."""
    proc = node.run("systemd-analyze", "verify", *units)
    assert proc.returncode == 0, proc.stdout


def test_watch_under_systemd(run_playbook, ansible_env, tmp_path, node, key, controller, changes):
    root, boot = node
    first = boot()
    assert not os.path.lexists(os.path.join(root, "bin", "kill")) and not os.path.lexists(os.path.join(root, "usr", "bin", "kill"))
    on_change = "systemctl try-reload-or-restart straw-probe.service"
    role(run_playbook, ansible_env, tmp_path, first, key, controller, configless_refresh="watch",
         configless_refresh_interval=600, configless_listen_port=LISTEN, configless_on_change=on_change,
         configless_start_delay=4)
    unit = UNITS + "/straw-slurm-watch.service"
    verified(first, unit)
    with open(root + unit) as handle:
        text = handle.read()
    no_secret(text, key)
    assert "--slurm-user %s" % SLURM_UID in text and "ExecReload=/usr/bin/env python3 " in text
    assert systemctl(first, "is-active", "straw-slurm-watch.service").stdout.strip() == "active"
    assert first.close() == 0

    # Up at boot, with nothing failed; the uid it trusts is the configured one.
    node_ = boot()
    assert node_.state == "running", systemctl(node_, "--failed", "--no-pager").stdout
    assert systemctl(node_, "is-enabled", "straw-slurm-watch.service").stdout.strip() == "enabled"
    assert systemctl(node_, "is-active", "straw-slurm-watch.service").stdout.strip() == "active"
    assert wait_for(lambda: "registered with" in journal(node_, "straw-slurm-watch.service"), 20), \
        journal(node_, "straw-slurm-watch.service")
    # The files were there at boot: the first fetch came at a random moment within the delay.
    assert "holds a slurm.conf; first fetch in" in journal(node_, "straw-slurm-watch.service")
    assert "believed only when made by uid %s, as --slurm-user says" % SLURM_UID in journal(node_, "straw-slurm-watch.service")
    probe_log = os.path.join(root, "var", "log", "straw-probe.log")

    def probe():
        with open(probe_log) as handle:
            return handle.read().split()
    assert probe() == ["start", "start"]  # one per boot, and no change to tell of

    # A reconfigure: the push lands, and the command for changes reloads the probe.
    time.sleep(1.1)  # a push in the second of the last fetch would be checked by a fetch
    wanted = changes()
    reconfigure(controller)
    assert wait_for(lambda: read(root, "nodes.conf") == wanted, 15), journal(node_, "straw-slurm-watch.service")
    assert wait_for(lambda: probe() == ["start", "start", "reload"], 10), \
        (probe(), journal(node_, "straw-slurm-watch.service"))
    log = journal(node_, "straw-slurm-watch.service")
    # Verified: the node has no slurm user, so the uid given by configless_slurm_user proves it.
    assert "verified push from" in log and "push: wrote nodes.conf" in log and "rejected" not in log, log

    # systemctl reload: the signal comes from python3 (no /bin/kill here), the file comes back.
    served = read(root, "slurm.conf")
    with open(os.path.join(root, CONF, "slurm.conf"), "wb") as handle:
        handle.write(b"# tampered\n")
    reload = systemctl(node_, "reload", "straw-slurm-watch.service")
    assert reload.returncode == 0, reload.stdout + journal(node_, "straw-slurm-watch.service")
    assert wait_for(lambda: read(root, "slurm.conf") == served, 10), journal(node_, "straw-slurm-watch.service")
    assert wait_for(lambda: probe() == ["start", "start", "reload", "reload"], 10), probe()
    assert "SIGHUP: fetching now" in journal(node_, "straw-slurm-watch.service")

    # A clean stop: status 0, nothing left behind, no secret in the journal.
    start = time.monotonic()
    stop = systemctl(node_, "stop", "straw-slurm-watch.service")
    assert stop.returncode == 0 and time.monotonic() - start < 10, stop.stdout
    status = show(node_, "straw-slurm-watch.service", "Result", "ExecMainStatus", "ActiveState")
    assert status == {"Result": "success", "ExecMainStatus": "0", "ActiveState": "inactive"}, status
    assert leftovers(root) == []
    log = journal(node_, "straw-slurm-watch.service")
    no_secret(log, key)
    assert "Failed" not in log and "failed" not in log, log


def test_poll_under_systemd(run_playbook, ansible_env, tmp_path, node, key, controller, changes):
    root, boot = node
    first = boot()
    role(run_playbook, ansible_env, tmp_path, first, key, controller, configless_refresh="poll",
         configless_refresh_interval=5)
    verified(first, UNITS + "/straw-slurm-poll.service", UNITS + "/straw-slurm-poll.timer")
    assert systemctl(first, "is-active", "straw-slurm-poll.timer").stdout.strip() == "active"
    assert first.close() == 0

    # The timer is up at boot; started once, it runs the service every 5 s (plus up to 1).
    node_ = boot()
    assert node_.state == "running", systemctl(node_, "--failed", "--no-pager").stdout
    assert systemctl(node_, "is-enabled", "straw-slurm-poll.timer").stdout.strip() == "enabled"
    assert systemctl(node_, "is-active", "straw-slurm-poll.timer").stdout.strip() == "active"
    started = systemctl(node_, "start", "straw-slurm-poll.service", timeout=60)
    assert started.returncode == 0, started.stdout + journal(node_, "straw-slurm-poll.service")

    # A reconfigure and a tampered file: the timer's next run sets both right.
    served = read(root, "slurm.conf")
    with open(os.path.join(root, CONF, "slurm.conf"), "wb") as handle:
        handle.write(b"# tampered\n")
    wanted = changes()
    reconfigure(controller)
    assert wait_for(lambda: read(root, "nodes.conf") == wanted and read(root, "slurm.conf") == served, 20), \
        journal(node_, "straw-slurm-poll.service")
    status = show(node_, "straw-slurm-poll.service", "Result", "ExecMainStatus")
    assert status == {"Result": "success", "ExecMainStatus": "0"}, status

    # A clean stop: the timer and its service inactive, nothing left behind.
    stop = systemctl(node_, "stop", "straw-slurm-poll.timer", "straw-slurm-poll.service")
    assert stop.returncode == 0, stop.stdout
    for unit in ("straw-slurm-poll.timer", "straw-slurm-poll.service"):
        assert systemctl(node_, "is-active", unit).stdout.strip() == "inactive"
    assert leftovers(root) == []
    no_secret(journal(node_, "straw-slurm-poll.service"), key)
