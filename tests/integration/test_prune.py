"""Pruning only what straw.slurm wrote, against a real 26.05 controller whose served set the
tests change (files dropped from its directory, then a real `scontrol reconfigure`), through
bin/straw, the config_files module and the role. In each, a package's plugstack.conf survives,
a file we wrote and the controller stopped serving is removed, a file we wrote and the admin
then edited is kept with a warning, and force removes all three. A directory from before the
manifest loses nothing on its first run; the watcher's pushes remove nothing.

The controller is this module's own (its name and port), so that changing what it serves
disturbs no other test."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from lab import ROOT, down, up
from roles_support import play

STRAW = os.path.join(ROOT, "bin", "straw")
PORT = 18410
SLURM_UID = 64030  # SlurmUser of the lab's Debian chroots
#: What the controller may serve besides slurm.conf, nodes.conf and prolog.sh.
OPTIONAL = {"gres.conf": b"# gres for the lab cluster\n",
            "cgroup.conf": b"CgroupPlugin=autodetect\n",
            "plugstack.conf": b""}
PACKAGE = b"required /usr/lib/x86_64-linux-gnu/slurm/spank_example.so\n"
EDIT = b"# tuned on this host\n"


@pytest.fixture(scope="module")
def ctl():
    controller = up("26.05", name="prune%d" % PORT, port=PORT)
    yield controller
    down(controller)


def straw(c, directory, *args):
    return subprocess.run([sys.executable, STRAW, c.server, "--auth", "munge", "--munge-socket",
                           c.munge_socket, "-o", str(directory)] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, timeout=60)


def reconfigure(c):
    subprocess.run(["chroot", c.root, "env", "SLURM_CONF=/srv/%s/slurm.conf" % c.name,
                    "scontrol", "reconfigure"], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def served(c, tmp_path):
    """The names the controller serves now, as a --check of an empty directory sees them."""
    proc = straw(c, tmp_path / "never-created", "--check")
    return {line.split(": ", 1)[1] for line in proc.stdout.splitlines()}


def serve(c, tmp_path, *names):
    """Makes the controller serve exactly these of OPTIONAL (and report the others absent)."""
    for name, data in OPTIONAL.items():
        path = os.path.join(c.conf_dir, name)
        if name in names:
            with open(path, "wb") as handle:
                handle.write(data)
        elif os.path.exists(path):
            os.unlink(path)
    reconfigure(c)
    wanted = {"slurm.conf", "nodes.conf", "prolog.sh"} | set(names)
    end = time.monotonic() + 30
    while served(c, tmp_path) != wanted:
        assert time.monotonic() < end, "the controller serves %s" % sorted(served(c, tmp_path))
        time.sleep(0.2)


def package_plugstack(directory):
    directory.mkdir(parents=True)
    (directory / "plugstack.conf").write_bytes(PACKAGE)


def edit(path):
    with open(str(path), "ab") as handle:
        handle.write(EDIT)
    return path.read_bytes()


def warnings(proc):
    return [line for line in proc.stderr.splitlines() if line.startswith("straw: warning: ")]


def kept_line(directory, pairs, verb="kept", force="--prune=force"):
    return "%s %s: the controller does not serve %s (%s removes %s)" % (
        verb, ", ".join("%s/%s (%s)" % (directory, name, why) for name, why in pairs),
        "them" if len(pairs) > 1 else "it", force, "them" if len(pairs) > 1 else "it")


NOT_WRITTEN = "not written by straw.slurm"
EDITED = "changed since straw.slurm wrote it"
NO_RECORD = "no record yet of what straw.slurm wrote here, so this run removes nothing"


# --- bin/straw --------------------------------------------------------------------------------

def test_command_prunes_only_what_it_wrote_and_force_takes_over(ctl, tmp_path):
    serve(ctl, tmp_path, "gres.conf", "cgroup.conf")  # plugstack.conf: reported absent
    conf, forced = tmp_path / "conf", tmp_path / "forced"
    package_plugstack(conf)
    first = straw(ctl, conf, "--prune")
    assert first.returncode == 0, first.stderr
    assert (conf / "plugstack.conf").read_bytes() == PACKAGE
    assert warnings(first) == ["straw: warning: " + kept_line(conf, [("plugstack.conf", NO_RECORD)])]
    assert (conf / ".straw-slurm-manifest").stat().st_mode & 0o777 == 0o600
    shutil.copytree(str(conf), str(forced))

    serve(ctl, tmp_path)  # it stops serving gres.conf and cgroup.conf
    edited = [edit(d / "cgroup.conf") for d in (conf, forced)][0]
    before = {p.name: p.read_bytes() for p in conf.iterdir()}
    check = straw(ctl, conf, "--prune", "--check")
    assert check.returncode == 1, check.stderr
    assert check.stdout.splitlines() == ["would remove: gres.conf",
                                         "would keep: cgroup.conf (%s)" % EDITED,
                                         "would keep: plugstack.conf (%s)" % NOT_WRITTEN]
    assert {p.name: p.read_bytes() for p in conf.iterdir()} == before

    pruned = straw(ctl, conf, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert not (conf / "gres.conf").exists()                   # ours, unchanged: removed
    assert (conf / "cgroup.conf").read_bytes() == edited       # ours, edited: kept
    assert (conf / "plugstack.conf").read_bytes() == PACKAGE   # the package's: kept
    assert warnings(pruned) == ["straw: warning: " + kept_line(
        conf, [("cgroup.conf", EDITED), ("plugstack.conf", NOT_WRITTEN)])]
    nothing_left = straw(ctl, conf, "--prune", "--check")  # kept files are no difference
    assert (nothing_left.returncode, nothing_left.stderr) == (0, ""), nothing_left.stdout

    force = straw(ctl, forced, "--prune=force")
    assert (force.returncode, force.stderr) == (0, "")
    for name in ("gres.conf", "cgroup.conf", "plugstack.conf"):
        assert not (forced / name).exists(), name
    assert (forced / "slurm.conf").read_bytes() == ctl.expected("slurm.conf")


def test_command_on_a_directory_from_before_the_manifest(ctl, tmp_path):
    """The first run adopts what the controller serves and removes nothing; the next prunes
    what it adopted once the controller stops serving it, and never what it cannot know."""
    serve(ctl, tmp_path, "gres.conf", "cgroup.conf")
    conf = tmp_path / "conf"
    assert straw(ctl, conf).returncode == 0
    (conf / ".straw-slurm-manifest").unlink()  # as an older straw.slurm left it
    (conf / "topology.conf").write_bytes(b"# written by an older straw.slurm, or by hand\n")

    first = straw(ctl, conf, "--prune")
    assert first.returncode == 0, first.stderr
    assert (conf / "topology.conf").exists()
    assert warnings(first) == ["straw: warning: " + kept_line(conf, [("topology.conf", NO_RECORD)])]

    serve(ctl, tmp_path)
    second = straw(ctl, conf, "--prune")
    assert second.returncode == 0, second.stderr
    assert not (conf / "gres.conf").exists() and not (conf / "cgroup.conf").exists()
    assert (conf / "topology.conf").exists()
    assert warnings(second) == ["straw: warning: " + kept_line(conf, [("topology.conf", NOT_WRITTEN)])]


# --- the config_files module ------------------------------------------------------------------

def module_play(c, tasks):
    return """
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts:
        servers: ["%s"]
        auth: munge
        munge_socket: "%s"
