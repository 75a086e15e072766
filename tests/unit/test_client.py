"""client.Session against simulated controllers (its injected exchange, no I/O): which server
serves, what a failure names, passes and retry_for, and what the session remembers. The
version search itself is tests/unit/test_negotiation.py's."""
import time

import pytest

from _slurm import client
from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.errors import (ClosedError, FetchError, NetworkError, NotSlurmError, RequestError,
                           SlowError)
from _slurm.transport import Address
from fixtures.simulated import Controller


class Flaky:
    """Fails with error the first times it is asked, then answers as a 26.05 controller."""

    def __init__(self, times, error):
        self.times, self.error, self.asked, self.timeouts = times, error, [], []
        self.controller = Controller(45, [42, 43, 44, 45], "close")

    def __call__(self, address, frame, timeout):
        self.asked.append((address, time.monotonic()))
        self.timeouts.append(timeout)
        if len(self.asked) <= self.times:
            raise self.error
        return self.controller(address, frame, timeout)


def session(exchange, **options):
    return client.Session(options.pop("servers", ["ctl1"]), JwtCredentials("t"),
                          exchange=exchange, **options)


def test_the_next_server_serves_when_the_first_cannot_be_reached():
    down = NetworkError("cannot connect: Connection refused")

    def exchange(address, frame, timeout):
        if address.host == "ctl1":
            raise down
        return Controller(45, [45], "close")(address, frame, timeout)
    result = session(exchange, servers=["ctl1", "ctl2:7000"]).fetch()
    assert result.controller == "ctl2:7000" and result.address == Address("ctl2", 7000)


def test_a_failure_names_every_server_and_why():
    def exchange(address, frame, timeout):
        raise NetworkError("cannot connect: Connection refused")
    with pytest.raises(FetchError) as info:
        session(exchange, servers=["ctl1", "ctl2"]).fetch()
    assert str(info.value) == ("no controller answered: ctl1:6817: cannot connect: Connection "
                               "refused; ctl2:6817: cannot connect: Connection refused")


def test_what_waiting_cannot_mend_ends_at_once():
    flaky = Flaky(1, NotSlurmError("ctl1:6817 is an SSH server"))
    with pytest.raises(FetchError, match="SSH server"):
        session(flaky, retries=3, retry_for=30).fetch()
    assert len(flaky.asked) == 1


def test_another_server_may_mend_what_waiting_cannot():
    flaky = Flaky(1, NotSlurmError("ctl1:6817 is an SSH server"))
    assert session(flaky, servers=["ctl1", "ctl2"]).fetch().controller == "ctl2:6817"


def test_passes_wait_longer_each_time():
    flaky = Flaky(2, NetworkError("no complete reply within 1s"))
    assert session(flaky, retries=3, backoff=0.05).fetch().release == "26.05"
    (_a, t1), (_b, t2), (_c, t3) = flaky.asked[:3]
    assert t2 - t1 >= 0.025 and t3 - t2 >= 0.05


def test_retry_for_keeps_trying_a_stalled_controller():
    flaky = Flaky(4, NetworkError("no complete reply within 1s"))
    started = time.monotonic()
    assert session(flaky, backoff=0.05, retry_for=20).fetch().release == "26.05"
    assert len(flaky.asked) == 6 and time.monotonic() - started < 5  # 4 failures, 46, 45


def test_a_controller_too_slow_to_answer_is_given_longer_each_pass():
    """A queue of clients that all give up after the same timeout and join its back again is
    never served: each pass waits twice as long for a slow controller, within retry_for."""
    flaky = Flaky(3, SlowError("no complete reply within 1s"))
    assert session(flaky, timeout=1, backoff=0.01, retries=4).fetch()
    assert flaky.timeouts[:4] == [1, 2, 4, 8]
    refused = Flaky(3, NetworkError("cannot connect: Connection refused"))
    assert session(refused, timeout=1, backoff=0.01, retry_for=20).fetch()
    assert set(refused.timeouts) == {1}  # refused at once: no reason to wait longer
    two = Flaky(2, SlowError("no complete reply within 1s"))
    assert session(two, servers=["ctl1", "ctl2"], timeout=1, backoff=0.01, retry_for=20).fetch()
    assert two.timeouts[:3] == [1, 1, 2]  # each server its own patience


