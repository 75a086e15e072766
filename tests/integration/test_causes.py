"""The cause, not the symptom. Real peers on loopback that are not slurmctld (sshd, nginx, a
TLS server, noise) are named for what they are, fast and in at most two connections; a TLS
client that meets a plaintext peer or the wrong CA says so; credentials that cannot work
(an expired token, no JWT at all, no munged, a short key, a missing kid) are refused before
anything is sent, and what the controller may still refuse is a warning."""
import json
import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from _slurm.auth.choose import credentials_for
from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.auth.jwt_claims import check_token
from _slurm.client import Session, fetch
from _slurm.errors import FetchError, NetworkError, NotSlurmError, RequestError
from _slurm.tls import client_context
from fixtures.servers import (Listener, Relay, TlsServer, answering, make_ca, refused_port)
from fixtures.tokens import token
from lab import ROOT

TIMEOUT = 5.0
QUICK = 1.5  # "well under the timeout"
WRONG_PORT = "slurmctld listens on SlurmctldPort, 6817 by default"


def _wait_listening(port, proc, what):
    for _unused in range(100):
        if proc.poll() is not None:
            pytest.skip("%s did not start: %s" % (what, proc.stdout.read()[-500:]))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.skip("%s did not listen on %d" % (what, port))


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real sshd on a private port with its own config and host key (else, without
    openssh-server, a scripted banner), behind a relay that counts connections."""
    if not os.path.exists("/usr/sbin/sshd") or not shutil.which("ssh-keygen"):
        server = answering(b"SSH-2.0-OpenSSH_9.2 scripted\r\n", first=True)
        yield server
        server.close()
        return
    directory = tmp_path_factory.mktemp("sshd")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "host_key")],
                   check=True)
    port = refused_port()
    (directory / "sshd_config").write_text(
        "Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nUsePAM no\n"
        % (port, directory / "host_key", directory / "sshd.pid"))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation directory
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(directory / "sshd_config")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    with _relayed(proc, port, "sshd") as relay:
        yield relay


@contextlib.contextmanager
def _relayed(proc, port, name):
    """A counting relay in front of a real server's port; the server stops afterwards."""
    try:
        _wait_listening(port, proc, name)
        relay = Relay(port)
        yield relay
        relay.close()
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    """A real nginx on a private port, answering 400 to anything that is not HTTP."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        pytest.skip("nginx is not installed (tests/env.sh installs it)")
    directory = tmp_path_factory.mktemp("nginx")
    port = refused_port()
    (directory / "nginx.conf").write_text("""
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    server { listen 127.0.0.1:%(port)d; }
}
""" % dict(d=directory, port=port))
    proc = subprocess.Popen([binary, "-p", str(directory), "-c", str(directory / "nginx.conf"),
                             "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    with _relayed(proc, port, "nginx") as relay:
        yield relay


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    good = make_ca(str(tmp_path_factory.mktemp("pki")), names=("ctld.lab.test", "127.0.0.1"))
    other = make_ca(str(tmp_path_factory.mktemp("other-pki")), names=("elsewhere.test",))
    return good, other


def _fetch_failure(server, tls=None, session=None):
    """(error, seconds) of a fetch that must fail, alone or in session."""
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        if session is not None:
            session.fetch()
        else:
            fetch([server], JwtCredentials(token()), timeout=TIMEOUT, tls=tls)
    return info.value, time.monotonic() - start


# --- what answered on the port ----------------------------------------------------------------

def test_an_ssh_server(sshd):
    before = sshd.connections
    error, seconds = _fetch_failure(sshd.server)
    assert isinstance(error.last, NotSlurmError)
    message = str(error)
    assert message.startswith("%s is an SSH server (SSH-2.0-" % sshd.server), message
    assert "not slurmctld" in message and WRONG_PORT in message
    assert seconds < QUICK and sshd.connections - before == 1


def test_a_web_server(nginx):
    before = nginx.connections
    error, seconds = _fetch_failure(nginx.server)
    assert isinstance(error.last, NotSlurmError)
    message = str(error)
    assert "is an HTTP server, not Slurm (HTTP/1.1 400 Bad Request, Server: nginx" in message, message
    assert "accepted none" not in message and WRONG_PORT in message
    assert seconds < QUICK and nginx.connections - before == 1  # no negotiation over eleven versions


def test_a_tls_server_that_resets_plaintext(pki):
    """OpenSSL sends no alert to a plaintext client, it resets: one TLS handshake more tells."""
    good, _other = pki
    server = TlsServer(good["cert"], good["key"])
    session = Session([server.server], JwtCredentials(token()), timeout=TIMEOUT)
    try:
        error, seconds = _fetch_failure(server.server, session=session)
        again, _seconds = _fetch_failure(server.server, session=session)
    finally:
        server.close()
    assert isinstance(error.last, NotSlurmError)
    assert str(error) == "%s is a TLS server (this controller or proxy speaks TLS: give tls_ca)" % server.server
    assert seconds < QUICK and server.connections == 3  # 2, then 1: the session remembers
    assert str(again) == str(error)


def test_a_tls_alert_is_read_from_the_bytes():
    server = answering(b"\x15\x03\x03\x00\x02\x02\x46")  # alert: protocol_version
    try:
        error, seconds = _fetch_failure(server.server)
    finally:
        server.close()
    assert "is a TLS server (this controller or proxy speaks TLS: give tls_ca)" in str(error)
    assert seconds < QUICK and server.connections == 1


def test_noise_is_named_at_once():
    """1024 bytes that begin with 00 01 02 03 (a "length" of 66051), then the peer holds on:
    the header is impossible, so nothing waits for the rest."""
    server = answering(bytes(range(256)) * 4, hold=30)
    try:
        error, seconds = _fetch_failure(server.server)
    finally:
        server.close()
    message = str(error)
    assert "is not a Slurm controller: the reply's first bytes are 0x00010203" in message, message
    assert "(unknown binary)" in message and "66051 bytes" in message
    assert seconds < QUICK and server.connections == 1


# --- TLS from our side ------------------------------------------------------------------------

def test_tls_to_a_plaintext_web_server(nginx, pki):
    good, _other = pki
    before = nginx.connections
    error, seconds = _fetch_failure(nginx.server, tls=client_context(good["ca"]))
    message = str(error)
    assert "the controller does not speak TLS (TLSType is not tls/s2n there?): leave out tls_ca" in message
    assert seconds < QUICK and nginx.connections - before == 1


def test_tls_to_a_plaintext_peer_that_closes(pki):
    good, _other = pki
    server = Listener(lambda conn: conn.recv(65536))
    try:
        error, seconds = _fetch_failure(server.server, tls=client_context(good["ca"]))
    finally:
        server.close()
    assert "does not speak TLS" in str(error) and "closed the connection during the handshake" in str(error)
    assert seconds < QUICK and server.connections == 1


def test_the_wrong_ca_names_the_file_and_the_certificate(pki):
    good, other = pki
    server = TlsServer(good["cert"], good["key"])
    try:
        error, seconds = _fetch_failure(server.server, tls=client_context(other["ca"]))
    finally:
        server.close()
    message = str(error)
    assert isinstance(error.last, NetworkError) and message.count("TLS failed") == 1
    assert "certificate (subject CN=ctld.lab.test, issuer CN=lab-ca)" in message, message
    assert "does not verify against the CA in %s" % other["ca"] in message
    assert seconds < QUICK and server.connections == 2


def test_a_name_check_that_fails_says_so(pki):
    _good, other = pki
    server = TlsServer(other["cert"], other["key"])
    try:
        error, _seconds = _fetch_failure(server.server, tls=client_context(other["ca"], check_hostname=True))
    finally:
        server.close()
    message = str(error)
    assert "subject CN=elsewhere.test" in message and "is not valid for 127.0.0.1" in message, message
    assert "tls_check_hostname" in message and server.connections <= 2


# --- credentials checked before they are sent -------------------------------------------------

def _expired():
    """A token whose exp is 1 h 3 min past."""
    return token(lifetime=60, now=time.time() - 3780 - 60)


def test_an_expired_token_is_refused_before_connecting():
    expired = _expired()
    with pytest.raises(RequestError) as info:
        credentials_for("jwt", jwt_token=expired)
    message = str(info.value)
    assert message.startswith("the token expired 1 h 3 min ago (exp ") and " UTC)" in message, message
    assert expired not in message and expired.split(".")[2] not in message


@pytest.mark.parametrize("text, words", [("a.b.c", "its header is not base64url"),
                                         ("just-a-password", "it has 1 dot-separated part"),
                                         ("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", "its claims is not a JSON object")])
def test_not_a_jwt(text, words):
    with pytest.raises(RequestError, match="the token is not a JWT") as info:
        credentials_for("jwt", jwt_token=text)
    assert words in str(info.value) and text not in str(info.value)


def test_a_token_for_nobody_warns_for_the_slurmd_set():
    nobody = token("nobody")
    warnings = []
    credentials_for("jwt", jwt_token=nobody, slurmd_set=True, warnings=warnings)
    assert len(warnings) == 1 and "user nobody" in warnings[0] and "rc 2010" in warnings[0]
    assert nobody not in warnings[0]
    quiet = []
    credentials_for("jwt", jwt_token=nobody, slurmd_set=False, warnings=quiet)
    credentials_for("jwt", jwt_token=token("root"), slurmd_set=True, warnings=quiet)
    assert quiet == []


def test_clock_claims_warn():
    now = 2_000_000_000
    early = token(now=now + 600, nbf=now + 600)
    notes = check_token(early, slurmd_set=False, now=now)
    assert any("not valid for another 10 min" in n for n in notes), notes
    assert any("issued 10 min in the future" in n for n in notes), notes
    recent = token(lifetime=-20, now=now)  # expired 20 s ago: within clock skew, a warning
    assert any("expired 20 s ago" in n for n in check_token(recent, False, now=now))
    with pytest.raises(RequestError, match="no exp claim"):
        check_token(token(now=now, exp=None), False, now=now)


def test_munge_socket_missing(tmp_path):
    server = Listener(lambda conn: None)
    try:
        with pytest.raises(FetchError, match="munged socket not found at %s" % (tmp_path / "none")):
            fetch([server.server], credentials_for("munge", munge_socket=str(tmp_path / "none")))
    finally:
        server.close()
    assert server.connections == 0


def test_munge_socket_nobody_listens_on(tmp_path):
    path = str(tmp_path / "munge.socket.2")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()  # the file stays, nothing listens
    with pytest.raises(RequestError) as info:
        credentials_for("munge", munge_socket=path).auth_section(45 << 8, 2015, b"\0\0\0\0\0\0")
    assert "munged is not running: the socket %s refuses connections" % path in str(info.value)


def test_munged_refuses_to_encode(tmp_path):
    path = str(tmp_path / "munge.socket.2")
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listening.bind(path)
    listening.listen(1)

    def serve():
        conn, _ignored = listening.accept()
        conn.recv(65536)
        text = b"Failed to access key"
        body = bytes([1, len(text)]) + text
        conn.sendall(struct.pack(">IBBBI", 0x00606D4B, 4, 3, 0, len(body)) + body)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(RequestError, match="munged refused to encode: Failed to access key"):
            credentials_for("munge", munge_socket=path).auth_section(45 << 8, 2015, b"\0\0\0\0\0\0")
    finally:
        thread.join(5)
        listening.close()


def test_a_short_slurm_key_warns(tmp_path):
    key = tmp_path / "slurm.key"
    key.write_bytes(os.urandom(8))
    warnings = []
    credentials_for("slurm", slurm_key=str(key), warnings=warnings)
    assert len(warnings) == 1 and "%s is only 8 bytes" % key in warnings[0], warnings
    key.write_bytes(os.urandom(1024))
    quiet = []
    credentials_for("slurm", slurm_key=str(key), warnings=quiet)
    assert quiet == []


def test_a_jwks_without_the_kid_names_its_kids(tmp_path):
    jwks = tmp_path / "slurm.jwks"
    k = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    jwks.write_text(json.dumps({"keys": [{"kty": "oct", "alg": "HS256", "kid": kid, "k": k}
                                         for kid in ("2026-b", "2026-a")]}))
    with pytest.raises(RequestError) as info:
        credentials_for("slurm", slurm_jwks=str(jwks), slurm_kid="2025")
    assert "has no HS256 key with kid '2025'; its kids: '2026-a', '2026-b'" in str(info.value)
    jwks.write_text(json.dumps({"keys": [{"kty": "oct", "alg": "HS256", "kid": "short", "k": "QUJD"}]}))
    with pytest.raises(RequestError, match="is 3 bytes: Slurm refuses keys shorter than 16 bytes"):
        credentials_for("slurm", slurm_jwks=str(jwks))


# --- through bin/straw and the module ---------------------------------------------------------

def _straw(server, jwt, tmp_path):
    env = dict(os.environ, SLURM_JWT=jwt)
    return subprocess.run([sys.executable, os.path.join(ROOT, "bin", "straw"), server, "-o",
                           str(tmp_path / "out"), "--timeout", str(TIMEOUT)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False, timeout=60)


def test_command_names_the_ssh_server(sshd, tmp_path):
    proc = _straw(sshd.server, token(), tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is an SSH server (SSH-2.0-" in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_command_refuses_an_expired_token_without_connecting(tmp_path):
    server = Listener(lambda conn: None)
    expired = _expired()
    try:
        proc = _straw(server.server, expired, tmp_path)
    finally:
        server.close()
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "the token expired 1 h 3 min ago" in proc.stderr and expired not in proc.stderr
    assert server.connections == 0


def test_module_names_the_causes(nginx, run_collecting):
    expired = _expired()
    tasks = """
    - name: a web server
      straw.slurm.config_facts: {servers: ["%s"], auth: jwt, jwt_token: "%s", timeout: 5}
      register: web
      ignore_errors: true
    - name: an expired token
      straw.slurm.config_facts: {servers: ["%s"], auth: jwt, jwt_token: "%s", timeout: 5}
      register: old
      ignore_errors: true
    - ansible.builtin.set_fact: {results: "{{ [web, old] }}"}
""" % (nginx.server, token(), nginx.server, expired)
    before = nginx.connections
    (web, old), proc = run_collecting(tasks)
    assert web["failed"] and "is an HTTP server, not Slurm (HTTP/1.1 400 Bad Request, Server: nginx" in web["msg"]
    assert old["failed"] and "the token expired 1 h 3 min ago" in old["msg"], old["msg"]
    assert nginx.connections - before == 1  # the expired token never left the host
    assert expired not in proc.stdout and expired not in json.dumps([web, old])
