"""7. Watching: push latency of `bin/straw --watch` and of sackd after a real `scontrol
reconfigure`, their memory and CPU at rest, and what a push costs a watcher that cannot
verify it."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

import lab
import sackd
from _slurm.auth.jwt import mint_token
from daemons import Daemon, resident
from straw_bench.measuring import (CACHE, CACHED_BYTECODE, MIB, cached_bytecode_env, controller,
                                   ms, percentile, rpc_count)
from watching import Watcher, change, content, munge_args, scontrol, wait_for

TITLE = "watching"
GAP = 1.1  # seconds between reconfigures of one controller: see _push in _slurm/watch.py
LANDING_TIMEOUT = 10.0
SACKD_SUITES = {"26.05": "forky", "24.11": "trixie"}
REST_GOAL_MIB = 10  # a watcher at rest (issue 23); sackd holds about 5


def mib(size):
    return "-" if size is None else "%.1f MiB" % (size / MIB)


class Plan(NamedTuple):
    rounds: int            # reconfigures of each daemon's controller, interleaved
    rest_seconds: float    # seconds at rest, nothing happening
    jwt_reconfigures: int  # reconfigures against the JWT-only watcher
    build_sackd: bool      # whether sackd's chroots may be built (minutes, the network)


FULL = Plan(rounds=100, rest_seconds=60, jwt_reconfigures=10, build_sackd=True)
SMOKE = Plan(rounds=3, rest_seconds=5, jwt_reconfigures=1, build_sackd=False)


class Subject(NamedTuple):
    """A daemon measured: the copy of its controller's nodes.conf it keeps current."""
    label: str
    controller: lab.Controller
    daemon: Daemon
    watched: str


def reconfigure(c):
    scontrol(c, "reconfigure", timeout=60)


def landed(path, wanted, timeout):
    """When path first holds wanted (polled every millisecond), or None."""
    return wait_for(lambda: content(path) == wanted, timeout, step=0.001)


def start_watcher(label, c, work, extra, env):
    """A watcher of the client set, registered with c; env adds to the environment."""
    watcher = Watcher([c.server, "--request", "client", "--interval", "600"] + extra,
                      os.path.join(work, label), env, label)
    watcher.wait_until(lambda: "registered with" in watcher.text())
    return Subject(label, c, watcher, os.path.join(watcher.directory, "nodes.conf"))


def sackd_chroot(suite, build):
    """(chroot with sackd and munged, None), cached; or (None, why)."""
    root = os.path.join(CACHE, "sackd-" + suite)
    if not sackd.ready(root) and not build:
        return None, "its chroot (%s) is not built yet; a full run builds it" % root
    return sackd.build(root, suite)


def push_latency(subjects, rounds):
    """Interleaved rounds: each daemon's controller in turn gets a new nodes.conf line and
    `scontrol reconfigure`; the time runs from scontrol's return until the daemon's copy
    holds the new bytes. Also REQUEST_CONFIG RPCs served per reconfigure and RSS after."""
    samples = {s.label: [] for s in subjects}
    lost = {s.label: 0 for s in subjects}
    before = {s.label: rpc_count(s.controller) for s in subjects}
    last = {s.label: time.monotonic() for s in subjects}
    for _round in range(rounds):
        for s in subjects:
            if lost[s.label] >= 3:
                continue  # it stopped taking pushes: say so rather than wait on it
            time.sleep(max(0.0, last[s.label] + GAP - time.monotonic()))
            wanted = change(s.controller)
            reconfigure(s.controller)
            start = time.monotonic()
            end = landed(s.watched, wanted, LANDING_TIMEOUT)
            last[s.label] = time.monotonic()
            if end is None:
                lost[s.label] += 1
            else:
                samples[s.label].append(end - start)
    time.sleep(0.5)  # a fetch the last push caused shows in the log
    rows = []
    for s in subjects:
        values = samples[s.label]
        rows.append(dict(label=s.label, release=s.controller.release, landed=len(values),
                         tried=len(values) + lost[s.label],
                         median=statistics.median(values) if values else None,
                         p99=percentile(values, 0.99) if values else None,
                         rpcs=(rpc_count(s.controller) - before[s.label]) / max(1, len(values) + lost[s.label]),
                         rss=s.daemon.rss() if s.daemon.proc.poll() is None else None))
    return rows


def at_rest(subjects, seconds):
    """Memory at the end (RSS, anonymous and file pages) and CPU time used over seconds with
    nothing happening."""
    first = {s.label: s.daemon.cpu_seconds() for s in subjects}
    time.sleep(seconds)
    return [dict(s.daemon.memory(), label=s.label, cpu=s.daemon.cpu_seconds() - first[s.label])
            for s in subjects]


