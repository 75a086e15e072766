import json
import os
import shutil
import subprocess
import sys

import pytest

from lab import ROOT, RELEASES, stop_all, up
from watching import Watcher


def pytest_configure(config):
    if os.geteuid() != 0:
        pytest.exit("the integration tests start real controllers in chroots and need root", 2)


@pytest.fixture(autouse=True)
def blocking_standard_streams():
    """Some tools a test runs (buildah run) leave the standard streams they inherited
    non-blocking, for every process sharing them; Ansible then refuses to start. Put them
    back after each test."""
    yield
    for fd in (0, 1, 2):
        try:
            os.set_blocking(fd, True)
        except OSError:
            pass


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test its own straw.slurm cache (the versions controllers accepted), as each host
    has one: what one test learnt never changes how another's first contact goes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home(tmp_path)))


def cache_home(tmp_path):
    """The XDG_CACHE_HOME of the test that owns tmp_path, beside it (never inside: tests list
    what their directories hold)."""
    return tmp_path.parent / (tmp_path.name + ".cache")


@pytest.fixture(scope="session")
def controllers():
    """Every lab controller, started once for the whole session and stopped after it."""
    started = {release: up(release) for release in RELEASES}
    yield started
    if not os.environ.get("STRAW_LAB_KEEP"):
        stop_all()


@pytest.fixture
def watchers(closing):
    """Starts `straw --watch` processes (watching.Watcher), each stopped after the test."""
    return lambda *args, **kwargs: closing(Watcher(*args, **kwargs), Watcher.stop)


@pytest.fixture(scope="module")
def munge_user():
    """The munge key's owner, as on a host with munge installed."""
    import pwd
    try:
        pwd.getpwnam("munge")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "munge"], check=True)
    return pwd.getpwnam("munge")


@pytest.fixture(scope="session")
def collection_path(tmp_path_factory):
    """An ANSIBLE_COLLECTIONS_PATH in which straw.slurm is this checkout."""
    base = tmp_path_factory.mktemp("collections")
    os.makedirs(base / "ansible_collections" / "straw")
    os.symlink(ROOT, base / "ansible_collections" / "straw" / "slurm")
    return str(base)


@pytest.fixture(scope="session")
def ansible_env(collection_path):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=collection_path, ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_FORCE_COLOR="0")
    return env


def _bin(name):
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else shutil.which(name)


@pytest.fixture(scope="session")
def run_playbook(ansible_env, tmp_path_factory):
    """Runs a real ansible-playbook (the main virtualenv's, or the one given); returns the
    CompletedProcess (stdout+stderr merged)."""
    def run(playbook_text, *args, check=True, env=None, inventory=None, wrapper=(), ansible_playbook=None):
        directory = tmp_path_factory.mktemp("play")
        path = directory / "play.yml"
        path.write_text(playbook_text)
        if inventory is None:
            inventory = str(directory / "inventory.ini")
            with open(inventory, "w") as handle:
                handle.write("localhost ansible_connection=local\n")
        command = list(wrapper) + [ansible_playbook or _bin("ansible-playbook"), "-i", inventory, str(path)] + list(args)
        proc = subprocess.run(command, env=dict(ansible_env, **(env or {})), check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=900)
        if check and proc.returncode != 0:
            raise AssertionError("ansible-playbook failed (%d):\n%s" % (proc.returncode, proc.stdout[-6000:]))
        # ansible-core 2.19 warns about a YAML key given twice (a merge key overridden, say) on
        # every run of the file, in every user's output: none of ours may.
        assert "duplicate mapping key" not in proc.stdout, proc.stdout[-6000:]
        return proc
    return run


@pytest.fixture(scope="session")
def run_collecting(run_playbook, tmp_path_factory):
    """Runs tasks that append what they registered to the list `results`, and returns
    (results, the CompletedProcess)."""
    def run(tasks, *args, env=None):
        out = tmp_path_factory.mktemp("results") / "results.json"
        proc = run_playbook("""
- hosts: localhost
  gather_facts: false
  vars: {results: []}
  tasks:%s
    - ansible.builtin.copy: {content: "{{ results | to_json }}", dest: %s, mode: "0600"}
""" % (tasks, out), *args, env=env)
        return json.loads(out.read_text()), proc
    return run