def test_a_lone_controller_that_took_the_request_is_waited_for_until_retry_for_ends():
    """With no one else to ask, a new connection would only join the back of its queue
    behind the request we left: after one timeout, the next pass waits all that is left."""
    flaky = Flaky(1, SlowError("no complete reply within 1s"))
    started = time.monotonic()
    assert session(flaky, timeout=1, backoff=0.01, retry_for=20).fetch()
    assert flaky.timeouts[0] == 1 and 19 - (time.monotonic() - started) < flaky.timeouts[1] <= 20


def test_each_fetch_starts_from_the_timeout_given():
    """A watcher's fetches are one session's, and a watcher sees SIGTERM only between them:
    however slow the controller was, a new fetch waits no longer than the timeout given."""
    flaky = Flaky(2, SlowError("no complete reply within 1s"))
    watching = session(flaky, timeout=1)
    for _failure in range(2):
        with pytest.raises(FetchError):
            watching.fetch()
    watching.fetch()
    assert set(flaky.timeouts) == {1}


def test_patience_is_never_less_than_the_timeout_given():
    flaky = Flaky(2, SlowError("no complete reply within 200s"))
    assert session(flaky, timeout=200, backoff=0.01, retries=3).fetch()
    assert flaky.timeouts[:3] == [200, 200, 200]  # PATIENCE_MAX is 120: the timeout rules


def test_patience_never_runs_past_retry_for():
    for servers in (["ctl1"], ["ctl1", "ctl2"]):
        flaky = Flaky(10 ** 6, SlowError("no complete reply within 1s"))
        with pytest.raises(FetchError):
            session(flaky, servers=servers, timeout=0.2, backoff=0.01, retry_for=0.6).fetch()
        assert len(flaky.timeouts) > len(servers) and all(t <= 0.6 for t in flaky.timeouts)
        assert min(flaky.timeouts) == 0.2  # never under the timeout given


def test_retry_for_ends_on_time_and_names_the_last_failures():
    flaky = Flaky(10 ** 6, ClosedError("the controller closed the connection"))
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        session(flaky, servers=["ctl1", "ctl2"], backoff=0.05, retry_for=0.5).fetch()
    assert 0.5 <= time.monotonic() - started < 1.5
    assert len(info.value.attempts) == 2  # the latest pass over the two, not every one


@pytest.mark.parametrize("options, words", [
    (dict(request="all"), "unknown request set"), (dict(servers=[]), "no controller given"),
    (dict(timeout=0), "timeout must be positive"), (dict(retries=0), "at least 1"),
    (dict(retry_for=-1), "must not be negative"), (dict(protocol="19.05"), "unknown Slurm release"),
])
def test_options_that_cannot_work_are_refused_before_any_connection(options, words):
    with pytest.raises(RequestError, match=words):
        session(Flaky(0, None), **options)


def test_a_session_remembers_and_a_pinned_one_does_not_write(tmp_path):
    from _slurm import known_versions
    path = str(tmp_path / "versions")
    controller = Controller(45, [42, 43, 44, 45], "close")
    session(controller, versions_path=path).fetch()
    assert known_versions.load(path) == {Address("ctl1", 6817): 45 << 8}
    controller.seen.clear()
    session(controller, versions_path=path).fetch()
    assert controller.seen == [45]  # one connection: the file said 26.05
    session(controller, versions_path=str(tmp_path / "other"), protocol="25.11").fetch()
    assert known_versions.load(str(tmp_path / "other")) == {}