#: What this section's watchers (verifying through munged) hold after a push, imported all at
#: once by the floor below (with what they import in turn).
WATCHER_MODULES = ("_slurm.command", "_slurm.cli", "_slurm.watch", "_slurm.listen", "_slurm.client",
                   "_slurm.auth.verify", "_slurm.auth.choose", "_slurm.auth.munge",
                   "_slurm.auth.munge_key", "_slurm.config_dir", "_slurm.facts",
                   "_slurm.known_versions", "_slurm.origin")


def floors():
    """The watchers' interpreter at rest, in their environment (bytecode cached): alone, and
    with the modules a watcher holds imported. No watcher can go below these."""
    rows = []
    for label, modules in (("Python alone", ()), ("Python, the watcher's modules imported",
                                                  WATCHER_MODULES)):
        if modules:
            idle_interpreter(modules)  # caches the bytecode of the modules no watcher loaded
        rows.append(dict(idle_interpreter(modules), label=label, cpu=None))
    return rows


def idle_interpreter(modules):
    """The memory of sys.executable at rest once it imported modules."""
    code = ("import sys, time\nsys.path[:0] = [%r]\n%s\nsys.stdout.write('ready\\n')\n"
            "sys.stdout.flush()\ntime.sleep(60)\n"
            % (os.path.join(lab.ROOT, "plugins", "module_utils"),
               "".join("import %s\n" % m for m in modules)))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            env=cached_bytecode_env())
    try:
        proc.stdout.readline()
        time.sleep(0.5)
        return resident(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def floor_note(rest):
    """Where a watcher's memory goes, from the rows at rest: above its interpreter with the
    same modules imported and doing nothing, which is already close to the goal."""
    by = {r["label"]: r for r in rest}
    floor = by.get("Python, the watcher's modules imported")
    watchers = [r for r in rest if r["label"].startswith("watcher")]
    if floor is None or not watchers:
        return []
    w = min(watchers, key=lambda r: r["rss"])
    return ["", "The least of the watchers (%s) holds %.1f MiB more than its interpreter with the"
            " same modules imported and nothing run: %.1f MiB of code pages that verifying,"
            " writing and fetching touched, %.1f MiB of its own. That floor, %.1f MiB, leaves %.1f"
            " MiB under the %d-MiB goal." % (
                w["label"], (w["rss"] - floor["rss"]) / MIB, (w["file"] - floor["file"]) / MIB,
                (w["anon"] - floor["anon"]) / MIB, floor["rss"] / MIB,
                REST_GOAL_MIB - floor["rss"] / MIB, REST_GOAL_MIB)]


def jwt_hints(c, work, reconfigures):
    """A JWT-only watcher cannot verify a push: REQUEST_CONFIG RPCs per reconfigure."""
    token = mint_token(c.jwt_key, "slurm", lifetime=3600)
    watcher = start_watcher("watcher jwt", c, work, ["--hint-delay", "0.2", "--listen-port", 17656],
                            dict(CACHED_BYTECODE, SLURM_JWT=token))
    try:
        before = rpc_count(c)
        times = []
        for _round in range(reconfigures):
            time.sleep(GAP)
            wanted = change(c)
            reconfigure(c)
            start = time.monotonic()
            # A hint is answered at most once per HINT_INTERVAL (5 s) however often it rings.
            end = landed(watcher.watched, wanted, 12.0)
            if end is not None:
                times.append(end - start)
        time.sleep(0.5)
        return dict(reconfigures=reconfigures, landed=len(times),
                    rpcs=(rpc_count(c) - before) / reconfigures,
                    median=statistics.median(times) if times else None)
    finally:
        watcher.daemon.stop()


def measure(plan):
    work = tempfile.mkdtemp(prefix="straw-bench-watch.")
    controllers, subjects, hosts, sackd_notes = [], [], [], {}
    try:
        for release, port, listen in (("26.05", 17544, ["--listen-port", 17644]),
                                      ("24.11", 17546, [])):  # 24.11 pushes to SlurmdPort
            c = controller(release, name="watch%s" % release.replace(".", ""), port=port)
            controllers.append(c)
            subjects.append(start_watcher("watcher %s" % release, c, work, munge_args(c) + listen,
                                          CACHED_BYTECODE))
        for release, port, sackd_port in (("26.05", 17548, 17648), ("24.11", 17552, 0)):
            root, why = sackd_chroot(SACKD_SUITES[release], plan.build_sackd)
            if root is None:
                sackd_notes[release] = why
                continue
            c = controller(release, name="sackd%s" % release.replace(".", ""), port=port)
            controllers.append(c)
            host = sackd.SackdHost(root)
            hosts.append(host)
            try:
                daemon = host.start(c, sackd_port, os.path.join(work, "sackd-%s.log" % release))
            except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
                sackd_notes[release] = "sackd could not be run: %s" % str(error).splitlines()[0]
            else:
                subjects.append(Subject(daemon.label, c, daemon, host.nodes_conf))
        latency = push_latency(subjects, plan.rounds)
        rest = at_rest([s for s in subjects if s.daemon.proc.poll() is None], plan.rest_seconds)
        rest += floors()
        c = controller("26.05", name="watchjwt", port=17556)
        controllers.append(c)
        jwt = jwt_hints(c, work, plan.jwt_reconfigures)
    finally:
        for s in subjects:
            if not s.label.startswith("sackd"):
                s.daemon.stop()
        for host in hosts:
            host.stop()
        for c in controllers:
            lab.down(c)
        shutil.rmtree(work, ignore_errors=True)
    return dict(latency=latency, rest=rest, rest_seconds=plan.rest_seconds, jwt=jwt,
                sackd_notes=sackd_notes)


def report(watch):
    lines = ["", "## 7. Watching (`bin/straw --watch`) and sackd", "",
             "Push latency: each daemon has a controller of its own (a controller keys registrations"
             " by host name), and the daemons take turns: a new line in the controller's nodes.conf,"
             " `scontrol reconfigure`, then the time from scontrol's return until the daemon's copy"
             " holds the new bytes (polled every millisecond), at least %.1f s between two"
             " reconfigures of one controller. Watchers: `--request client --interval 600 --auth"
             " munge --munge-socket` (the controller's munged), so pushes are verified and written"
             " with no fetch. sackd runs in a chroot of its own (Debian's package of the same"
             " release, a munged with the cluster's key), as SlurmUser." % GAP, "",
             "| daemon | pushes landed | median | p99 | REQUEST_CONFIG per reconfigure | RSS |",
             "|---|---|---|---|---|---|"]
    for r in watch["latency"]:
        lines.append("| %s | %d of %d | %s | %s | %.2f | %s |" % (
            r["label"], r["landed"], r["tried"], ms(r["median"]), ms(r["p99"]), r["rpcs"],
            mib(r["rss"])))
    for release, why in sorted(watch["sackd_notes"].items()):
        lines.append("| sackd %s | not measured: %s | | | | |" % (release, why))
    lines += ["", "At rest: %g s with nothing happening, after the pushes above (goals for the"
              " watchers: RSS at most %d MiB, CPU about 0). Anonymous pages are the process's own;"
              " file pages are code (the interpreter's, libc's, the daemon's), shared with every"
              " process that maps the same files. The last rows are the watchers' interpreter"
              " started the same way and doing nothing: alone, and with the modules a verifying"
              " watcher holds imported." % (watch["rest_seconds"], REST_GOAL_MIB), "",
              "| daemon | RSS at the end | anonymous | file pages | CPU time used | goal |",
              "|---|---|---|---|---|---|"]
    for r in watch["rest"]:
        goal = "-" if r["label"].startswith(("sackd", "Python")) else (
            "met" if r["rss"] <= REST_GOAL_MIB * MIB and r["cpu"] < 0.05 else "missed")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            r["label"], mib(r["rss"]), mib(r.get("anon")), mib(r.get("file")),
            "-" if r["cpu"] is None else "%.0f ms" % (r["cpu"] * 1e3), goal))
    lines += floor_note(watch["rest"])
    j = watch["jwt"]
    lines += ["", "Controller connections per reconfigure: a munge watcher verifies each push and"
              " fetches nothing (goal 0; the REQUEST_CONFIG column above, counted in the"
              " controller's log). A JWT-only watcher (`SLURM_JWT`, `--hint-delay 0.2`) cannot"
              " verify the controller's MUNGE signature, so each push is a hint answered by one"
              " fetch (goal 1): %.2f REQUEST_CONFIG per reconfigure over %d reconfigure(s) (%d"
              " landed; median %s, as a hint is answered at most once per 5 s): %s."
              % (j["rpcs"], j["reconfigures"], j["landed"], ms(j["median"]),
                 "met" if j["rpcs"] <= 1.0 else "missed")]
    return lines
