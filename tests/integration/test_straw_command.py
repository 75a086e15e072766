"""bin/straw as a real process against the lab controllers: the original straw's argument
forms, negotiation, every auth, --check, --prune, exit codes, start-up imports, and no secret
in its output. Run with STRAW_LAB_KEEP=1 when other suites share the controllers."""
import base64
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from fixtures import startup
from _slurm.auth.jwt import mint_token
from lab import ROOT, down, up

STRAW = os.path.join(ROOT, "bin", "straw")
PY38 = os.path.expanduser("~/.pyenv/versions/3.8.18/bin/python")
# What the slurmd set holds: 22.05 sends no scripts, 24.11+ sends prolog.sh (executable).
FILES_2205 = ["slurm.conf", "nodes.conf", "gres.conf", "cgroup.conf", "plugstack.conf"]
FILES = FILES_2205 + ["prolog.sh"]


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# A well-formed token that no controller accepts: for tests whose failure lies elsewhere.
DUMMY = ".".join((_b64(b'{"alg":"HS256","typ":"JWT"}'),
                  _b64(b'{"exp":4102444800,"iat":1700000000,"sun":"slurm"}'), _b64(b"signature")))


def environment(token=None, env=None):
    result = {k: v for k, v in os.environ.items() if k != "SLURM_JWT"}
    if token:
        result["SLURM_JWT"] = token
    result.update(env or {})
    return result


def straw(*args, token=None, python=sys.executable, env=None, timeout=120):
    return subprocess.run([python, STRAW] + [str(a) for a in args], env=environment(token, env),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, timeout=timeout)


def token_for(controller, user="slurm"):
    return mint_token(controller.jwt_key, user)


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def same_as_controller(controller, directory, names):
    for name in names:
        assert (directory / name).read_bytes() == controller.expected(name), name


