"""Load on one real controller: 1,000 sequential fetches and 32 concurrent ones, with no
failures, no leaked file descriptors and flat memory."""
import os
import threading
import tracemalloc

from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.auth.jwt import mint_token
from _slurm.client import fetch


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_sequential_and_concurrent(controllers):
    c = controllers["26.05"]
    credentials = JwtCredentials(mint_token(c.jwt_key, "slurm", lifetime=600))
    fetch([c.server], credentials, request="client")  # warm up: negotiation, imports
    fds = open_fds()
    tracemalloc.start()
    samples = []
    for index in range(1000):
        result = fetch([c.server], credentials, request="client")
        assert result.files
        if index in (199, 999):
            samples.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    assert open_fds() == fds
    assert samples[1] - samples[0] < 256 * 1024, samples  # flat: no growth with the count

    failures = []

    def worker():
        try:
            for _round in range(4):
                assert fetch([c.server], credentials, request="client", timeout=30).files
        except Exception as exc:  # collected, reported below
            failures.append(exc)
    threads = [threading.Thread(target=worker) for _thread in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert open_fds() == fds
