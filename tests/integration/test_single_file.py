"""The single file (bin/straw-pyz) and what container entrypoints need, against real
controllers: SLURM_CONF_SERVER, --jwt-token-file, `-- CMD`, MUNGE from the key without
munged; and the remembered protocol versions (a controller upgraded or downgraded under
them is still reached)."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from _slurm.auth.jwt import mint_token
from _slurm.known_versions import FILE_NAME, load
from conftest import cache_home
from fixtures.unprivileged import python_for_any_user
from lab import ROOT, down, up

PYTHONS = {version: os.path.expanduser("~/.pyenv/versions/%s/bin/python3" % full)
           for version, full in (("3.8", "3.8.18"), ("3.13", "3.13.0"))}
FILES = ["slurm.conf", "nodes.conf", "gres.conf", "cgroup.conf", "plugstack.conf", "prolog.sh"]


def clean_environment(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SLURM_JWT", "PYTHONPATH", "SLURM_CONF_SERVER", "SLURM_CONF")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    """The single file, alone in a directory where nothing else of the project exists."""
    where = tmp_path_factory.mktemp("lonely")
    out = where / "straw"
    subprocess.run([sys.executable, os.path.join(ROOT, "bin", "straw-pyz"), str(out)], check=True,
                   stdout=subprocess.PIPE)
    return out


def run(command, env, cwd, timeout=60):
    return subprocess.run([str(c) for c in command], env=env, cwd=str(cwd), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False,
                          timeout=timeout)


@pytest.mark.parametrize("python", sorted(PYTHONS))
def test_single_file_entrypoint(controllers, pyz, tmp_path, python):
    interpreter = PYTHONS[python]
    if not os.path.exists(interpreter):
        pytest.skip("no Python %s here" % python)
    c = controllers["26.05"]
    token_file = tmp_path / "token"
    token_file.write_text(mint_token(c.jwt_key, "slurm") + "\n")
    token_file.chmod(0o600)
    out = tmp_path / "conf"
    env = clean_environment(SLURM_CONF_SERVER="127.0.0.1:1,%s" % c.server)  # the first is down
    proc = run([interpreter, pyz, "--jwt-token-file", token_file, "-o", out, "--",
                "sh", "-c", 'cat "$SLURM_CONF" && exit 7'], env, tmp_path)
    assert proc.returncode == 7, proc.stderr          # CMD's exit status is straw's
    assert proc.stdout.encode() == c.expected("slurm.conf")
    for name in FILES:
        assert (out / name).read_bytes() == c.expected(name), name
    version = run([interpreter, pyz, "-V"], env, tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("straw (straw.slurm) ")
    assert run([interpreter, pyz, "--help"], env, tmp_path).stdout.startswith("usage: straw")


def test_token_file_is_read_again_and_checked(controllers, pyz, tmp_path):
    c = controllers["24.11"]
    token_file = tmp_path / "token"
    token_file.write_text(mint_token(c.jwt_key, "slurm", now=1000000000))  # long expired
    env = clean_environment(SLURM_CONF_SERVER=c.server)
    proc = run([sys.executable, pyz, "--jwt-token-file", token_file, "-o", tmp_path / "o"], env,
               tmp_path)
    assert proc.returncode == 2 and "expired" in proc.stderr and "ago" in proc.stderr
    token_file.write_text(mint_token(c.jwt_key, "slurm"))  # the mounted secret rotated
    proc = run([sys.executable, pyz, "--jwt-token-file", token_file, "-o", tmp_path / "o"], env,
               tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_exec_failures_are_named(controllers, pyz, tmp_path):
    c = controllers["26.05"]
    env = clean_environment(SLURM_JWT=mint_token(c.jwt_key, "slurm"))
    proc = run([sys.executable, pyz, c.server, "-o", tmp_path / "o", "--", "no-such-command-x"],
               env, tmp_path)
    assert proc.returncode == 127 and "cannot run no-such-command-x" in proc.stderr
    proc = run([sys.executable, pyz, c.server, "-o", "/etc/slurm-not-used", "--check", "--",
                "true"], env, tmp_path)
    assert proc.returncode == 2 and "nothing to run a command after" in proc.stderr


@pytest.mark.parametrize("release", ["20.11", "22.05", "24.11", "26.05"])
def test_munge_key_without_munged_byte_for_byte(controllers, tmp_path, release):
    """MUNGE credentials made from the key alone are accepted by every lab controller, for
    both request sets, and give the same bytes as munged's."""
    c = controllers[release]
    key = tmp_path / "munge.key"
    shutil.copyfile(c.munge_key, str(key))
    key.chmod(0o400)
    link = tmp_path / "secret-link"  # Kubernetes mounts secrets as symlinks
    link.symlink_to(key)
    straw = os.path.join(ROOT, "bin", "straw")
    for request in ("slurmd", "client"):
        by_key = run([sys.executable, straw, c.server, "--auth", "munge", "--munge-key", link,
                      "--request", request, "-o", tmp_path / ("key-" + request)],
                     clean_environment(), tmp_path)
        assert by_key.returncode == 0, by_key.stderr
        by_munged = run([sys.executable, straw, c.server, "--auth", "munge", "--munge-socket",
                         c.munge_socket, "--request", request, "-o", tmp_path / ("d-" + request)],
                        clean_environment(), tmp_path)
        assert by_munged.returncode == 0, by_munged.stderr
        ours = {p.name: p.read_bytes() for p in (tmp_path / ("key-" + request)).iterdir()
                if not p.name.startswith(".")}
        theirs = {p.name: p.read_bytes() for p in (tmp_path / ("d-" + request)).iterdir()
                  if not p.name.startswith(".")}
        assert ours == theirs and "slurm.conf" in ours


