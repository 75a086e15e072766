"""TLS against the real thing: Slurm 25.11 built from source with TLSType=tls/s2n (not a
proxy), through the library's fetch and client_context. The build comes from
tests/lab/tls-build; without it (and without its sources) every test skips, saying why."""
import os
import re
import time

import pytest

from _slurm.auth.choose import credentials_for
from _slurm.client import fetch
from _slurm.discovery import lookup
from _slurm.errors import ControllerError, FetchError, NetworkError, SlurmConfigError
from _slurm.return_codes import TLS_REQUIRED
from _slurm.tls import client_context
from fixtures.servers import DnsServer
from lab import stop_tls, tls_available, up_tls

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
    # Only the gist: the wording of this message is still being improved.
    assert re.search(r"certificate.*verif", str(info.value), re.IGNORECASE), str(info.value)


def test_plaintext_gets_the_controllers_rc_13000(tls_lab):
    controller = tls_lab["munge"]
    with pytest.raises(FetchError) as info:
        fetch([controller.server], credentials(controller, "munge"), timeout=5)
    error = info.value.last
    assert isinstance(error, ControllerError) and error.rc == TLS_REQUIRED == 13000


def test_tls_to_a_plaintext_controller_fails_quickly(tls_lab):
    plain = up_tls("munge", name="plain-munge", port=PLAIN_PORT, tls=False)
    creds = credentials(plain, "jwt")
    assert fetch([plain.server], creds, timeout=5).release == "25.11"  # it is up, in plaintext
    start = time.monotonic()
    with pytest.raises(SlurmConfigError):
        fetch([plain.server], creds, timeout=3, tls=client_context(tls_lab["munge"].ca))
    assert time.monotonic() - start < 5


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
