"""pace: waits drawn at random within windows that double (Backoff) or follow the strain a
controller shows (Spread), so that hosts that failed together spread out."""
from _slurm.pace import Backoff, Spread, uniform


def test_uniform_stays_within_its_window_and_spreads():
    draws = [uniform(2.0, 3.0) for _unused in range(2000)]
    assert all(2.0 <= d < 3.0 for d in draws)
    assert min(draws) < 2.1 and max(draws) > 2.9


def test_backoff_doubles_with_jitter_up_to_its_most():
    backoff = Backoff(1.0, 8.0)
    waits = [backoff.next() for _unused in range(6)]
    for wait, window in zip(waits, (1, 2, 4, 8, 8, 8)):
        assert window / 2 <= wait <= window
    backoff.reset()
    assert backoff.next() <= 1.0


def test_hosts_that_failed_together_do_not_retry_together():
    first = [Backoff(5.0, 300.0).next() for _unused in range(200)]
    assert max(first) - min(first) > 2.0  # 200 hosts: spread over most of 2.5-5 s


def test_spread_widens_under_strain_and_narrows_back():
    spread = Spread(5.0, 60.0)
    assert spread.width == 5.0
    spread.observed(0.02, failed=False)
    assert spread.width == 5.0  # never narrower than configured
    spread.observed(6.0, failed=False)  # a stalled controller answered late
    assert spread.width == 10.0
    spread.observed(10.0, failed=True)
    spread.observed(10.0, failed=True)
    spread.observed(10.0, failed=True)
    assert spread.width == 60.0  # capped
    spread.observed(0.02, failed=False)
    assert spread.width == 30.0
    assert all(0.0 <= spread.draw() <= 30.0 for _unused in range(100))


def test_a_spread_of_zero_still_widens_when_the_controller_struggles():
    spread = Spread(0.0, 60.0)
    assert spread.draw() == 0.0
    spread.observed(0.0, failed=True)
    assert spread.width == 1.0
    spread.observed(0.01, failed=False)
    assert spread.width == 0.5
