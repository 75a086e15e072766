"""The next release against the real thing: SchedMD's master (Slurm 26.11, protocol 46) built
from source by tests/lab/src-build next, as a configless controller (munge with jwt, and
auth/slurm; the build answers HTTP on its RPC port, and one controller has that turned off):
both request sets with every auth, the negotiation, and pushes after a real `scontrol
reconfigure` taken by `bin/straw --watch`. Without the build (and without its sources:
STRAW_SLURM_NEXT_SRC) every test skips, saying why."""
import os
import subprocess
import time

import pytest

from _slurm import client
from _slurm.auth.choose import credentials_for
from _slurm.errors import ClosedError, FetchError
from _slurm.transport import Address
from fixtures.servers import Proxy
from lab import next_available, stop_next, up_next
from watching import Watcher, change, content, wait_for

PROTOCOL = 46  # what master speaks: the test says so when master moves on
PUSH_PORTS = {"munge": 19060, "slurm": 19070}


@pytest.fixture(scope="module")
def next_lab():
    """Master's controllers (munge+jwt, auth/slurm), stopped with their chroot at the end
    (unless STRAW_LAB_KEEP is set, as for the other lab controllers)."""
    available, why = next_available()
    if not available:
        pytest.skip(why)
    try:
        yield {auth: up_next(auth) for auth in ("munge", "slurm", "nohttp")}
    finally:
        if not os.environ.get("STRAW_LAB_KEEP"):
            stop_next()


def credentials(controller, auth, request_set):
    # SlurmUser may have the slurmd set; anyone may have the client set.
    user = "slurm" if request_set == "slurmd" else "nobody"
    return credentials_for("munge" if auth == "munge_key" else auth,
                           munge_socket=controller.munge_socket if auth == "munge" else None,
                           munge_key=controller.munge_key if auth == "munge_key" else None,
                           jwt_key=controller.jwt_key, jwt_user=user,
                           slurm_key=controller.slurm_key)


