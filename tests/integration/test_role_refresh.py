"""configless_refresh: the role installs the command as one file and systemd units that keep the
host current (poll: a timer and a one-shot service; watch: a service that keeps running), and
removes them again with `none`; and munge credentials made from the key, with no munged.

Here the units are checked as systemd would take them, without booting it: written, enabled
(the links `systemctl enable` makes, and `systemctl is-enabled` offline), accepted by
`systemd-analyze verify`, and their ExecStart= run by the test, with their EnvironmentFile=,
against a lab controller of our own. test_units_systemd.py runs them under a booted systemd."""
import base64
import os
import shlex
import shutil
import signal
import subprocess
import time

import pytest

from _slurm.auth.jwt import mint_token
from lab import ROOT, down, up
from roles_support import (HostNamespace, community_general, copy_image, debian_image, debian_systemd_host, mode,
                           play, processes_rooted_in, recap)

PORT = 17350  # ours: the suite's controllers use 17017..17317
UNITS = "etc/systemd/system"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # systemd's


@pytest.fixture(scope="module")
def controller():
    c = up("26.05", name="refresh", port=PORT)
    yield c
    down(c)


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """A snapshot of the collection: the command is built from it, and a library edited while
    the tests run must not look like a new command between two runs of the role."""
    base = tmp_path_factory.mktemp("frozen")
    target = base / "ansible_collections" / "straw" / "slurm"
    for name in ("bin", "plugins", "roles", "meta", "playbooks"):
        shutil.copytree(os.path.join(ROOT, name), str(target / name),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), str(target))
    return str(base)


@pytest.fixture
def playbook(run_playbook, collection):
    """run_playbook with the snapshot as straw.slurm (and community.general for chroots)."""
    def run(text, *args, **kwargs):
        env = dict(kwargs.pop("env", None) or {})
        env["ANSIBLE_COLLECTIONS_PATH"] = collection + ":" + community_general()
        return run_playbook(text, *args, env=env, **kwargs)
    return run


@pytest.fixture(scope="module")
def key(controller):
    with open(controller.munge_key, "rb") as handle:
        return handle.read()


def exec_start(unit: str) -> list:
    """The words of a unit's ExecStart=, as systemd splits them (no specifier, no variable)."""
    with open(unit) as handle:
        for line in handle:
            if line.startswith("ExecStart="):
                return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line[len("ExecStart="):])]
    raise AssertionError("%s has no ExecStart=" % unit)


def unit_setting(unit: str, name: str) -> list:
    with open(unit) as handle:
        return [line.split("=", 1)[1].strip() for line in handle if line.startswith(name + "=")]


def environment_file(path: str) -> dict:
    with open(path) as handle:
        return dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line and not line.startswith("#"))


def verify(*units: str, root: str = "") -> None:
    """systemd-analyze verify, on the host's files or inside root."""
    command = ["systemd-analyze", "verify"] + (["--root=" + root] if root else []) + list(units)
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout


def no_secret(output: str, *secrets: bytes) -> None:
    for secret in secrets:
        assert base64.b64encode(secret).decode() not in output and secret.hex() not in output
        assert secret.decode("latin-1") not in output
    assert "MUNGE:" not in output and "SLURM_JWT=" not in output


def wipe(conf: str, *names: str) -> None:
    for name in names:
        os.unlink(os.path.join(conf, name))


# --- on this host, into a temporary tree ------------------------------------------------------