def test_munge_key_refusals(controllers, tmp_path):
    c = controllers["26.05"]
    straw = os.path.join(ROOT, "bin", "straw")
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(os.urandom(128))
    wrong.chmod(0o400)
    proc = run([sys.executable, straw, c.server, "--auth", "munge", "--munge-key", wrong,
                "-o", tmp_path / "o", "--timeout", "3"], clean_environment(), tmp_path)
    assert proc.returncode == 2
    assert "munge key matches the controller's" in proc.stderr, proc.stderr
    readable = tmp_path / "readable.key"
    shutil.copyfile(c.munge_key, str(readable))
    readable.chmod(0o644)
    proc = run([sys.executable, straw, "127.0.0.1:1", "--auth", "munge", "--munge-key", readable,
                "-o", tmp_path / "o", "-vv"], clean_environment(), tmp_path)
    assert proc.returncode == 2 and "readable" in proc.stderr
    assert "asking" not in proc.stderr  # refused before any connection
    with open(c.munge_key, "rb") as handle:
        material = handle.read()
    assert material.hex() not in proc.stderr + proc.stdout


def test_remembered_version_survives_upgrade_and_downgrade(tmp_path):
    """The version is remembered in straw.slurm's cache, not beside the output; a controller
    that changes release under it is reached all the same, and the file then holds the new
    version."""
    straw = os.path.join(ROOT, "bin", "straw")
    out = tmp_path / "conf"
    port = 17370
    versions = []
    for release in ("22.05", "26.05", "20.11"):
        c = up(release, name="cache", port=port)
        try:
            env = clean_environment(SLURM_JWT=mint_token(c.jwt_key, "slurm"))
            proc = run([sys.executable, straw, c.server, "-o", out, "-v"], env, tmp_path)
            assert proc.returncode == 0, proc.stderr
            assert "speaks Slurm %s" % release in proc.stderr
            versions.append(list(load(str(cache_home(tmp_path) / "straw-slurm" / "versions")).values()))
            assert not (out / FILE_NAME).exists()
            again = run([sys.executable, straw, c.server, "-o", out, "-v"], env, tmp_path)
            assert again.returncode == 0 and "speaks Slurm %s" % release in again.stderr
        finally:
            down(c)
    assert versions == [[38 << 8], [45 << 8], [36 << 8]]


def test_a_foreign_or_corrupt_cache_is_ignored(controllers, tmp_path):
    straw = os.path.join(ROOT, "bin", "straw")
    c = controllers["24.11"]
    out = tmp_path / "conf"
    out.mkdir()
    cache = cache_home(tmp_path) / "straw-slurm" / "versions"
    cache.parent.mkdir(parents=True, exist_ok=True)
    env = clean_environment(SLURM_JWT=mint_token(c.jwt_key, "slurm"))
    for text, mode in (("straw-versions 1\n127.0.0.1 %d 45\n" % c.port, 0o666),  # writable by all
                       ("garbage \x00\xff", 0o644), ("straw-versions 1\n127.0.0.1 x 99\n", 0o644)):
        cache.write_bytes(text.encode("latin-1"))
        cache.chmod(mode)
        proc = run([sys.executable, straw, c.server, "-o", out, "-v"], env, tmp_path)
        assert proc.returncode == 0 and "speaks Slurm 24.11" in proc.stderr, proc.stderr
    assert oct(cache.stat().st_mode & 0o777) == oct(0o644)
    assert load(str(cache)) == {next(iter(load(str(cache)))): 42 << 8}


def test_a_tree_the_user_cannot_write_caches_bytecode_in_the_users_cache(tmp_path):
    """An installed collection run by another user: no __pycache__ can be written beside the
    library, so bin/straw keeps the bytecode in that user's cache and the next run loads it."""
    tree = tempfile.mkdtemp(prefix="straw-ro-", dir="/var/tmp")
    home = tempfile.mkdtemp(prefix="straw-home-", dir="/var/tmp")
    try:
        for part in ("bin", "plugins"):
            shutil.copytree(os.path.join(ROOT, part), os.path.join(tree, part),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache"))
        for directory, _dirs, names in os.walk(tree):
            os.chmod(directory, 0o755)
            for name in names:
                os.chmod(os.path.join(directory, name), 0o755 if directory.endswith("bin") else 0o644)
        os.chown(home, 65534, 65534)
        env = {"HOME": home, "PATH": "/usr/bin:/bin"}
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   python_for_any_user(), os.path.join(tree, "bin", "straw"), "-V"]
        for _run in range(2):
            proc = subprocess.run(command, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, check=False)
            assert proc.returncode == 0, proc.stderr
        cached = [name for _d, _s, names in os.walk(os.path.join(home, ".cache", "straw-slurm"))
                  for name in names if name.endswith(".pyc")]
        assert any(name.startswith("command.") for name in cached), cached
        assert not any("__pycache__" in d for d, _s, _n in os.walk(tree))
    finally:
        shutil.rmtree(tree)
        shutil.rmtree(home)


def test_the_single_file_is_reproducible(tmp_path):
    straw_pyz = os.path.join(ROOT, "bin", "straw-pyz")
    for name in ("a", "b"):
        subprocess.run([sys.executable, straw_pyz, str(tmp_path / name)], check=True,
                       stdout=subprocess.PIPE)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
