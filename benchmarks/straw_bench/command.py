"""2. bin/straw vs upstream straw: whole processes with the same token against one 22.05
controller, a small configuration and a large one, and the interpreters' start-up alone."""
import os
import shutil
import statistics
import sys
import tempfile
from typing import NamedTuple

import lab
from _slurm.auth.jwt import mint_token
from straw_bench.measuring import (MIB, STRAW, cached_bytecode_env, controller, interleave, mb,
                                   payload_size, run_process)
from straw_bench.upstream import upstream_straw

TITLE = "bin/straw vs straw"


class Plan(NamedTuple):
    repetitions: int  # whole commands of each, per configuration
    big_mib: int      # the large configuration's extra slurm.conf, in MiB


FULL = Plan(repetitions=7, big_mib=8)
SMOKE = Plan(repetitions=1, big_mib=1)


def measure(plan):
    straw_py, python310, why = upstream_straw()
    if straw_py is None:
        return {"skipped": why}
    # Bytecode is cached (out of the tree) as on any host after the first run; a script such
    # as straw.py is compiled on every run whatever the setting.
    cached = cached_bytecode_env()
    rows = []
    for label, mib in (("small", 0), ("%d MiB" % plan.big_mib, plan.big_mib)):
        c = controller("22.05", name="cmd%d" % mib, port=17560 + mib, mib=mib)
        env = dict(cached, SLURM_JWT=mint_token(c.jwt_key, "slurm", lifetime=3600))
        out_ours, out_theirs = tempfile.mkdtemp(), tempfile.mkdtemp()
        try:
            for warm_up in ([python310, straw_py], [sys.executable, STRAW]):
                run_process(warm_up + [c.server, "22.05", "--auth", "jwt", "-o", out_ours], env)
            samples = {"ours": [], "straw": []}
            for _round in range(plan.repetitions):
                samples["straw"].append(run_process([python310, straw_py, c.server, "22.05",
                                                     "--auth", "jwt", "-o", out_theirs], env))
                samples["ours"].append(run_process([sys.executable, STRAW, c.server, "22.05",
                                                    "--auth", "jwt", "-o", out_ours], env))
            with open(os.path.join(out_ours, "slurm.conf"), "rb") as a, \
                    open(os.path.join(out_theirs, "slurm.conf"), "rb") as b:
                same = a.read() == b.read()
        finally:
            shutil.rmtree(out_ours)
            shutil.rmtree(out_theirs)
        ours_time = statistics.median(s[0] for s in samples["ours"])
        straw_time = statistics.median(s[0] for s in samples["straw"])
        rows.append(dict(config=label, payload=payload_size(c), ours_s=ours_time, straw_s=straw_time,
                         ratio=ours_time / straw_time,
                         ours_peak=max(s[1] for s in samples["ours"]),
                         straw_peak=max(s[1] for s in samples["straw"]), same_slurm_conf=same))
        lab.down(c)
    # What no Python command can beat: the interpreters starting and stopping.
    starts = interleave(plan.repetitions * 3,
                        ours=lambda: run_process([sys.executable, "-c", "pass"], cached)[0],
                        straw=lambda: run_process([python310, "-c", "pass"], cached)[0],
                        version=lambda: run_process([sys.executable, STRAW, "-V"], cached)[0])
    return {"rows": rows, "starts": starts}


def report(command):
    lines = ["", "## 2. bin/straw vs upstream straw (whole processes, same token, Slurm 22.05)", ""]
    if "skipped" in command:
        lines.append("Not measured: %s." % command["skipped"])
        return lines
    lines += ["Goals: at most 0.5x straw's wall time on a small configuration; at most 0.05x and under"
              " 48 MiB peak memory on an 8 MiB one.", "",
              "| configuration | payload | bin/straw | straw | ratio | bin/straw peak | straw peak | goal |",
              "|---|---|---|---|---|---|---|---|"]
    for r in command["rows"]:
        small = r["config"] == "small"
        goal_ratio = 0.5 if small else 0.05
        met = r["ratio"] <= goal_ratio and (small or r["ours_peak"] < 48 * MIB)
        lines.append("| %s | %s | %.3f s | %.3f s | %.3fx | %s | %s | %s |" % (
            r["config"], mb(r["payload"]), r["ours_s"], r["straw_s"], r["ratio"], mb(r["ours_peak"]),
            mb(r["straw_peak"]), "met" if met else "missed by %.2fx (goal %.2fx)" % (
                max(r["ratio"] - goal_ratio, 0), goal_ratio)))
    starts = command["starts"]
    lines += ["", "Start-up alone, in the same run: `python -c pass` %.1f ms (Python %s, ours), %.1f ms"
              " (Python 3.10, straw's); `bin/straw -V` %.1f ms. On a small configuration"
              " start-up is nearly all of the wall time of both commands: see the note below"
              " the tables." % (starts["ours"] * 1e3, sys.version.split()[0],
                                starts["straw"] * 1e3, starts["version"] * 1e3)]
    return lines
