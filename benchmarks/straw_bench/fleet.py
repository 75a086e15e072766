"""8. Fleets: N watchers on one machine, each its own host (tests/integration/fleet.py), beside
N sackd, against one lab controller: how fast a reconfigure reaches the last of them, what it
costs the controller, and what a fleet that starts at once (a power cut, a rollout) does to
it."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from typing import NamedTuple

import lab
from _slurm.auth.jwt import mint_token
from daemons import wait_for
from fleet import SackdFleet, WatcherFleet, fresh_controller, log_since, log_size, push_round, summary
from straw_bench.measuring import MIB, ms
from straw_bench.watch import sackd_chroot
from watching import SLURM_UID, STRAW, content

TITLE = "fleets"
GAP = 1.2  # seconds between reconfigures: a push in the second of the last would be fetched
RELEASE_PORTS = {"26.05": 18210, "24.11": 18220}
SACKD_PORT = 18230
WATCH_PORTS, SACKD_PORTS = 18300, 18600


class Plan(NamedTuple):
    sizes: tuple       # fleet sizes N for the push fan-out
    rounds: int        # reconfigures per size
    storm: int         # hosts started at once, and JWT-only watchers hinted at once
    build_sackd: bool  # whether sackd's chroot may be built


FULL = Plan(sizes=(50, 100, 200), rounds=3, storm=200, build_sackd=True)
SMOKE = Plan(sizes=(5,), rounds=1, storm=5, build_sackd=False)

_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\] .*Processing RPC: REQUEST_CONFIG",
                    re.M)


def rpc_times(text):
    return [datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").timestamp() for s in _STAMP.findall(text)]


def rpc_shape(text):
    """(REQUEST_CONFIG served, the most in any one second, the longest pause between two in
    a row while they came): a controller that stalls shows a pause of seconds."""
    times = rpc_times(text)
    if not times:
        return 0, 0, 0.0
    per_second = {}
    for t in times:
        per_second[int(t)] = per_second.get(int(t), 0) + 1
    pause = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    return len(times), max(per_second.values()), pause


def munge_watchers(c, n, work, port_base):
    return WatcherFleet(c, n, work, ["--auth", "munge", "--munge-key", c.munge_key,
                                     "--slurm-user", SLURM_UID], port_base=port_base)


def fan_out(label, c, fleet, n, rounds):
    """Registers fleet with c, then rounds of reconfigures; one row."""
    started = time.monotonic()
    registered = fleet.registered(60 + n)
    row = dict(label=label, n=n, registered=registered,
               start=time.monotonic() - started, rounds=[])
    for _round in range(rounds):
        time.sleep(GAP)
        result = push_round(c, fleet.watched(), timeout=30 + n / 10)
        first, median, last, lost = summary(result["times"])
        row["rounds"].append(dict(first=first, median=median, last=last, lost=lost,
                                  cpu=result["cpu"], rpcs=result["rpcs"]))
    row["rss"], row["pss"] = fleet.memory()
    return row


def pushes(plan, work, build):
    rows, notes = [], {}
    root, why = sackd_chroot("forky", build)
    for n in plan.sizes:
        for release in ("26.05", "24.11"):
            c = fresh_controller(release, "fleetw%s" % release.replace(".", ""), RELEASE_PORTS[release])
            # 24.11 pushes to SlurmdPort whatever the registrant says: each watcher listens
            # on its own address at that port.
            fleet = munge_watchers(c, n, os.path.join(work, "w%s-%d" % (release, n)),
                                   WATCH_PORTS if release == "26.05" else None)
            try:
                rows.append(fan_out("watchers, %s" % release, c, fleet, n, plan.rounds))
            finally:
                fleet.stop()
                lab.down(c)
        if root is None:
            notes["sackd"] = why
            continue
        c = fresh_controller("26.05", "fleets2605", SACKD_PORT)
        fleet = SackdFleet(root, c, n, SACKD_PORTS)
        try:
            rows.append(fan_out("sackd, 26.05", c, fleet, n, plan.rounds))
        finally:
            fleet.stop()
            lab.down(c)
    return rows, notes


def hints(plan, work):
    """N JWT-only watchers (they cannot verify a push: each is a hint to fetch) and one
    reconfigure, with the default hint delay and with one of N/10 s."""
    n, rows = plan.storm, []
    for release in ("24.11", "26.05"):
        for delay in (None, max(5.0, n / 10.0)):
            c = fresh_controller(release, "fleetj%s" % release.replace(".", ""), RELEASE_PORTS[release])
            fleet = None
            try:
                env = dict(SLURM_JWT=mint_token(c.jwt_key, "slurm", lifetime=3600))
                extra = [] if delay is None else ["--hint-delay", delay]
                fleet = WatcherFleet(c, n, os.path.join(work, "j%s-%s" % (release, delay)), extra,
                                     env, WATCH_PORTS if release == "26.05" else None)
                fleet.registered(60 + n)
                time.sleep(GAP)
                since = log_size(c)
                result = push_round(c, fleet.watched(), timeout=60 + (delay or 5) * 2)
                _first, _median, last, lost = summary(result["times"])
                served, peak, pause = rpc_shape(log_since(c, since))
                rows.append(dict(release=release, n=n, delay=delay, last=last, lost=lost,
                                 rpcs=served, peak=peak, pause=pause))
            finally:
                if fleet is not None:
                    fleet.stop()
                lab.down(c)
    return rows


def storms(plan, work):
    """N hosts started at the same instant with nothing remembered: watchers, and one-shot
    bin/straw runs without and with --retry-for."""
    n, rows = plan.storm, []
    for release in ("24.11", "26.05"):
        c = fresh_controller(release, "fleetb%s" % release.replace(".", ""), RELEASE_PORTS[release])
        try:
            since = log_size(c)
            started = time.monotonic()
            fleet = munge_watchers(c, n, os.path.join(work, "b%s" % release),
                                   WATCH_PORTS if release == "26.05" else None)
            try:
                watched = [os.path.join(os.path.dirname(p), "slurm.conf") for p in fleet.watched()]
                wait_for(lambda paths=watched: all(content(p) for p in paths), 120 + n, step=0.1)
                done = sum(bool(content(p)) for p in watched)
                took = time.monotonic() - started
                registered = fleet.registered(30)
            finally:
                fleet.stop()
            served, peak, pause = rpc_shape(log_since(c, since))
            rows.append(dict(release=release, what="watchers", n=n, done=done, took=took,
                             registered=registered, rpcs=served, peak=peak, pause=pause))
            for retry in (None, 120):
                time.sleep(6)  # a controller that stalled has recovered
                rows.append(one_shots(c, n, os.path.join(work, "o%s-%s" % (release, retry)), retry))
        finally:
            lab.down(c)
    return rows


def one_shots(c, n, work, retry_for):
    os.makedirs(work)
    argv = [sys.executable, STRAW, c.server, "--auth", "munge", "--munge-key", c.munge_key,
            "--request", "client"] + (["--retry-for", str(retry_for)] if retry_for else [])
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))  # nothing remembered
    since = log_size(c)
    started = time.monotonic()
    procs = [subprocess.Popen(argv + ["-o", os.path.join(work, str(i))], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for i in range(n)]
    ends = []
    for proc in procs:
        proc.communicate(timeout=600)
        ends.append(time.monotonic())
    served, peak, pause = rpc_shape(log_since(c, since))
    return dict(release=c.release, what="bin/straw" + (" --retry-for %d" % retry_for if retry_for else ""),
                n=n, done=sum(p.returncode == 0 for p in procs), took=max(ends) - started,
                rpcs=served, peak=peak, pause=pause)


def measure(plan):
    work = tempfile.mkdtemp(prefix="straw-bench-fleet.")
    try:
        rows, notes = pushes(plan, work, plan.build_sackd)
        return dict(pushes=rows, notes=notes, hints=hints(plan, work), storms=storms(plan, work),
                    smoke=plan is SMOKE)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _median(rows, key):
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else None


def chart(rows):
    """Time to the last host against N, as text: one bar per daemon and size."""
    lines, widest = ["```"], max([_median(r["rounds"], "last") or 0 for r in rows] + [1e-9])
    for row in rows:
        last = _median(row["rounds"], "last")
        bar = "#" * int(round(40 * (last or 0) / widest))
        lines.append("%-18s N=%-4d %-40s %s" % (row["label"], row["n"], bar, ms(last)))
    return lines + ["```"]


def report(result):
    lines = ["", "## 8. Fleets: N watchers or N sackd on one controller", "",
             "Each host has its own loopback address, host name (a UTS namespace) and port on this"
             " machine (tests/integration/fleet.py). Watchers check pushes with the MUNGE key; each"
             " sackd has a munged of its own. Per N, medians over %d reconfigures of the time from"
             " `scontrol reconfigure`'s return until the first, the median and the last host holds"
             " the new bytes; the controller's CPU and REQUEST_CONFIG per reconfigure; the fleet's"
             " memory (RSS, and PSS, which shares the interpreter's pages)."
             % len(result["pushes"][0]["rounds"]) if result["pushes"] else "", "",
             "| daemons | N | registered | first | median | last | lost | ctld CPU | REQUEST_CONFIG |"
             " RSS | PSS |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in result["pushes"]:
        rounds = row["rounds"]
        lines.append("| %s | %d | %d | %s | %s | %s | %d | %.2f s | %s | %.0f MiB | %.0f MiB |" % (
            row["label"], row["n"], row["registered"], ms(_median(rounds, "first")),
            ms(_median(rounds, "median")), ms(_median(rounds, "last")),
            sum(r["lost"] for r in rounds), _median(rounds, "cpu") or 0,
            "%g" % (sum(r["rpcs"] for r in rounds) / max(1, len(rounds))),
            row["rss"] / MIB, row["pss"] / MIB))
    for what, why in result["notes"].items():
        lines.append("| %s | not measured: %s | | | | | | | | | |" % (what, why))
    lines += ["", "Time to the last host against N:", ""] + chart(result["pushes"])
    lines += ["", "**A JWT-only fleet** cannot check a push: each is a hint to fetch after a random"
              " delay (`--hint-delay`, widened while fetches are slow). One reconfigure, N"
              " watchers at once:", "",
              "| controller | N | --hint-delay | last file | lost | REQUEST_CONFIG | most in a"
              " second | longest pause |", "|---|---|---|---|---|---|---|---|"]
    for row in result["hints"]:
        lines.append("| %s | %d | %s | %s | %d | %d | %d | %.1f s |" % (
            row["release"], row["n"], "%g s" % row["delay"] if row["delay"] else "default (5 s)",
            ms(row["last"]), row["lost"], row["rpcs"], row["peak"], row["pause"]))
    lines += ["", "**Boot storms**: N hosts started at the same instant, nothing remembered.", "",
              "| controller | hosts | N | got their files | time to the last | REQUEST_CONFIG |"
              " most in a second | longest pause |", "|---|---|---|---|---|---|---|---|"]
    for row in result["storms"]:
        lines.append("| %s | %s | %d | %d | %.1f s | %d | %d | %.1f s |" % (
            row["release"], row["what"], row["n"], row["done"], row["took"], row["rpcs"],
            row["peak"], row["pause"]))
    return lines
