"""The fleet machinery (tests/integration/fleet.py), small: five watchers on one machine,
each on its own loopback address and host name, register as five hosts with one real 26.05
controller, and one `scontrol reconfigure` reaches every one of them with a verified push
and no fetch. (benchmarks/straw_bench/fleet.py runs it by the hundred.)"""
import time

import pytest

import lab
from fleet import SETTLE, WatcherFleet, fresh_controller, log_size, push_round, registrations
from watching import SLURM_UID

PORT = 17480
N = 5


@pytest.fixture(scope="module")
def controller():
    c = fresh_controller("26.05", "fleetsmoke", PORT)
    yield c
    lab.down(c)


def test_five_watchers_are_five_hosts_and_all_get_the_push(controller, tmp_path, closing):
    c = controller
    since = log_size(c)
    fleet = closing(WatcherFleet(c, N, tmp_path, ["--auth", "munge", "--munge-key", c.munge_key,
                                                  "--slurm-user", SLURM_UID], port_base=PORT + 100),
                    WatcherFleet.stop)
    assert fleet.registered(30) == N, [d.text()[-500:] for d in fleet.daemons]
    assert registrations(c, since) >= {"127.0.1.%d" % i for i in range(1, N + 1)} or \
        len(registrations(c, since)) >= N, registrations(c, since)
    time.sleep(SETTLE)  # a push in the second of their first fetch is checked by a fetch
    result = push_round(c, fleet.watched())
    assert None not in result["times"], [d.text()[-500:] for d in fleet.daemons]
    assert "triggered reconfig for %d nodes" % N in result["text"]
    assert result["rpcs"] == 0  # verified pushes: no fetch
