"""The benchmarks, run small so that they cannot rot: tiny sizes, one repetition, no timing
assertion (benchmarks report ratios; they are not timed tests)."""
import os
import subprocess
import sys

from lab import ROOT


def test_benchmarks_still_run(controllers):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run"), "--smoke"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for heading in ("Library vs the wire", "bin/straw vs upstream straw", "Throughput and memory",
                    "Ansible", "As users meet it", "MUNGE from the key vs munged",
                    "Watching (`bin/straw --watch`) and sackd"):
        assert heading in proc.stdout
    assert "| 22.05 |" in proc.stdout and "role, fetch_from" in proc.stdout
    # Every lab release is measured as users meet it, and the watchers took every push.
    for release in ("20.11", "22.05", "24.11", "26.05"):
        assert "| %s | " % release in proc.stdout.split("As users meet it")[1]
    for watcher in ("watcher 26.05 | 3 of 3", "watcher 24.11 | 3 of 3"):
        assert watcher in proc.stdout, proc.stdout[-3000:]