%s
    - ansible.builtin.copy: {content: "{{ results | to_json }}", dest: "{{ out }}", mode: "0600"}
""" % (c.server, c.munge_socket, tasks)


def write_task(directory, register, prune="true", extra=""):
    return """
    - straw.slurm.config_files:
        path: "%s"
        files: "{{ ansible_facts.slurm_config.files }}"
        prune: %s
      register: %s%s
    - ansible.builtin.set_fact: {results: "{{ results | default([]) + [%s] }}"}
""" % (directory, prune, register, extra, register)


def run_module(run_playbook, c, tmp_path, tasks, *args):
    out = tmp_path / ("results-%d.json" % time.monotonic_ns())
    proc = run_playbook(module_play(c, tasks), "-e", "out=%s" % out, *args)
    return json.loads(out.read_text()), proc


def test_module_prunes_only_what_it_wrote_and_force_takes_over(ctl, run_playbook, tmp_path):
    serve(ctl, tmp_path, "gres.conf", "cgroup.conf")
    conf, forced = tmp_path / "conf", tmp_path / "forced"
    package_plugstack(conf)
    (first,), _proc = run_module(run_playbook, ctl, tmp_path, write_task(conf, "first"))
    assert first["kept"] == ["plugstack.conf"] and first["removed"] == []
    assert first["warnings"] == [kept_line(conf, [("plugstack.conf", NO_RECORD)], force="prune=force")]
    assert (conf / "plugstack.conf").read_bytes() == PACKAGE
    shutil.copytree(str(conf), str(forced))

    serve(ctl, tmp_path)
    edited = [edit(d / "cgroup.conf") for d in (conf, forced)][0]
    tasks = (write_task(conf, "audit", extra="\n      check_mode: true\n      diff: true")
             + write_task(conf, "pruned", extra="\n      diff: true")
             + write_task(forced, "forced", prune="force"))
    (audit, pruned, force), proc = run_module(run_playbook, ctl, tmp_path, tasks)

    kept = [("cgroup.conf", EDITED), ("plugstack.conf", NOT_WRITTEN)]
    assert audit["changed"] and audit["removed"] == ["gres.conf"]
    assert audit["kept"] == ["cgroup.conf", "plugstack.conf"]
    assert audit["warnings"] == [kept_line(conf, kept, "would keep", "prune=force")]
    prepared = [d["prepared"] for d in audit["diff"] if "prepared" in d]
    assert prepared == ["would remove %s/gres.conf\n" % conf,
                        "would keep %s/cgroup.conf (%s)\n" % (conf, EDITED),
                        "would keep %s/plugstack.conf (%s)\n" % (conf, NOT_WRITTEN)]
    assert "would keep %s/plugstack.conf (not written by straw.slurm)" % conf in proc.stdout

    assert pruned["changed"] and pruned["removed"] == ["gres.conf"]
    assert pruned["kept"] == ["cgroup.conf", "plugstack.conf"]
    assert pruned["warnings"] == [kept_line(conf, kept, force="prune=force")]
    assert not (conf / "gres.conf").exists()
    assert (conf / "cgroup.conf").read_bytes() == edited
    assert (conf / "plugstack.conf").read_bytes() == PACKAGE

    assert force["changed"] and force["kept"] == [] and "warnings" not in force
    assert sorted(force["removed"]) == ["cgroup.conf", "gres.conf", "plugstack.conf"]
    for name in ("gres.conf", "cgroup.conf", "plugstack.conf"):
        assert not (forced / name).exists(), name


def test_module_refuses_a_prune_it_does_not_know(ctl, run_playbook, tmp_path):
    proc = run_playbook(module_play(ctl, write_task(tmp_path / "conf", "r", prune="always")),
                        "-e", "out=%s" % (tmp_path / "out.json"), check=False)
    assert proc.returncode != 0
    assert "prune is true, false or force, not 'always'" in proc.stdout
    assert not (tmp_path / "conf").exists()


# --- the role ---------------------------------------------------------------------------------

def role_vars(c, directory, **extra):
    values = dict(configless_servers=[c.server], configless_auth="jwt", configless_jwt_key=c.jwt_key,
                  configless_conf_dir=str(directory), configless_packages=False,
                  configless_services=False)
    values.update(extra)
    return values


def test_role_prunes_only_what_it_wrote_and_force_takes_over(ctl, run_playbook, tmp_path):
    serve(ctl, tmp_path, "gres.conf", "cgroup.conf")
    conf, forced = tmp_path / "conf", tmp_path / "forced"
    package_plugstack(conf)
    first = run_playbook(play(role_vars(ctl, conf)))
    assert (conf / "plugstack.conf").read_bytes() == PACKAGE
    assert "plugstack.conf (%s)" % NO_RECORD in first.stdout
    shutil.copytree(str(conf), str(forced))

    serve(ctl, tmp_path)
    edited = [edit(d / "cgroup.conf") for d in (conf, forced)][0]
    before = {p.name: p.read_bytes() for p in conf.iterdir()}
    audit = run_playbook(play(role_vars(ctl, conf)), "--check", "--diff")
    assert "would remove %s/gres.conf" % conf in audit.stdout
    assert "would keep %s/cgroup.conf (%s)" % (conf, EDITED) in audit.stdout
    assert "would keep %s/plugstack.conf (%s)" % (conf, NOT_WRITTEN) in audit.stdout
    assert {p.name: p.read_bytes() for p in conf.iterdir()} == before

    pruned = run_playbook(play(role_vars(ctl, conf)))
    assert not (conf / "gres.conf").exists()
    assert (conf / "cgroup.conf").read_bytes() == edited
    assert (conf / "plugstack.conf").read_bytes() == PACKAGE
    warned = [line for line in pruned.stdout.splitlines() if "the controller does not serve" in line]
    assert len(warned) == 1, pruned.stdout[-3000:]
    assert "cgroup.conf (%s)" % EDITED in warned[0] and "plugstack.conf (%s)" % NOT_WRITTEN in warned[0]

    run_playbook(play(role_vars(ctl, forced, configless_prune="force")))
    for name in ("gres.conf", "cgroup.conf", "plugstack.conf"):
        assert not (forced / name).exists(), name
    assert (forced / "slurm.conf").read_bytes() == ctl.expected("slurm.conf")


# --- the watcher --------------------------------------------------------------------------------

def test_pushes_remove_nothing_and_a_poll_prunes_what_it_wrote(ctl, tmp_path):
    """A push carries no verdict on what it leaves out: a file the controller stopped serving
    stays after the push that says so, even ours; the next poll with --prune removes it, and
    a package's file stays throughout."""
    serve(ctl, tmp_path, "gres.conf", "cgroup.conf", "plugstack.conf")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "topology.conf").write_bytes(b"# kept by hand for a tool\n")
    log_path = tmp_path / "watch.log"
    with open(str(log_path), "w") as log:
        watcher = subprocess.Popen(
            [sys.executable, STRAW, ctl.server, "--auth", "munge", "--munge-socket",
             ctl.munge_socket, "--slurm-user", str(SLURM_UID), "--request", "client", "--prune",
             "--watch", "--interval", "600", "--listen-port", str(PORT + 2), "-o", str(conf)],
            stdout=subprocess.DEVNULL, stderr=log)

    def lines():
        return log_path.read_text().splitlines()
    try:
        assert wait_for(lambda: any("registered with" in line for line in lines()), 20), lines()
        assert (conf / "plugstack.conf").exists()
        time.sleep(1.1)  # a push made in the second of our last fetch is checked by a fetch
        nodes = os.path.join(ctl.conf_dir, "nodes.conf")
        with open(nodes, "a") as handle:
            handle.write("# changed %d\n" % time.time_ns())
        serve(ctl, tmp_path, "gres.conf", "cgroup.conf")  # plugstack.conf is no longer served
        with open(nodes, "rb") as handle:
            wanted = handle.read()
        assert wait_for(lambda: (conf / "nodes.conf").read_bytes() == wanted, 10), lines()
        assert any("push from" in line and "wrote nodes.conf" in line for line in lines()), lines()
        assert (conf / "plugstack.conf").exists(), "a push removed a file"
        assert (conf / "topology.conf").exists()

        watcher.send_signal(signal.SIGHUP)  # a poll, with --prune
        assert wait_for(lambda: not (conf / "plugstack.conf").exists(), 10), lines()
        assert (conf / "topology.conf").exists()
        kept = [line for line in lines() if "the controller does not serve" in line]
        assert kept and all("topology.conf" in line for line in kept), lines()
        assert len(kept) == 1, kept  # said once, however many fetches find it again
    finally:
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(10) == 0


def wait_for(predicate, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.mark.parametrize("prune, words", [(True, ["--prune"]), ("force", ["--prune=force"]),
                                          ("yes", ["--prune"]), (False, [])])
def test_role_units_prune_as_the_role_does(run_collecting, prune, words):
    """The command line the refresh units run, as the role's vars make it from configless_prune."""
    role = os.path.join(ROOT, "roles", "configless")
    (argv,), _proc = run_collecting("""
    - ansible.builtin.include_vars: {file: %s/defaults/main.yml}
    - ansible.builtin.include_vars: {file: %s/vars/main.yml}
    - ansible.builtin.set_fact: {results: "{{ [__configless_exec_args] }}"}
""" % (role, role), "-e", json.dumps({"configless_prune": prune, "configless_servers": ["ctl1"]}))
    assert [word for word in argv if word.startswith("--prune")] == words


def test_role_refuses_a_prune_it_does_not_know(ctl, run_playbook, tmp_path):
    proc = run_playbook(play(role_vars(ctl, tmp_path / "conf", configless_prune="always")), check=False)
    assert proc.returncode != 0
    assert "configless_prune is true, false or force, not always" in proc.stdout
    assert not (tmp_path / "conf").exists()
