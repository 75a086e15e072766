"""TLS against the real thing: Slurm 25.11 built from source with TLSType=tls/s2n (not a
proxy), through the library's fetch and client_context. The build comes from
tests/lab/tls-build; without it (and without its sources) every test skips, saying why."""
import os
import re
import subprocess
import sys
import time

import pytest

from _slurm.auth.choose import credentials_for
from _slurm.client import fetch
from _slurm.discovery import lookup
from _slurm.errors import ControllerError, FetchError, NetworkError, SlurmConfigError
from _slurm.tls import client_context
from fixtures.servers import DnsServer
from lab import ROOT, stop_tls, tls_available, up_tls

PLAIN_PORT = 17427  # the same build in plaintext


@pytest.fixture(scope="module")
def tls_lab():
    """The TLS controllers (munge+jwt, auth/slurm), stopped with their chroot at the end
    (unless STRAW_LAB_KEEP is set, as for the other lab controllers)."""
    available, why = tls_available()
    if not available:
        pytest.skip(why)
    try:
        yield {"munge": up_tls("munge"), "slurm": up_tls("slurm")}
    finally:
        if not os.environ.get("STRAW_LAB_KEEP"):
            stop_tls()


def credentials(controller, auth):
    return credentials_for(auth, munge_socket=controller.munge_socket, jwt_key=controller.jwt_key,
                           jwt_user="slurm", slurm_key=controller.slurm_key)


@pytest.mark.parametrize("controller_auth, auth", [("munge", "munge"), ("munge", "jwt"),
                                                   ("slurm", "slurm")])
def test_fetch_with_the_clusters_ca(tls_lab, controller_auth, auth):
    controller = tls_lab[controller_auth]
    result = fetch([controller.server], credentials(controller, auth), timeout=5,
                   tls=client_context(controller.ca))
    assert result.release == "25.11" and result.controller == controller.server
    files = {f.name: f.content for f in result.files}
    assert bytes(files["slurm.conf"]) == controller.expected("slurm.conf")
    assert b"TLSType=tls/s2n" in bytes(files["slurm.conf"])


def test_a_wrong_ca_fails_certificate_verification(tls_lab):
    controller = tls_lab["munge"]
    with pytest.raises(FetchError) as info:
        fetch([controller.server], credentials(controller, "jwt"), timeout=5,
              tls=client_context(controller.wrong_ca))
    assert isinstance(info.value.last, NetworkError)
    message = str(info.value)
    assert re.search(r"certificate.*verif", message, re.IGNORECASE), message
    assert controller.wrong_ca in message and "CN=" in message, message  # which CA, which subject


def test_plaintext_gets_the_controllers_rc_13000(tls_lab):
    controller = tls_lab["munge"]
    with pytest.raises(FetchError) as info:
        fetch([controller.server], credentials(controller, "munge"), timeout=5)
    error = info.value.last
    assert isinstance(error, ControllerError) and error.rc == 13000  # the controller speaks TLS
    assert "this controller speaks TLS: give tls_ca" in str(info.value)


def test_tls_to_a_plaintext_controller_fails_quickly(tls_lab):
    plain = up_tls("munge", name="plain-munge", port=PLAIN_PORT, tls=False)
    creds = credentials(plain, "jwt")
    assert fetch([plain.server], creds, timeout=5).release == "25.11"  # it is up, in plaintext
    start = time.monotonic()
    with pytest.raises(SlurmConfigError) as info:
        fetch([plain.server], creds, timeout=3, tls=client_context(tls_lab["munge"].ca))
    assert time.monotonic() - start < 5
    # Named whether it closes the handshake (at once) or waits on the bytes (until the timeout).
    assert re.search(r"does not speak TLS|does the controller speak TLS", str(info.value)), \
        str(info.value)


def test_srv_discovery_then_tls(tls_lab):
    controller = tls_lab["munge"]
    dns = DnsServer({"_slurmctld._tcp.lab.test": [(0, 0, controller.port, "localhost")]})
    try:
        found = lookup("lab.test", [dns.server])
    finally:
        dns.close()
    # The certificate names localhost, so checking the SRV target's name works too.
    result = fetch(found, credentials(controller, "munge"), timeout=5,
                   tls=client_context(controller.ca, check_hostname=True))
    assert result.controller == "localhost:%d" % controller.port and result.release == "25.11"


def _listener_certificate(controller, directory):
    """A certificate for the watcher's listener, signed by the cluster's CA (as
    sackd_cert_file is)."""
    tls = os.path.join(controller.conf_dir, "tls")
    key, csr, pem = (os.path.join(str(directory), n) for n in ("l.key", "l.csr", "l.pem"))
    ext = os.path.join(str(directory), "ext")
    with open(ext, "w") as handle:
        handle.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for command in (["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                    ["openssl", "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr],
                    ["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(tls, "ca.pem"),
                     "-CAkey", os.path.join(tls, "ca.key"), "-CAcreateserial", "-out", pem,
                     "-days", "2", "-extfile", ext]):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return pem, key


def test_a_push_over_tls_lands(tls_lab, tmp_path):
    """A TLS cluster pushes over TLS: the watcher's listener, with a certificate chained to the
    cluster's CA, takes the push and writes it after a real scontrol reconfigure."""
    controller = tls_lab["munge"]
    pem, key = _listener_certificate(controller, tmp_path)
    uid = subprocess.run(["chroot", controller.root, "id", "-u", "slurm"], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    log = tmp_path / "log"
    out = tmp_path / "conf"
    with open(str(log), "w") as handle:
        watcher = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "bin", "straw"), controller.server, "--tls-ca",
             controller.ca, "--listen-cert", pem, "--listen-key", key, "--listen-port", "17497",
             "--auth", "munge", "--munge-socket", controller.munge_socket, "--slurm-user", uid,
             "--request", "client", "-o", str(out), "--watch", "--interval", "600"],
            stdout=subprocess.DEVNULL, stderr=handle)
    try:
        deadline = time.monotonic() + 10
        while "registered with" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "registered with" in log.read_text(), log.read_text()
        time.sleep(1.1)
        nodes = os.path.join(controller.conf_dir, "nodes.conf")
        with open(nodes, "a") as handle:
            handle.write("# changed %d\n" % time.time_ns())
        subprocess.run(["chroot", controller.root, "env",
                        "SLURM_CONF=/srv/%s/slurm.conf" % controller.name,
                        "/opt/slurm/bin/scontrol", "reconfigure"], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wanted = controller.expected("nodes.conf")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
                not (out / "nodes.conf").exists() or (out / "nodes.conf").read_bytes() != wanted):
            time.sleep(0.02)
        assert (out / "nodes.conf").read_bytes() == wanted, log.read_text()
        while "push from" not in log.read_text() and time.monotonic() < deadline + 2:
            time.sleep(0.02)  # the line follows the rename that the loop above saw
        assert "push from" in log.read_text()
    finally:
        watcher.terminate()
        watcher.wait(10)


def test_a_watcher_without_a_listener_certificate_says_it_polls(tls_lab, tmp_path):
    controller = tls_lab["munge"]
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "bin", "straw"), controller.server, "--tls-ca",
         controller.ca, "--auth", "munge", "--munge-socket", controller.munge_socket,
         "--request", "client", "-o", str(tmp_path / "conf"), "--watch", "--interval", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        time.sleep(3)
    finally:
        proc.terminate()
        _out, err = proc.communicate(10)
    assert "need a listener certificate" in err and "polling only" in err, err