def one_error_line(proc):
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("straw: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def snapshot(directory):
    return {p.name: (p.read_bytes(), mode(p), p.stat().st_mtime_ns)
            for p in sorted(directory.iterdir())}


# --- the original straw's own command lines ---------------------------------------------------

def test_straws_own_argument_form(controllers, tmp_path):
    """straw SERVER VERSION --auth jwt -o DIR, the token in SLURM_JWT: silent, exact bytes."""
    c = controllers["22.05"]
    out = tmp_path / "conf"  # created when missing (the original straw wanted it to exist)
    proc = straw(c.server, "22.05", "--auth", "jwt", "-o", out, token=token_for(c))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    # and the record of what it wrote, for --prune (no versions file: the release was given)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES_2205 + [".straw-slurm-manifest"])
    same_as_controller(c, out, FILES_2205)
    assert any(byte > 127 for byte in (out / "gres.conf").read_bytes())  # not UTF-8, kept as is
    assert all(mode(out / name) == 0o644 for name in FILES_2205) and mode(out) == 0o755


def test_two_servers_the_first_down_and_the_default_auth(controllers, tmp_path):
    c = controllers["22.05"]
    proc = straw("127.0.0.1:17999", c.server, "22.05", "-o", tmp_path, token=token_for(c))
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf"])


@pytest.mark.parametrize("release", ["20.11", "26.05"])
def test_negotiated_without_a_release(controllers, tmp_path, release):
    c = controllers[release]
    proc = straw(c.server, "-o", tmp_path, "-v", token=token_for(c))
    assert proc.returncode == 0, proc.stderr
    assert "speaks Slurm %s" % release in proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf", "gres.conf"])
    if release == "26.05":
        same_as_controller(c, tmp_path, ["nodes.conf", "prolog.sh"])
        assert mode(tmp_path / "prolog.sh") == 0o755
        assert mode(tmp_path / "slurm.conf") == 0o644
    else:  # 20.11 ships no included file: said on stderr as a warning
        assert "straw: warning: slurm.conf includes nodes.conf" in proc.stderr


def test_a_release_the_controller_does_not_speak(controllers, tmp_path):
    c = controllers["26.05"]
    line = one_error_line(straw(c.server, "20.11", "-o", tmp_path, token=token_for(c)))
    assert c.server in line and "20.11" in line
    assert not list(tmp_path.iterdir())


def test_an_unknown_release(controllers, tmp_path):
    line = one_error_line(straw(controllers["24.11"].server, "19.05", "-o", tmp_path,
                                token=token_for(controllers["24.11"])))
    assert "19.05" in line


# --- every auth ---------------------------------------------------------------------------

def test_munge_through_munged_socket(controllers, tmp_path):
    c = controllers["24.11"]
    proc = straw(c.server, "--auth", "munge", "--munge-socket", c.munge_socket, "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, FILES)
    assert mode(tmp_path / "prolog.sh") == 0o755 and mode(tmp_path / "gres.conf") == 0o644


def test_jwt_minted_from_the_key_and_the_client_set(controllers, tmp_path):
    c = controllers["26.05"]
    proc = straw(c.server, "--jwt-key", c.jwt_key, "--jwt-user", "nobody", "--request", "client",
                 "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf"])
    assert not (tmp_path / "gres.conf").exists() and not (tmp_path / "prolog.sh").exists()


@pytest.mark.parametrize("release,port", [("24.11", 17237), ("26.05", 17337)])
def test_auth_slurm_with_slurm_key(tmp_path, release, port):
    c = up(release, name="slurmauth", port=port, mode="slurm")
    proc = straw(c.server, "--auth", "slurm", "--slurm-key", c.slurm_key, "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, ["slurm.conf", "gres.conf", "prolog.sh"])
    assert mode(tmp_path / "prolog.sh") == 0o755


@pytest.mark.skipif(not os.path.exists(PY38), reason="no Python 3.8 here")
def test_python_38_jwt_from_the_environment_with_the_standard_library_only(controllers, tmp_path):
    c = controllers["24.11"]
    proc = straw(c.server, "-o", tmp_path, token=token_for(c), python=PY38,
                 env={"PYTHONNOUSERSITE": "1"})
    assert proc.returncode == 0, proc.stderr
    same_as_controller(c, tmp_path, FILES)
    assert mode(tmp_path / "prolog.sh") == 0o755


@pytest.mark.skipif(not os.path.exists(PY38), reason="no Python 3.8 here")
def test_minting_without_pyjwt_says_what_to_install(controllers, tmp_path):
    probe = subprocess.run([PY38, "-c", "import jwt"], stderr=subprocess.DEVNULL, check=False)
    if probe.returncode == 0:
        pytest.skip("this Python 3.8 has PyJWT")
    c = controllers["24.11"]
    line = one_error_line(straw(c.server, "--jwt-key", c.jwt_key, "-o", tmp_path, python=PY38,
                                env={"PYTHONNOUSERSITE": "1"}))
    assert line == "straw: PyJWT is required to mint a token from a key (pip install PyJWT)"


@pytest.mark.skipif(not os.path.exists(PY38), reason="no Python 3.8 here")
def test_discovery_without_dnspython_says_what_to_install(tmp_path):
    probe = subprocess.run([PY38, "-c", "import dns.resolver"], stderr=subprocess.DEVNULL,
                           check=False)
    if probe.returncode == 0:
        pytest.skip("this Python 3.8 has dnspython")
    line = one_error_line(straw("-o", tmp_path, token=DUMMY, python=PY38,
                                env={"PYTHONNOUSERSITE": "1"}))
    assert "dnspython is required" in line and "pip install dnspython" in line


# --- --check, --prune, owners ----------------------------------------------------------------

def test_check_in_sync_and_drifted(controllers, tmp_path):
    c = controllers["24.11"]
    token = token_for(c)
    assert straw(c.server, "-o", tmp_path, token=token).returncode == 0
    before = snapshot(tmp_path)
    in_sync = straw(c.server, "-o", tmp_path, "--check", token=token)
    assert (in_sync.returncode, in_sync.stdout, in_sync.stderr) == (0, "", "")
    assert snapshot(tmp_path) == before

    with open(str(tmp_path / "slurm.conf"), "a") as handle:
        handle.write("# drift\n")
    (tmp_path / "nodes.conf").unlink()
    os.chmod(str(tmp_path / "prolog.sh"), 0o644)
    drifted_state = snapshot(tmp_path)
    drifted = straw(c.server, "-o", tmp_path, "--check", token=token)
    assert drifted.returncode == 1, drifted.stderr
    assert sorted(drifted.stdout.splitlines()) == [
        "differs: slurm.conf", "missing: nodes.conf", "mode differs: prolog.sh"]
    assert snapshot(tmp_path) == drifted_state

    verbose = straw(c.server, "-o", tmp_path, "--check", "-v", token=token)
    assert verbose.returncode == 1
    assert "-# drift" in verbose.stdout and "want mode 0755" in verbose.stdout
    assert snapshot(tmp_path) == drifted_state

    assert straw(c.server, "-o", tmp_path, token=token).returncode == 0
    same_as_controller(c, tmp_path, FILES)
    assert mode(tmp_path / "prolog.sh") == 0o755
    assert straw(c.server, "-o", tmp_path, "--check", token=token).returncode == 0


def test_check_of_a_missing_directory_creates_nothing(controllers, tmp_path):
    c = controllers["24.11"]
    proc = straw(c.server, "-o", tmp_path / "absent", "--check", token=token_for(c))
    assert proc.returncode == 1
    assert sorted(proc.stdout.splitlines()) == sorted("missing: %s" % n for n in FILES)
    assert not (tmp_path / "absent").exists()


def test_prune(controllers, tmp_path):
    """--prune removes only what straw wrote (test_prune.py changes what a controller serves);
    a file it did not write stays, and --prune=force removes it."""
    c = controllers["24.11"]
    token = token_for(c)
    (tmp_path / "topology.conf").write_text("stale\n")
    (tmp_path / "mine.conf").write_text("mine\n")
    assert straw(c.server, "-o", tmp_path, token=token).returncode == 0
    assert (tmp_path / "topology.conf").exists()  # as in straw, nothing is removed by default
    check = straw(c.server, "-o", tmp_path, "--check", "--prune", token=token)
    assert (check.returncode, check.stdout) == (0, "would keep: topology.conf (not written by straw.slurm)\n")
    pruned = straw(c.server, "-o", tmp_path, "--prune", token=token)
    assert pruned.returncode == 0
    assert (tmp_path / "topology.conf").exists()
    assert pruned.stderr.startswith("straw: warning: kept %s/topology.conf" % tmp_path)
    check = straw(c.server, "-o", tmp_path, "--check", "--prune=force", token=token)
    assert (check.returncode, check.stdout) == (1, "would remove: topology.conf\n")
    assert (tmp_path / "topology.conf").exists()
    assert straw(c.server, "-o", tmp_path, "--prune=force", token=token).returncode == 0
    assert not (tmp_path / "topology.conf").exists()
    assert (tmp_path / "mine.conf").read_text() == "mine\n"  # never mentioned: never touched


def test_owner_and_group(controllers, tmp_path):
    c = controllers["24.11"]
    out = tmp_path / "out"
    proc = straw(c.server, "-o", out, "--owner", "65534", "--group", "65534", token=token_for(c))
    assert proc.returncode == 0, proc.stderr
    for name in FILES:
        info = os.stat(str(out / name))
        assert (info.st_uid, info.st_gid) == (65534, 65534), name
    os.chown(str(out / "slurm.conf"), 0, 0)
    check = straw(c.server, "-o", out, "--owner", "65534", "--group", "65534", "--check",
                  token=token_for(c))
    assert (check.returncode, check.stdout) == (1, "owner, group or mode differs: slurm.conf\n")
    assert "no user" in one_error_line(straw(c.server, "-o", out, "--owner", "no-such-user-x"))


# --- errors: one line, exit 2, nothing secret ----------------------------------------------

def test_a_bad_token_is_one_line_and_never_echoed(controllers, tmp_path):
    c = controllers["24.11"]
    bad = token_for(c)[:-6] + "AAAAAA"
    line = one_error_line(straw(c.server, "-o", tmp_path, token=bad))
    assert "rc 1007" in line and "auth jwt" in line and bad not in line
    loud = straw(c.server, "-o", tmp_path, "-vv", token=bad)
    assert loud.returncode == 2 and "Traceback" not in loud.stderr
    assert bad not in loud.stdout + loud.stderr
    assert bad.split(".")[2] not in loud.stdout + loud.stderr  # not even the signature
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("server", ["127.0.0.1:17999", "[::1]:17999"])
def test_unreachable_server(tmp_path, server):
    line = one_error_line(straw(server, "-o", tmp_path, "--timeout", "2", token=DUMMY))
    assert line.startswith("straw: %s: " % server) and "refused" in line


def test_no_token(controllers, tmp_path):
    line = one_error_line(straw(controllers["24.11"].server, "-o", tmp_path))
    assert "SLURM_JWT" in line and "--jwt-key" in line


@pytest.mark.parametrize("args,words", [
    (["h", "22.05", "23.02"], "more than one release"),
    (["h", "--auth", "munge", "--jwt-key", "k"], "--jwt-key is for --auth jwt"),
    (["h", "--slurm-key", "k"], "--slurm-key is for --auth slurm"),
    (["h", "--timeout", "0"], "--timeout"),
    (["h", "--retries", "0"], "--retries"),
    (["h", "--tls-check-hostname"], "needs --tls-ca"),
    (["h", "--srv-domain", "example.org"], "not both"),
    (["h", "--bogus"], "unrecognized arguments"),
    (["[::1", "-o", "."], "malformed server"),
])
def test_usage_errors_are_one_line(args, words):
    assert words in one_error_line(straw(*args, token=DUMMY))


def test_local_auth_problems_name_the_command_options(controllers, tmp_path):
    missing = one_error_line(straw(controllers["24.11"].server, "--auth", "munge",
                                   "--munge-socket", tmp_path / "munge_socket", "-o", tmp_path))
    assert "set --munge-socket" in missing and str(tmp_path / "munge_socket") in missing
    no_key = one_error_line(straw(controllers["26.05"].server, "--auth", "slurm",
                                  "--slurm-key", tmp_path / "none.key", "-o", tmp_path))
    assert "none.key" in no_key


def test_a_tls_ca_that_cannot_be_read(controllers, tmp_path):
    line = one_error_line(straw(controllers["26.05"].server, "--tls-ca", tmp_path / "none.pem",
                                "-o", tmp_path, token=DUMMY))
    assert "none.pem" in line


def test_interrupted_quietly(tmp_path):
    """Ctrl-C while a controller keeps us waiting: exit 130, no traceback."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(30)
        server = "127.0.0.1:%d" % listener.getsockname()[1]
        # As a terminal would: SIGINT at its default, even when this suite runs in the
        # background (nohup, CI), where it is inherited as ignored.
        reset = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                 "os.execv(sys.argv[1], sys.argv[1:])")
        proc = subprocess.Popen([sys.executable, "-c", reset, sys.executable, STRAW, server,
                                 "-o", str(tmp_path), "--timeout", "60"], env=environment(DUMMY),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True)
        connection, _peer = listener.accept()  # straw has sent its request and waits
        try:
            time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)
        finally:
            connection.close()
    assert proc.returncode == 130
    assert (stdout, stderr) == ("", "")


def test_secrets_never_printed_at_full_verbosity(controllers, tmp_path):
    c = controllers["22.05"]
    token = token_for(c)
    with open(c.jwt_key, "rb") as handle:
        key = handle.read()
    runs = [straw(c.server, "-o", tmp_path / "env", "-vv", token=token),
            straw(c.server, "-o", tmp_path / "key", "-vv", "--jwt-key", c.jwt_key, token=token),
            straw(c.server, "-o", tmp_path / "check", "-vv", "--check", token=token)]
    assert [p.returncode for p in runs] == [0, 0, 1]
    for proc in runs:
        output = proc.stdout + proc.stderr
        assert token not in output and token.split(".")[2] not in output
        assert key.hex() not in output and key.decode("latin-1") not in output
    assert "the token in SLURM_JWT" in runs[0].stderr
    assert "SLURM_JWT is ignored" in runs[1].stderr


# --- informational options and start-up ---------------------------------------------------------

def test_list_version_and_help():
    listed = straw("-l")
    assert listed.returncode == 0
    from _slurm.versions import SUPPORTED_RELEASES
    assert listed.stdout.splitlines() == list(SUPPORTED_RELEASES)
    assert straw("--list").stdout == listed.stdout
    version = straw("-V")
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        wanted = [line.split(":", 1)[1].strip() for line in handle if line.startswith("version:")]
    assert (version.returncode, version.stdout) == (0, "straw (straw.slurm) %s\n" % wanted[0])
    assert straw("--version", "-v").stdout == version.stdout  # through argparse, the same
    helptext = straw("--help")
    assert helptext.returncode == 0 and "SLURM_JWT" in helptext.stdout
    assert "default: jwt" in helptext.stdout and "--prune" in helptext.stdout


@pytest.mark.parametrize("args", [["-V"], ["-l"], ["--help"], ["-V", "-v"]])
def test_informational_options_do_not_import_the_client(args):
    status, imported = startup.imported([STRAW] + args)
    assert status == 0
    assert not {"_slurm.client", "_slurm.transport", "_slurm.auth"} & imported, sorted(imported)
    assert not startup.HEAVY & imported, sorted(startup.HEAVY & imported)
    if args != ["-l"]:  # the command's own module only
        assert {m for m in imported if m.startswith("_slurm")} <= {"_slurm", "_slurm.command",
                                                                   "_slurm.cli"}


@pytest.mark.parametrize("auth", ["jwt", "munge"])
def test_a_plain_fetch_imports_nothing_heavy(controllers, tmp_path, auth):
    c = controllers["26.05"]
    extra = ["--munge-socket", c.munge_socket] if auth == "munge" else []
    for attempt in ("first contact", "repeat"):
        status, imported = startup.imported(
            [STRAW, c.server, "--auth", auth, "-o", str(tmp_path)] + extra,
            environment(token_for(c) if auth == "jwt" else None))
        assert status == 0 and "_slurm.client" in imported, attempt
        assert not startup.HEAVY & imported, (attempt, sorted(startup.HEAVY & imported))


def test_installed_collection_layout_through_a_symlink(tmp_path, controllers):
    """From an installed collection, ansible_collections/straw/slurm/bin/straw, run through
    a symlink elsewhere (as on PATH): the library is found beside the real script."""
    tree = tmp_path / "ansible_collections" / "straw" / "slurm"
    tree.mkdir(parents=True)
    for part in ("bin", "plugins"):
        subprocess.run(["cp", "-a", os.path.join(ROOT, part), str(tree)], check=True)
    (tree / "MANIFEST.json").write_text('{"collection_info": {"version": "9.8.7"}}')
    link = tmp_path / "path" / "straw"
    link.parent.mkdir()
    os.symlink(str(tree / "bin" / "straw"), str(link))
    c = controllers["26.05"]
    env = {k: v for k, v in environment(token_for(c)).items() if k != "PYTHONPATH"}
    run = [sys.executable, str(link)]
    proc = subprocess.run(run + [c.server, "-o", str(tmp_path / "out")], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "slurm.conf").read_bytes() == c.expected("slurm.conf")
    version = subprocess.run(run + ["-V"], stdout=subprocess.PIPE, universal_newlines=True,
                             check=False)
    assert version.stdout == "straw (straw.slurm) 9.8.7\n"


def test_without_the_library_one_line(tmp_path):
    lonely = tmp_path / "bin" / "straw"
    lonely.parent.mkdir()
    shutil.copy(STRAW, str(lonely))
    proc = subprocess.run([sys.executable, str(lonely), "h", "-o", str(tmp_path)],
                          env=environment(DUMMY), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert "cannot find the straw.slurm library" in one_error_line(proc)


def test_retry_for_rides_out_a_controller_that_is_not_up_yet(controllers, tmp_path):
    """Started before its controller (a fleet booting after a power cut): --retry-for keeps
    trying, waiting longer each time at random, and the files come once it answers; without
    it the run fails at once, naming the cause."""
    port = 17470
    munge = ["--auth", "munge", "--munge-socket", controllers["26.05"].munge_socket]  # the chroot's munged
    refused = straw("127.0.0.1:%d" % port, "-o", tmp_path / "once", "--timeout", 2, *munge)
    assert "Connection refused" in one_error_line(refused)
    late = subprocess.Popen([sys.executable, STRAW, "127.0.0.1:%d" % port, "-o", str(tmp_path / "conf"),
                             "--request", "client", "--timeout", "2", "--retry-for", "60"] + munge,
                            env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    try:
        time.sleep(3)
        assert late.poll() is None, late.communicate()
        c = up("26.05", name="late", port=port)
        try:
            _out, err = late.communicate(timeout=60)
        finally:
            down(c)
    finally:
        if late.poll() is None:
            late.kill()
            late.wait()
    assert late.returncode == 0, err
    assert (tmp_path / "conf" / "slurm.conf").exists()