def slurm_uid(controller):
    return subprocess.run(["chroot", controller.root, "id", "-u", "slurm"], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()


def reconfigure(controller):
    subprocess.run(["chroot", controller.root, "env", "SLURM_CONF=/srv/%s/slurm.conf" % controller.name,
                    "/opt/slurm/bin/scontrol", "reconfigure"], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_the_build_is_the_release_we_speak(next_lab):
    """Master is 26.11 (protocol 46) today; when it moves on, this says the client must too."""
    controller = next_lab["munge"]
    assert controller.release == "26.11", "master is Slurm %s now: teach the client its " \
        "protocol (versions.RELEASES)" % controller.release
    header = os.path.join(controller.root, "opt", "slurm", "include", "slurm", "slurm_version.h")
    if os.path.exists(header):
        with open(header) as handle:
            assert "SLURM_VERSION_STRING \"26.11" in handle.read()


@pytest.mark.parametrize("controller_auth, auth, request_set", [
    ("munge", "munge", "slurmd"), ("munge", "munge", "client"),
    ("munge", "munge_key", "slurmd"), ("munge", "munge_key", "client"),
    ("munge", "jwt", "slurmd"), ("munge", "jwt", "client"),
    ("slurm", "slurm", "slurmd"), ("slurm", "slurm", "client")])
def test_both_sets_with_every_auth(next_lab, controller_auth, auth, request_set):
    controller = next_lab[controller_auth]
    result = client.fetch([controller.server], credentials(controller, auth, request_set),
                          request=request_set, timeout=10)
    assert result.protocol_version == PROTOCOL << 8 and result.release == "26.11"
    assert result.controller == controller.server and result.warnings == []
    files = {f.name: f for f in result.files}
    for name, file in files.items():
        expected = controller.expected(name)
        if file.exists:
            assert bytes(file.content) == expected, name
        else:
            assert expected is None, name
    assert files["slurm.conf"].exists and files["nodes.conf"].exists  # the include follows
    assert files["plugstack.conf"].exists and bytes(files["plugstack.conf"].content) == b""
    assert not files["topology.conf"].exists
    if request_set == "slurmd":
        assert result.spool_dir == "/var/spool/slurmd-%s" % controller.name
        assert "cgroup.conf" in files and "gres.conf" in files
        assert files["prolog.sh"].executable
    else:
        assert result.spool_dir is None and "gres.conf" not in files


def test_first_contact_is_one_connection(next_lab):
    """The newest version we speak is master's own: no negotiation at all."""
    controller = next_lab["munge"]
    proxy = Proxy(controller.port)
    try:
        result = client.fetch([proxy.server], credentials(controller, "jwt", "client"),
                              request="client", timeout=10)
        time.sleep(0.3)
        assert result.release == "26.11" and proxy.connections == 1
    finally:
        proxy.close()


@pytest.mark.parametrize("http", [True, False])
def test_its_window_is_four_versions(next_lab, http):
    """26.11 accepts 25.05's to its own; 24.11's is turned down with HTTP (HTTP on), or in
    silence as 26.05 does (HTTP off)."""
    controller = next_lab["munge" if http else "nohttp"]
    creds = credentials(controller, "jwt", "client")
    for release in ("25.05", "25.11", "26.05", "26.11"):
        result = client.fetch([controller.server], creds, request="client", protocol=release,
                              timeout=10)
        assert result.release == release
    with pytest.raises(FetchError) as info:
        client.fetch([controller.server], creds, request="client", protocol="24.11", timeout=10)
    if http:
        assert "(Slurm 25.11 or newer, HTTP on) accepted none of Slurm 24.11 (protocol 42)" \
            in str(info.value)
    else:
        assert isinstance(info.value.last, ClosedError)
        assert "without replying to Slurm 24.11 (protocol 42)" in str(info.value)


@pytest.mark.parametrize("http", [True, False])
def test_upgraded_from_a_remembered_release_it_is_found(next_lab, http):
    """A controller remembered at 24.11's version (say, before an upgrade) turns it down,
    and the search finds 26.11's: from the versions 25.11 and newer speak (HTTP), or from
    all of them (silence)."""
    controller = next_lab["munge" if http else "nohttp"]
    session = client.Session([controller.server], credentials(controller, "jwt", "client"),
                             request="client", timeout=10)
    session.negotiated[Address("127.0.0.1", controller.port)] = 42 << 8  # remembered
    result = session.fetch()
    assert result.protocol_version == PROTOCOL << 8 and result.release == "26.11"


@pytest.mark.parametrize("auth", ["munge", "slurm"])
def test_a_verified_push_after_a_real_reconfigure(next_lab, tmp_path, auth):
    """bin/straw --watch registers at 26.11's version, and the push the controller sends
    after `scontrol reconfigure` lands, verified, with no fetch."""
    controller = next_lab[auth]
    proxy = Proxy(controller.port)
    proof = (["--auth", "munge", "--munge-key", controller.munge_key] if auth == "munge"
             else ["--auth", "slurm", "--slurm-key", controller.slurm_key])
    watcher = Watcher([proxy.server, "--request", "client", "--interval", 600,
                       "--slurm-user", slurm_uid(controller), "--listen-port", PUSH_PORTS[auth]]
                      + proof, tmp_path / "conf")
    try:
        watcher.wait_line("registered with")
        assert any("(Slurm 26.11)" in line for line in watcher.lines()), watcher.lines()
        assert not any("cannot be verified" in line for line in watcher.lines()), watcher.lines()
        time.sleep(1.1)  # pushes made in the second of our last fetch are checked by a fetch
        before = proxy.connections
        wanted = change(controller)
        reconfigure(controller)
        landed = wait_for(lambda: content(tmp_path / "conf" / "nodes.conf") == wanted, 10)
        assert landed is not None, "\n".join(watcher.lines())
        time.sleep(0.3)
        assert proxy.connections == before, "a verified push must cost no fetch"
        assert any("push from" in line and "wrote nodes.conf" in line for line in watcher.lines())
        assert watcher.stop() == 0
    finally:
        watcher.stop()
        proxy.close()
