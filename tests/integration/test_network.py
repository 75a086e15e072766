"""Failover, retries, standby, TLS, DNS SRV discovery, IPv6 and auth/slurm, each against
real processes on loopback: lab controllers, a TLS proxy, a DNS server, dead and silent
listeners."""
import json
import os
import socket
import time

import pytest

from _slurm.auth.choose import credentials_for
from _slurm.client import fetch
from _slurm.discovery import lookup
from _slurm.errors import FetchError, RequestError
from _slurm.header import encode_header
from _slurm.tls import client_context
from _slurm.transport import Address
from _slurm.wire import u32
from fixtures.servers import (DnsServer, Proxy, ScriptedController, TlsProxy, make_ca,
                              refused_port, silent_listener)


def rc_frame(version, rc):
    body = u32(rc & 0xFFFFFFFF)
    message = encode_header(version, 8001, len(body), 0x40) + body
    return u32(len(message)) + message


@pytest.fixture
def jwt24(controllers):
    c = controllers["24.11"]
    return c, credentials_for("jwt", jwt_key=c.jwt_key, jwt_user="slurm")


def test_dead_and_silent_servers_cost_under_three_timeouts(jwt24):
    controller, credentials = jwt24
    silent = silent_listener()
    try:
        timeout = 2.0
        start = time.monotonic()
        result = fetch(["127.0.0.1:%d" % refused_port(), silent.server, controller.server],
                       credentials, timeout=timeout)
        elapsed = time.monotonic() - start
    finally:
        silent.close()
    assert result.controller == controller.server
    assert elapsed < 3 * timeout, elapsed


def test_every_server_tried_is_named_with_its_cause(jwt24):
    _controller, credentials = jwt24
    silent = silent_listener()
    refused = "127.0.0.1:%d" % refused_port()
    try:
        with pytest.raises(FetchError) as info:
            fetch([refused, silent.server], credentials, timeout=1)
    finally:
        silent.close()
    message = str(info.value)
    assert refused in message and "refused" in message
    assert silent.server in message and "within 1s" in message


def test_standby_backup_moves_on_to_the_next_controller(jwt24):
    controller, credentials = jwt24
    backup = ScriptedController(lambda version, request: rc_frame(version, 2131))
    try:
        result = fetch([backup.server, controller.server], credentials, timeout=3)
    finally:
        backup.close()
    assert result.controller == controller.server
    assert backup.connections == 1


def test_retries_make_passes_with_backoff(jwt24):
    _controller, credentials = jwt24
    dead = "127.0.0.1:%d" % refused_port()
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch([dead], credentials, timeout=1, retries=3, backoff=0.2)
    assert len(info.value.attempts) == 3
    # Waits of 0.2 then 0.4 s, each drawn between half and the whole (hosts that failed
    # together do not try again together).
    assert time.monotonic() - start >= (0.2 + 0.4) / 2


def test_plaintext_to_a_tls_controller_is_a_clear_error(jwt24):
    _controller, credentials = jwt24
    # A 25.11+ controller with TLSType=tls/s2n answers a plaintext RPC with rc 13000 in its
    # own version (Debian's builds have no TLS plugin, so this peer plays that part).
    tls_only = ScriptedController(lambda version, request: rc_frame(44 << 8, 13000))
    try:
        with pytest.raises(FetchError, match="speaks TLS: give tls_ca") as info:
            fetch([tls_only.server], credentials, timeout=3)
    finally:
        tls_only.close()
    assert "tls" in str(info.value)
    assert tls_only.connections == 1  # no probing after a TLS-required answer


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    good = make_ca(str(directory), names=("ctld.lab.test", "127.0.0.1"))
    other = tmp_path_factory.mktemp("other-pki")
    bad = make_ca(str(other), names=("elsewhere.test",))
    return good, bad


def test_tls_through_a_terminating_proxy(jwt24, pki):
    controller, credentials = jwt24
    good, bad = pki
    proxy = TlsProxy(controller.port, good["cert"], good["key"])
    try:
        result = fetch([proxy.server], credentials, tls=client_context(good["ca"]))
        assert result.files and result.release == "24.11"
        # Slurm checks the chain, not the name; asking for the name check works when it matches.
        fetch([proxy.server], credentials, tls=client_context(good["ca"], check_hostname=True))
        with pytest.raises(FetchError, match="TLS failed"):
            fetch([proxy.server], credentials, tls=client_context(bad["ca"]))
        wrong_name = TlsProxy(controller.port, bad["cert"], bad["key"])
        try:
            with pytest.raises(FetchError, match="TLS failed"):
                fetch([wrong_name.server], credentials,
                      tls=client_context(bad["ca"], check_hostname=True))
            fetch([wrong_name.server], credentials, tls=client_context(bad["ca"]))
        finally:
            wrong_name.close()
    finally:
        proxy.close()


def test_missing_ca_file_is_our_error():
    with pytest.raises(RequestError, match="CA certificate"):
        client_context("/nonexistent/ca.pem")


def test_srv_discovery_orders_by_priority_then_weight(jwt24):
    controller, credentials = jwt24
    dead = refused_port()
    dns = DnsServer({"_slurmctld._tcp.lab.test": [
        (20, 0, controller.port, "127.0.0.1"),
        (10, 1, dead, "127.0.0.1"),
        (10, 50, dead + 0, "localhost"),
    ]})
    try:
        found = lookup("lab.test", [dns.server])
        assert found == [Address("localhost", dead), Address("127.0.0.1", dead),
                         Address("127.0.0.1", controller.port)]
        result = fetch(found, credentials, timeout=3)
        assert result.controller == "127.0.0.1:%d" % controller.port
        with pytest.raises(RequestError, match="no _slurmctld._tcp.nowhere.test SRV record"):
            lookup("nowhere.test", [dns.server])
    finally:
        dns.close()