def test_poll_watch_none_into_a_directory(controller, playbook, tmp_path):
    """Every path redirected into tmp_path: the units are verified against the real command
    file, the poll service's command line is run with its EnvironmentFile, and each mode
    replaces the other; none removes everything."""
    token = mint_token(controller.jwt_key, "slurm", lifetime=3600)
    units, conf, command = tmp_path / "units", tmp_path / "slurm", tmp_path / "bin" / "straw"
    credentials = tmp_path / "straw-slurm" / "credentials"

    def role(refresh, *args, token=token, **extra):
        values = dict(configless_servers=[controller.server], configless_auth="jwt", configless_jwt_token=token,
                      configless_conf_dir=str(conf), configless_packages=False, configless_services=False,
                      configless_refresh=refresh, configless_command_path=str(command),
                      configless_unit_dir=str(units), configless_credentials_path=str(credentials),
                      configless_refresh_interval=120, **extra)
        return playbook(play(values), *args)

    first = role("poll", "--diff")
    assert token not in first.stdout and token.split(".")[2] not in first.stdout
    service, timer = units / "straw-slurm-poll.service", units / "straw-slurm-poll.timer"
    assert os.readlink(units / "timers.target.wants" / "straw-slurm-poll.timer") == str(timer)
    assert mode(command) == 0o755 and mode(service) == 0o644
    assert subprocess.run([str(command), "--version"], stdout=subprocess.PIPE, check=True).stdout.startswith(b"straw")
    assert mode(credentials) == 0o600 and mode(credentials.parent) == 0o700
    assert environment_file(str(credentials)) == {"SLURM_JWT": token}
    assert token not in service.read_text() and token.split(".")[2] not in service.read_text()
    assert unit_setting(str(service), "EnvironmentFile") == [str(credentials)]
    assert unit_setting(str(timer), "OnUnitActiveSec") == ["120s"]
    assert unit_setting(str(service), "Type") == ["oneshot"]
    verify(str(service), str(timer))

    # What the timer runs, run by hand with the unit's environment: the files come back.
    argv = exec_start(str(service))
    assert argv[0] == str(command) and "--watch" not in argv and "--prune" in argv
    wipe(str(conf), "slurm.conf", "nodes.conf")
    proc = subprocess.run(argv, env=dict(environment_file(str(credentials)), PATH=PATH), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout
    assert (conf / "slurm.conf").read_bytes() == controller.expected("slurm.conf")
    assert (conf / "nodes.conf").read_bytes() == controller.expected("nodes.conf")

    again = role("poll")
    assert recap(again.stdout)["localhost"][1] == 0, again.stdout[-3000:]
    audit = role("poll", "--check", "--diff")
    assert recap(audit.stdout)["localhost"][1] == 0, audit.stdout[-3000:]
    # A new token: check mode says the credentials would change, and shows nothing of either token.
    other = mint_token(controller.jwt_key, "slurm", lifetime=7200)
    audit = role("poll", "--check", "--diff", token=other)
    assert recap(audit.stdout)["localhost"][1] >= 1
    for secret in (token, other):
        assert secret not in audit.stdout and secret.split(".")[2] not in audit.stdout
    assert environment_file(str(credentials)) == {"SLURM_JWT": token}

    # watch replaces poll; its command for changes reaches straw as it was written.
    on_change = 'echo "$STRAW_CHANGED" >> /var/log/straw.log; logger -t straw 100% done'
    role("watch", configless_on_change=on_change)
    watch = units / "straw-slurm-watch.service"
    assert not service.exists() and not timer.exists()
    assert not os.path.lexists(units / "timers.target.wants" / "straw-slurm-poll.timer")
    assert os.readlink(units / "multi-user.target.wants" / "straw-slurm-watch.service") == str(watch)
    argv = exec_start(str(watch))
    assert argv[0] == str(command) and argv[argv.index("--interval") + 1] == "120" and "--watch" in argv
    assert argv[argv.index("--on-change") + 1] == on_change
    assert unit_setting(str(watch), "ExecReload") == [
        '/usr/bin/env python3 -c "import os, signal, sys; os.kill(int(sys.argv[1]), signal.SIGHUP)" $MAINPID']
    assert argv[argv.index("--slurm-user") + 1] == "slurm"
    assert unit_setting(str(watch), "Restart") == ["on-failure"]
    assert unit_setting(str(watch), "ReadWritePaths") == [str(conf)]
    verify(str(watch))

    # none removes what watch installed, and leaves the configuration.
    gone = role("none")
    assert recap(gone.stdout)["localhost"][1] >= 1
    assert not watch.exists() and not os.path.lexists(units / "multi-user.target.wants" / "straw-slurm-watch.service")
    assert not command.exists() and not credentials.exists() and not credentials.parent.exists()
    assert (conf / "slurm.conf").read_bytes() == controller.expected("slurm.conf")
    assert recap(role("none").stdout)["localhost"][1] == 0


def test_refresh_fails_early_naming_what_is_missing(controller, playbook, tmp_path):
    """A python3 too old for the command, packages off: the play stops before anything is
    written, saying so; and a poll has no change to run a command on."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\necho '3.6 -'\n")
    os.chmod(fake / "python3", 0o755)
    values = dict(configless_servers=[controller.server], configless_auth="jwt",
                  configless_jwt_key=controller.jwt_key, configless_conf_dir=str(tmp_path / "slurm"),
                  configless_packages=False, configless_services=False, configless_refresh="poll",
                  configless_command_path=str(tmp_path / "straw"), configless_unit_dir=str(tmp_path / "units"))
    result = playbook(play(values), check=False, env={"PATH": "%s:%s" % (fake, os.environ["PATH"])})
    assert result.returncode != 0
    assert "its python3 is 3.6, older than 3.8" in result.stdout, result.stdout[-3000:]
    assert not (tmp_path / "units").exists() and not (tmp_path / "slurm").exists()
    assert not (tmp_path / "straw").exists()
    result = playbook(play(dict(values, configless_on_change="true")), check=False)
    assert result.returncode != 0 and "configless_on_change needs configless_refresh watch" in result.stdout


# --- a live host: a Debian root with systemd installed, in its own PID and mount namespace ----

@pytest.fixture
def live_host(tmp_path):
    root = copy_image(str(tmp_path / "host"), debian_systemd_host())
    with open("/etc/resolv.conf", "rb") as source, open(os.path.join(root, "etc", "resolv.conf"), "wb") as target:
        target.write(source.read())
    with HostNamespace() as namespace:
        namespace.run("mount", "-t", "proc", "proc", os.path.join(root, "proc"))
        namespace.run("chroot", root, "apt-get", "update", "-q")
        yield root, namespace


def on_root(playbook, tmp_path, root, namespace, role_vars, *args):
    """The role over a chroot connection into root, inside the namespace when there is one."""
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("%s ansible_connection=community.general.chroot ansible_python_interpreter=/usr/bin/python3\n"
                         % root)
    wrapper = namespace.prefix(str(tmp_path)) if namespace else ()
    result = playbook(play(role_vars, hosts="all"), *args, check=False, inventory=str(inventory), wrapper=wrapper)
    assert recap(result.stdout).get(root, (0, 0, 1))[2] == 0, result.stdout[-4000:]
    return result


def in_root(namespace, root, argv, env=None):
    """argv inside root, in the host's namespace, with only env (as a unit starts it)."""
    return namespace.prefix() + ["chroot", root] + argv, dict(env or {}, PATH=PATH)


def installed(root, package):
    return subprocess.run(["chroot", root, "dpkg-query", "-W", "-f", "${Status}", package], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout == "install ok installed"


def is_enabled(root, unit):
    return subprocess.run(["chroot", root, "systemctl", "is-enabled", unit], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False).stdout.strip()


def comm_rooted_in(root, name):
    found = []
    for pid in processes_rooted_in(root):
        try:
            with open("/proc/%d/comm" % pid) as handle:
                if handle.read().strip() == name:
                    found.append(pid)
        except OSError:
            pass
    return found


def test_poll_with_the_munge_key_on_a_live_host(controller, key, playbook, tmp_path, live_host):
    """Munge credentials from the key: no munge package, no munged; the poll units enabled and
    verified; the service's command fetches; idempotent; no secret in check mode; none removes."""
    root, namespace = live_host
    role_vars = dict(configless_servers=[controller.server], configless_start_delay=0,
                     configless_auth="munge", configless_munged=False,
                     configless_munge_key=base64.b64encode(key).decode(), configless_refresh="poll")
    first = on_root(playbook, tmp_path, root, namespace, role_vars, "--diff")
    no_secret(first.stdout, key)
    assert not installed(root, "munge") and comm_rooted_in(root, "munged") == []
    key_path = os.path.join(root, "etc", "munge", "munge.key")
    with open(key_path, "rb") as handle:
        assert handle.read() == key
    assert mode(key_path) == 0o400 and os.stat(key_path).st_uid == 0 and mode(os.path.dirname(key_path)) == 0o700
    conf = os.path.join(root, "etc", "slurm")
    with open(os.path.join(conf, "slurm.conf"), "rb") as handle:
        assert handle.read() == controller.expected("slurm.conf")

    units = os.path.join(root, UNITS)
    service = os.path.join(units, "straw-slurm-poll.service")
    assert os.readlink(os.path.join(units, "timers.target.wants", "straw-slurm-poll.timer")) == \
        "/etc/systemd/system/straw-slurm-poll.timer"
    assert is_enabled(root, "straw-slurm-poll.timer") == "enabled"
    assert mode(os.path.join(root, "usr", "local", "sbin", "straw")) == 0o755
    verify("/" + UNITS + "/straw-slurm-poll.service", "/" + UNITS + "/straw-slurm-poll.timer", root=root)
    argv = exec_start(service)
    assert argv[argv.index("--munge-key") + 1] == "/etc/munge/munge.key" and "--munge-socket" not in argv
    assert unit_setting(service, "EnvironmentFile") == []
    with open(service, "rb") as handle:
        no_secret(handle.read().decode("latin-1"), key)

    # The unit's command line, run as the unit would (root, systemd's PATH, nothing else).
    wipe(conf, "slurm.conf", "cgroup.conf")
    command, env = in_root(namespace, root, argv)
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout
    for name in ("slurm.conf", "cgroup.conf"):
        with open(os.path.join(conf, name), "rb") as handle:
            assert handle.read() == controller.expected(name)

    again = on_root(playbook, tmp_path, root, namespace, role_vars)
    assert recap(again.stdout)[root][1] == 0, again.stdout[-4000:]
    audit = on_root(playbook, tmp_path, root, namespace, role_vars, "--check", "--diff", "-v")
    assert recap(audit.stdout)[root][1] == 0, audit.stdout[-4000:]
    no_secret(audit.stdout, key)

    gone = on_root(playbook, tmp_path, root, namespace, dict(role_vars, configless_refresh="none"))
    assert recap(gone.stdout)[root][1] >= 1
    for name in ("straw-slurm-poll.service", "straw-slurm-poll.timer", "timers.target.wants/straw-slurm-poll.timer"):
        assert not os.path.lexists(os.path.join(units, name)), name
    assert not os.path.exists(os.path.join(root, "usr", "local", "sbin", "straw"))
    assert os.path.exists(os.path.join(conf, "slurm.conf"))


def test_watch_with_a_jwt_key_on_a_live_host(controller, playbook, tmp_path, live_host):
    """PyJWT comes from Debian's python3-jwt; the watch service is enabled and verified, and
    its command line, run in the background, follows a change on the controller."""
    root, namespace = live_host
    host_key = os.path.join(root, "etc", "slurm", "jwt_hs256.key")
    os.makedirs(os.path.dirname(host_key))
    with open(controller.jwt_key, "rb") as source, open(host_key, "wb") as target:
        target.write(source.read())
    os.chmod(host_key, 0o600)
    role_vars = dict(configless_servers=[controller.server], configless_start_delay=0,
                     configless_auth="jwt",
                     configless_jwt_key="/etc/slurm/jwt_hs256.key", configless_refresh="watch",
                     configless_refresh_interval=60)
    on_root(playbook, tmp_path, root, namespace, role_vars)
    assert installed(root, "python3-jwt")
    units = os.path.join(root, UNITS)
    watch = os.path.join(units, "straw-slurm-watch.service")
    assert os.readlink(os.path.join(units, "multi-user.target.wants", "straw-slurm-watch.service")) == \
        "/etc/systemd/system/straw-slurm-watch.service"
    assert is_enabled(root, "straw-slurm-watch.service") == "enabled"
    assert not os.path.exists(os.path.join(root, "etc", "straw-slurm"))  # a key, so no token file
    verify("/" + UNITS + "/straw-slurm-watch.service", root=root)
    argv = exec_start(watch)
    assert argv[argv.index("--jwt-key") + 1] == "/etc/slurm/jwt_hs256.key" and "--watch" in argv
    again = on_root(playbook, tmp_path, root, namespace, role_vars)
    assert recap(again.stdout)[root][1] == 0, again.stdout[-4000:]

    command, env = in_root(namespace, root, argv)
    with open(str(tmp_path / "watch.log"), "w+") as log:
        follow_a_change(controller, os.path.join(root, "etc", "slurm", "slurm.conf"), root,
                        subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT), log)


def reconfigure(controller):
    """scontrol reconfigure in the controller's chroot (scontrol takes its file from SLURM_CONF)."""
    subprocess.run(["chroot", controller.root, "scontrol", "reconfigure"], check=True,
                   env=dict(os.environ, SLURM_CONF="/srv/%s/slurm.conf" % controller.name))


def follow_a_change(controller, conf, root, proc, log):
    """The running watch (proc) writes the controller's new slurm.conf to conf within 15 s of a
    reconfigure, and stops with status 0 on SIGTERM. The controller's file is put back after."""
    served = os.path.join(controller.conf_dir, "slurm.conf")
    with open(served, "rb") as handle:
        original = handle.read()

    def said():
        log.seek(0)
        return log.read()[-3000:]

    try:
        time.sleep(3)
        if proc.poll() is not None:
            output = said()
            if "watch" in output and ("No module named" in output or "not implemented" in output):
                pytest.xfail("straw --watch is not implemented yet: %s" % output.strip()[-300:])
            raise AssertionError("straw --watch exited (%s):\n%s" % (proc.returncode, output))
        changed = original + b"# changed by test_role_refresh at %d\n" % time.time()
        with open(served, "wb") as handle:
            handle.write(changed)
        reconfigure(controller)
        deadline = time.monotonic() + 15
        while True:
            with open(conf, "rb") as handle:
                if handle.read() == changed:
                    break
            assert time.monotonic() < deadline, "the change did not arrive within 15 s:\n" + said()
            time.sleep(0.2)
        # SIGTERM stops it cleanly, as systemctl stop does (the namespace hides it from proc).
        for pid in processes_rooted_in(root):
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                if b"--watch" in handle.read():
                    os.kill(pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, said()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with open(served, "wb") as handle:
            handle.write(original)
        reconfigure(controller)


# --- an image build: nothing is started ---------------------------------------------------------

def test_image_build_enables_and_starts_nothing(controller, key, playbook, tmp_path):
    """An image with munge installed but no munged running: the fetch makes its credentials
    from the key, and the watch service is enabled for the image's first boot."""
    image = copy_image(str(tmp_path / "image"), debian_image())
    role_vars = dict(configless_servers=[controller.server], configless_start_delay=0,
                     configless_auth="munge", configless_munged=False,
                     configless_munge_key=base64.b64encode(key).decode(), configless_refresh="watch",
                     configless_services=False, configless_packages=False)
    first = on_root(playbook, tmp_path, image, None, role_vars)
    no_secret(first.stdout, key)
    units = os.path.join(image, UNITS)
    assert os.readlink(os.path.join(units, "multi-user.target.wants", "straw-slurm-watch.service")) == \
        "/etc/systemd/system/straw-slurm-watch.service"
    assert mode(os.path.join(image, "usr", "local", "sbin", "straw")) == 0o755
    with open(os.path.join(image, "etc", "slurm", "slurm.conf"), "rb") as handle:
        assert handle.read() == controller.expected("slurm.conf")
    key_path = os.path.join(image, "etc", "munge", "munge.key")
    with open(os.path.join(image, "etc", "passwd")) as handle:
        munge_uid = [line.split(":")[2] for line in handle if line.startswith("munge:")][0]
    assert os.stat(key_path).st_uid == int(munge_uid) and mode(key_path) == 0o400  # for the image's munged
    assert processes_rooted_in(image) == []
    again = on_root(playbook, tmp_path, image, None, role_vars)
    assert recap(again.stdout)[image][1] == 0, again.stdout[-4000:]
