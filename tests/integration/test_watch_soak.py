"""The soak, short: 100 real reconfigures of a Slurm 26.05 controller against one watcher
(under two minutes); its memory and open descriptors stay flat. benchmarks/soak runs 1,000
and reports the figures (benchmarks/RESULTS.md).

Paced a little over a second apart: a push issued in the second of the one before is checked
by a fetch, and such fetches are throttled (seconds each)."""
from lab import down, up
from watching import soak

MIB = 1 << 20


def test_a_hundred_reconfigures_leave_memory_and_descriptors_flat(tmp_path):
    c = up("26.05", name="soak18660", port=18660)
    try:
        figures = soak(c, tmp_path, reconfigures=100, every=10, pace=1.05, listen_port=18760)
    finally:
        down(c)
    assert figures["alive"] and figures["missed"] == 0, figures
    assert not figures["other"], figures["other"]
    samples = figures["samples"]
    # The first rounds import what pushes need; from the tenth on, nothing may grow.
    warm, last = samples[1], samples[-1]
    assert last[1] - warm[1] < 2 * MIB, [(n, rss / MIB) for n, rss, _fds in samples]
    assert last[1] - samples[0][1] < 4 * MIB
    assert all(len(fds) == len(samples[0][2]) for _n, _rss, fds in samples), \
        [(n, fds) for n, _rss, fds in samples]
    assert figures["pushes"] + figures["checked"] >= 100