def test_module_discovers_controllers_through_srv(controllers, run_playbook, tmp_path):
    controller = controllers["26.05"]
    dns = DnsServer({"_slurmctld._tcp.lab.test": [(0, 0, controller.port, "127.0.0.1")]})
    out = tmp_path / "facts.json"
    try:
        run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts:
        srv_domain: lab.test
        srv_nameservers: ["%s"]
        auth: jwt
        jwt_key: %s
        request: client
    - ansible.builtin.copy: {content: "{{ ansible_facts.slurm_config | to_json }}", dest: %s, mode: "0600"}
""" % (dns.server, controller.jwt_key, out))
    finally:
        dns.close()
    facts = json.loads(out.read_text())
    assert facts["controller"] == controller.server and facts["release"] == "26.05"


def test_ipv6_literal(jwt24):
    controller, credentials = jwt24
    try:
        proxy = Proxy(controller.port, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        result = fetch(["[::1]:%d" % proxy.port], credentials, timeout=3)
    finally:
        proxy.close()
    assert result.controller == "[::1]:%d" % proxy.port


def test_name_with_several_addresses(jwt24):
    controller, credentials = jwt24
    addresses = {info[4][0] for info in socket.getaddrinfo("localhost", controller.port,
                                                           type=socket.SOCK_STREAM)}
    # localhost is ::1 and 127.0.0.1 here; the controller listens on IPv4 only, so the
    # IPv6 address is refused and the next address of the same name must be tried.
    result = fetch(["localhost:%d" % controller.port], credentials, timeout=3)
    assert result.controller == "localhost:%d" % controller.port
    assert "127.0.0.1" in addresses


@pytest.fixture(scope="module", params=["24.11", "26.05"])
def slurm_auth(request, controllers):
    from lab import up
    return up(request.param, name="slurmauth", port=controllers[request.param].port + 20,
              mode="slurm")


def test_auth_slurm_with_the_key(slurm_auth):
    for request in ("slurmd", "client"):
        credentials = credentials_for("slurm", slurm_key=slurm_auth.slurm_key)
        result = fetch([slurm_auth.server], credentials, request=request, timeout=5)
        assert result.release == slurm_auth.release
        files = {f.name: f for f in result.files}
        assert files["slurm.conf"].content == slurm_auth.expected("slurm.conf")


def test_auth_slurm_with_a_jwks_key_chosen_by_kid(slurm_auth, tmp_path):
    import base64
    with open(slurm_auth.slurm_key, "rb") as handle:
        key = handle.read()
    jwks = tmp_path / "slurm.jwks"
    # The controller knows only slurm.key; a jwks entry with the same bytes must verify.
    jwks.write_text(json.dumps({"keys": [
        {"kty": "oct", "alg": "HS256", "kid": "old", "k": base64.urlsafe_b64encode(b"x" * 32).decode()},
        {"kty": "oct", "alg": "HS256", "kid": "current", "k": base64.urlsafe_b64encode(key).decode()},
    ]}))
    credentials = credentials_for("slurm", slurm_jwks=str(jwks), slurm_kid="current")
    assert fetch([slurm_auth.server], credentials, timeout=5).files
    with pytest.raises(RequestError, match="none is marked use: default"):
        credentials_for("slurm", slurm_jwks=str(jwks))


def test_auth_slurm_through_the_sack_socket(slurm_auth):
    # Every slurmctld of a chroot binds /run/slurmctld/sack.socket, and the one that stops
    # takes it away: this one is started again when another controller of the chroot (a test
    # module's own) stopped after it.
    sack = os.path.join(slurm_auth.root, "run", "slurmctld", "sack.socket")
    if not os.path.exists(sack):
        from lab import down, up
        down(slurm_auth)
        up(slurm_auth.release, name="slurmauth", port=slurm_auth.port, mode="slurm")
    credentials = credentials_for("slurm", sack_socket=sack)
    result = fetch([slurm_auth.server], credentials, request="client", timeout=5)
    assert any(f.name == "slurm.conf" and f.exists for f in result.files)


def test_auth_slurm_with_a_wrong_key_names_the_cause(slurm_auth, tmp_path):
    wrong = tmp_path / "slurm.key"
    wrong.write_bytes(os.urandom(1024))
    with pytest.raises(FetchError) as info:
        fetch([slurm_auth.server], credentials_for("slurm", slurm_key=str(wrong)), timeout=5)
    assert "auth slurm" in str(info.value)
    assert wrong.read_bytes().hex()[:32] not in str(info.value)


def test_module_with_auth_slurm(slurm_auth, run_playbook, tmp_path):
    out = tmp_path / "facts.json"
    run_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - straw.slurm.config_facts:
        servers: ["%s"]
        auth: slurm
        slurm_key: %s
    - ansible.builtin.copy: {content: "{{ ansible_facts.slurm_config | to_json }}", dest: %s, mode: "0600"}
""" % (slurm_auth.server, slurm_auth.slurm_key, out))
    facts = json.loads(out.read_text())
    assert facts["release"] == slurm_auth.release
    assert facts["files"]["prolog.sh"]["executable"]
