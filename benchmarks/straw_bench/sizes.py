"""3. Throughput and memory by size: one fetch of ever larger configurations, its time and
the fetching process's peak memory over the interpreter's."""
import os
import statistics
import subprocess
import sys
import tempfile
from typing import NamedTuple, Tuple

import lab
from _slurm.auth.jwt import mint_token
from straw_bench.measuring import ROOT, controller, mb, payload_size, run_process

TITLE = "sizes"


class Plan(NamedTuple):
    mibs: Tuple[int, ...]  # the configurations' extra slurm.conf, in MiB
    repetitions: int       # fetches timed, and fetches measured for memory, per size


FULL = Plan(mibs=(1, 8, 32), repetitions=5)
SMOKE = Plan(mibs=(1,), repetitions=1)

FETCH_ONLY = """
import sys, time
sys.path.insert(0, %r)
from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.client import fetch
start = time.perf_counter()
if sys.argv[1] != "-":
    fetch([sys.argv[1]], JwtCredentials(sys.argv[2]), protocol="22.05")
print(time.perf_counter() - start)
""" % os.path.join(ROOT, "plugins", "module_utils")


def measure(plan):
    script = os.path.join(tempfile.mkdtemp(), "fetch_only.py")
    with open(script, "w") as handle:
        handle.write(FETCH_ONLY)
    baseline = statistics.median(run_process([sys.executable, script, "-", "-"])[1]
                                 for _attempt in range(3))
    rows = []
    for index, mib in enumerate(plan.mibs):
        c = controller("22.05", name="size%d" % mib, port=17580 + index, mib=mib)
        token = mint_token(c.jwt_key, "slurm", lifetime=3600)
        times, peaks = [], []
        for _round in range(plan.repetitions):
            proc = subprocess.run([sys.executable, script, c.server, token], check=True,
                                  stdout=subprocess.PIPE, universal_newlines=True)
            times.append(float(proc.stdout))
            peaks.append(run_process([sys.executable, script, c.server, token])[1])
        payload = payload_size(c)
        seconds = statistics.median(times)
        peak = statistics.median(peaks)
        rows.append(dict(mib=mib, payload=payload, seconds=seconds, mb_per_s=payload / seconds / 1e6,
                         peak=peak, interpreter=baseline,
                         peak_over_payload=(peak - baseline) / payload))
        lab.down(c)
    return rows


def report(sizes):
    lines = ["", "## 3. Throughput and memory by size (goal: peak under twice the payload plus the"
             " interpreter; time linear in size)", "",
             "Peak is the fetching process's maximum RSS; the interpreter's (Python with the library"
             " imported, no fetch) is the baseline.", "",
             "| config | payload | time | MB/s | peak | interpreter | (peak - interpreter) / payload | goal |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sizes:
        lines.append("| %d MiB | %s | %.3f s | %.0f | %s | %s | %.2f | %s |" % (
            r["mib"], mb(r["payload"]), r["seconds"], r["mb_per_s"], mb(r["peak"]), mb(r["interpreter"]),
            r["peak_over_payload"], "met" if r["peak_over_payload"] < 2 else "missed"))
    if len(sizes) >= 2:
        first, last = sizes[0], sizes[-1]
        per_mib = [r["seconds"] / r["mib"] for r in sizes]
        lines += ["", "Time per MiB: %s (the largest over the smallest: %.2fx; 1.0 is perfectly linear)."
                  % (", ".join("%.1f ms" % (t * 1e3) for t in per_mib),
                     (last["seconds"] / last["mib"]) / (first["seconds"] / first["mib"]))]
    return lines
