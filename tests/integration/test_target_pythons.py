"""Target Pythons older than the library's oldest (3.8): each module fails with one line that
names the interpreter and its version, says 3.8 or newer is needed and how to choose one
(ansible_python_interpreter), never a traceback. Through real ansible-playbook runs with
pyenv's 3.6 and 3.7 as the target's interpreter, on the oldest ansible-core we claim (where
the module says it itself), the main virtualenv's and the newest (where ansible-core's own code
fails first and the action plugin says it). Also bin/straw and its single file (bin/straw-pyz)
on those Pythons."""
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

from lab import ROOT

CACHE = os.environ.get("STRAW_TEST_CACHE", "/var/tmp/straw-slurm-test")
OLD = ("3.6", "3.7")


def python(version):
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (version, version))))
    found = found[:1] or [shutil.which("python" + version)]
    if not found[0]:
        pytest.skip("no Python %s here (pyenv's or on PATH)" % version)
    return found[0]


def ansible_playbook(core):
    if core == "main":
        return os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    path = os.path.join(CACHE, "venv-core-" + core, "bin", "ansible-playbook")
    if not os.path.exists(path):
        pytest.skip("no virtualenv with ansible-core %s here: `tests/cores.sh venv %s` builds it" % (core, core))
    return path


@pytest.mark.parametrize("core", ["2.16", "main", "2.21"])
@pytest.mark.parametrize("version", OLD)
def test_modules_say_one_line(controllers, run_playbook, tmp_path, version, core):
    interpreter = python(version)
    c = controllers["26.05"]
    result = run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts: {servers: [%s], munge_socket: %s}
      ignore_errors: true
    - straw.slurm.config_files: {path: %s, files: {}}
      ignore_errors: true
    - straw.slurm.key_file: {path: %s, content_base64: a2V5}
      ignore_errors: true
""" % (c.server, c.munge_socket, tmp_path / "slurm", tmp_path / "munge.key"),
        env={"ANSIBLE_PYTHON_INTERPRETER": interpreter}, ansible_playbook=ansible_playbook(core))
    version_text = subprocess.run([interpreter, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                  stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
    line = ("%s is Python %s, and straw.slurm needs Python 3.8 or newer on the target: point "
            "ansible_python_interpreter at a newer one (on EL8, dnf install python3.11 and set "
            "ansible_python_interpreter=/usr/bin/python3.11)" % (interpreter, version_text))
    failed = re.findall(r'^fatal: \[localhost\]: FAILED! => (.*)$', result.stdout, re.M)
    assert len(failed) == 3, result.stdout[-4000:]
    for message in failed:
        assert message == '{"changed": false, "msg": "%s"}' % line, result.stdout[-4000:]
    assert "Traceback" not in result.stdout and "SyntaxError" not in result.stdout, result.stdout[-4000:]
    assert not (tmp_path / "slurm").exists() and not (tmp_path / "munge.key").exists()


@pytest.mark.parametrize("version", OLD)
def test_straw_command_says_one_line(version, tmp_path):
    interpreter = python(version)
    straw = os.path.join(ROOT, "bin", "straw")
    expected = ("straw: Python 3.8 or newer is needed (this is %s, Python %s): run straw with a newer "
                "one, such as python3.11 %s\n")
    run = subprocess.run([interpreter, straw, "127.0.0.1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (2, "", expected % (interpreter, version, straw))
    # Run as a command, /bin/sh hands it to the python3 on PATH: here, the old one.
    (tmp_path / "python3").symlink_to(interpreter)
    run = subprocess.run([straw, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False,
                         env=dict(os.environ, PATH="%s:%s" % (tmp_path, os.environ["PATH"])))
    assert (run.returncode, run.stdout, run.stderr) == (2, "", expected % (tmp_path / "python3", version, straw))


@pytest.mark.parametrize("version", OLD)
def test_single_file_says_one_line(version, tmp_path):
    interpreter = python(version)
    single = str(tmp_path / "straw")
    subprocess.run([sys.executable, os.path.join(ROOT, "bin", "straw-pyz"), single], check=True,
                   stdout=subprocess.DEVNULL)
    run = subprocess.run([interpreter, single, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == ("straw: Python 3.8 or newer is needed (this is %s, Python %s): run straw with a "
                          "newer one, such as python3.11 %s\n" % (interpreter, version, single))
