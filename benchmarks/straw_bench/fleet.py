"""8. A fleet on one machine: hundreds of hosts (tests/integration/fleet.py: each its own
loopback address, host name and port) against one lab controller. Push fan-out of
watchers and of sackd after one `scontrol reconfigure`; a JWT-only fleet, whose every push
is a hint answered by a fetch; boot storms, every host starting at one instant."""
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from typing import NamedTuple, Optional, Tuple

import lab
from _slurm.auth.jwt import mint_token
import debian_chroot
from fleet import (SETTLE, Barrier, OneShotFleet, SackdFleet, SlurmdFleet, WatcherFleet,
                   add_slurmd_nodes, fresh_controller, gaps, log_since, log_size, peak_rate,
                   push_round, registrations, request_times, summary)
from straw_bench.measuring import CACHE, CACHED_BYTECODE, MIB, ROOT
from straw_bench.playbooks import ansible_env, ansible_tool
from watching import SLURM_UID

TITLE = "fleet"
#: `benchmarks/run --smoke` leaves this section out (tests/run runs that smoke, and the fleet's
#: own is tests/integration/test_fleet_smoke.py); `--smoke --only fleet` runs it small.
IN_SMOKE = False
HOST_PORTS = 18750     # host i listens on HOST_PORTS + i where the release pushes there
STAGGER = 0.05         # seconds between two hosts' starts outside the storms
STALL = 4.0            # a pause this long between two REQUEST_CONFIG while hosts wait
BENCHMARKS = os.path.join(ROOT, "benchmarks")
PLOT = os.path.join(BENCHMARKS, "fleet.png")
SACKD_SOURCE = os.path.join(CACHE, "sackd-forky")
#: Watchers and one-shots run as users' do, with their bytecode cached (out of the tree);
#: an empty PYTHONDONTWRITEBYTECODE is no setting.
AS_USERS = dict(CACHED_BYTECODE, PYTHONDONTWRITEBYTECODE="")
SLURMD_PORTS = 19000   # configless slurmd i listens on SLURMD_PORTS + i
SUITES = {"26.05": "forky", "24.11": "trixie"}
# Controllers: name, port (SlurmdPort is port + 1).
PUSH = (("watcher", "26.05", "fleetkw26", 18700), ("sackd", "26.05", "fleetks26", 18702),
        ("watcher", "24.11", "fleetkw24", 18704))
JWT = (("26.05", "fleetkj26", 18706), ("24.11", "fleetkj24", 18708))
# The lab's controllers resolve from /etc/hosts; "dns" sends their every lookup to this
# machine's DNS, which drops bursts of queries, as a site's slow resolver would (24.11 looks
# up each connection's peer before it serves the next; 26.05 does not for loopback peers).
STORM = (("26.05", "fleetkb26", 18710, "files"), ("24.11", "fleetkb24", 18712, "files"),
         ("24.11", "fleetkd24", 18714, "dns"))
RESOLVERS = {"files": "", "dns": ", slow resolver"}


class Plan(NamedTuple):
    sizes: Tuple[int, ...]                 # push fleets, watchers and sackd
    rounds: int                            # reconfigures per push fleet
    jwt_size: int                          # the JWT-only fleet
    jwt_delays: Tuple[Optional[int], ...]  # --hint-delay (None: the default)
    storm_size: int                        # watchers and one-shots at one instant
    role_size: int                         # hosts of the role's play (forks as many)
    smoke: bool


FULL = Plan(sizes=(50, 100, 200), rounds=3, jwt_size=200, jwt_delays=(None, 30), storm_size=200,
            role_size=200, smoke=False)
SMOKE = Plan(sizes=(5,), rounds=1, jwt_size=5, jwt_delays=(None,), storm_size=5, role_size=5,
             smoke=True)


def munge_extra(c):
    """A watcher's MUNGE from the controller's key, no munged: pushes verified."""
    return ["--auth", "munge", "--munge-key", c.munge_key, "--slurm-user", SLURM_UID]


def listen_base(release):
    """26.05 pushes to the port a host registered; 24.11 to SlurmdPort always."""
    return HOST_PORTS if release != "24.11" else None


def sackd_root():
    """A copy of the sackd chroot of the watching section for the fleet alone (the fleet
    clears its run directory and stops whatever runs in it), or None when there is none."""
    if not debian_chroot.ready(SACKD_SOURCE):
        return None
    root = os.path.join(CACHE, "fleet-sackd-forky")
    if not debian_chroot.ready(root):
        if lab.mounts_under(root):
            return None
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["cp", "-a", SACKD_SOURCE, root + ".tmp"], check=True)
        os.rename(root + ".tmp", root)
    return root


# ---------------------------------------------------------------- push fan-out


def push_fleet(kind, c, n, rounds, make):
    """Starts a fleet (make()), waits for its registrations, then rounds reconfigures."""
    since, start = log_size(c), time.monotonic()
    fleet = make()
    try:
        got = fleet.registered(60 + n * 0.3)
        startup = time.monotonic() - start
        time.sleep(SETTLE)
        keys = len(registrations(c, since))
        done = []
        for _round in range(rounds):
            result = push_round(c, fleet.watched())
            first, median, last, lost = summary(result["times"])
            triggered = [int(x) for x in re.findall(
                r"triggered reconfig for (\d+) nodes", result["text"])]
            done.append(dict(first=first, median=median, last=last, lost=lost, cpu=result["cpu"],
                             rpcs=result["rpcs"], triggered=max(triggered or [0])))
            time.sleep(SETTLE)
        memory = {"all": fleet.memory()}
        if kind == "sackd":
            memory = {"sackd": fleet.memory("sackd"), "munged": fleet.memory("munged")}
    finally:
        fleet.stop()
    return dict(kind=kind, release=c.release, n=n, registered=got, keys=keys, startup=startup,
                rounds=done, memory=memory)


def push_phase(plan, work):
    rows, notes = [], []
    for kind, release, name, port in PUSH:
        root = None
        if kind == "sackd":
            root = sackd_root()
            if root is None:
                notes.append("sackd 26.05 not measured: its chroot (%s) is not built; a full run"
                             " of the watching section builds it" % SACKD_SOURCE)
                continue
        c = fresh_controller(release, name, port)
        try:
            for n in plan.sizes:
                print("benchmarks: fleet: %d %s on %s" % (n, kind, release), flush=True)
                here = os.path.join(work, "%s-%s-%d" % (kind, release, n))
                os.makedirs(here)
                if kind == "watcher":
                    def make(c=c, n=n, here=here, release=release):
                        return WatcherFleet(c, n, here, munge_extra(c), port_base=listen_base(release),
                                            stagger=STAGGER, env=AS_USERS)
                else:
                    def make(c=c, n=n, root=root):
                        return SackdFleet(root, c, n, HOST_PORTS)
                rows.append(push_fleet(kind, c, n, plan.rounds, make))
        finally:
            lab.down(c)
    notes.append("sackd 24.11 not measured: it has no --port and binds 0.0.0.0:SlurmdPort, so"
                 " only one runs per machine (a shim that moves its bind() to its own address"
                 " would be needed)")
    return rows, notes


# ---------------------------------------------------------------- JWT-only


def jwt_phase(plan, work):
    rows = []
    for release, name, port in JWT:
        c = fresh_controller(release, name, port)
        token = mint_token(c.jwt_key, "slurm", lifetime=7200)
        try:
            for delay in plan.jwt_delays:
                print("benchmarks: fleet: %d JWT watchers on %s, --hint-delay %s"
                      % (plan.jwt_size, release, delay or "default"), flush=True)
                here = os.path.join(work, "jwt-%s-%s" % (release, delay))
                os.makedirs(here)
                extra = ["--auth", "jwt"] + (["--hint-delay", delay] if delay else [])
                fleet = WatcherFleet(c, plan.jwt_size, here, extra, env=dict(AS_USERS, SLURM_JWT=token),
                                     port_base=listen_base(release), stagger=STAGGER,
                                     name="jwt")
                try:
                    got = fleet.registered(60 + plan.jwt_size * 0.3)
                    time.sleep(SETTLE)
                    result = push_round(c, fleet.watched(), timeout=(delay or 5) * 2 + 30)
                    moments = request_times(result["text"])
                    first, median, last, lost = summary(result["times"])
                    rows.append(dict(release=release, n=plan.jwt_size, delay=delay, registered=got,
                                     median=median, last=last, lost=lost, rpcs=result["rpcs"],
                                     peak=peak_rate(moments), gaps=gaps(moments, STALL),
                                     late=sum(t is not None and t > (delay or 5) + STALL
                                              for t in result["times"]),
                                     cpu=result["cpu"]))
                finally:
                    fleet.stop()
        finally:
            lab.down(c)
    return rows


# ---------------------------------------------------------------- boot storms


def storm(c, what, fleet, barrier, timeout, watchers):
    """Lets every host of fleet go at once; until each has its files (or, for one-shots, has
    exited) or timeout: who got them, when the last did, what the controller went through."""
    try:
        since = log_size(c)
        start = barrier.open([d.pid for d in fleet.daemons])
        paths = fleet.watched()
        landed = {}
        end = start + timeout
        while time.monotonic() < end:
            now = time.monotonic()
            for path in paths:
                if path not in landed and os.path.exists(path):
                    landed[path] = now - start
            if len(landed) == len(paths):
                break
            if not watchers and all(s is not None for s in fleet.statuses()):
                break
            time.sleep(0.01)
        failed = 0 if watchers else sum(s not in (0, None) for s in fleet.statuses())
        time.sleep(1.0)
        moments = request_times(log_since(c, since))
    finally:
        barrier.close()
        fleet.stop()
    times = sorted(landed.values())
    return dict(release=c.release, what=what, n=len(paths), got=len(times),
                last=times[-1] if times else None,
                median=statistics.median(times) if times else None, failed=failed,
                rpcs=len(moments), peak=peak_rate(moments), gaps=gaps(moments, STALL))


def unmeasured(label, what, n, why):
    """The row of a storm that could not be run, saying why."""
    return dict(release=label, what=what, n=n, got=0, last=None, median=None, failed=0, rpcs=0,
                peak=0, gaps=[], why=why)


def slurmd_storm(c, n, work, label):
    """n configless slurmd (Debian's, the controller's release) started at one instant, as
    sackd's fleet runs: each its own host; timed until its conf-cache holds the files."""
    what = "%d configless slurmd" % n
    suite = SUITES.get(c.release)
    root, why = debian_chroot.build(os.path.join(CACHE, "slurmd-%s" % suite), suite,
                                    "slurmd,munge,procps", "slurmd")
    if root is None:
        return unmeasured(label, what, n, why)
    print("benchmarks: fleet: a boot storm of %s on %s" % (what, label), flush=True)
    if add_slurmd_nodes(c, n, SLURMD_PORTS) is None:
        return unmeasured(label, what, n, "the controller did not take the nodes sd1..sd%d" % n)
    here = os.path.join(work, "storm-slurmd-%s" % label.replace(" ", "").replace(",", "-"))
    os.makedirs(here)
    barrier = Barrier(here)
    fleet = SlurmdFleet(root, c, n, barrier=barrier)
    row = storm(c, what, fleet, barrier, 90, True)
    row["release"] = label
    return row


def sackd_storm(c, n, work, label):
    """n sackd (the push fleet's, 25.05+) started at one instant: timed until each holds the
    files."""
    what = "%d sackd" % n
    root = sackd_root()
    if root is None:
        return unmeasured(label, what, n, "the sackd chroot is not built")
    print("benchmarks: fleet: a boot storm of %s on %s" % (what, label), flush=True)
    here = os.path.join(work, "storm-sackd-%s" % label.replace(" ", "").replace(",", "-"))
    os.makedirs(here)
    barrier = Barrier(here)
    fleet = SackdFleet(root, c, n, HOST_PORTS, barrier=barrier)
    row = storm(c, what, fleet, barrier, 90, True)
    row["release"] = label
    return row


def role_storm(c, n, work):
    """The role on n local hosts at once (forks=n), each writing its own directory."""
    playbook = ansible_tool("ansible-playbook")
    if not playbook:
        return None
    here = os.path.join(work, "role-%s" % c.release)
    os.makedirs(here)
    inventory = os.path.join(here, "inventory.ini")
    with open(inventory, "w") as handle:
        for i in range(1, n + 1):
            handle.write("h%d ansible_connection=local configless_conf_dir=%s/h%d\n" % (i, here, i))
    role_vars = dict(configless_servers=[c.server], configless_auth="munge", configless_munged=False,
                     configless_munge_key_path=c.munge_key, configless_request="client",
                     configless_services=False, configless_packages=False,
                     configless_refresh="none")
    play = os.path.join(here, "play.yml")
    with open(play, "w") as handle:
        handle.write("- hosts: all\n  gather_facts: false\n  roles: [{role: straw.slurm.configless,"
                     " vars: %s}]\n" % json.dumps(role_vars))
    # A collections path of its own: the shared one (playbooks.collections_path) points at
    # whichever checkout ran last, and another may be running now.
    collections = os.path.join(here, "collections")
    os.makedirs(os.path.join(collections, "ansible_collections", "straw"))
    os.symlink(ROOT, os.path.join(collections, "ansible_collections", "straw", "slurm"))
    env = dict(ansible_env(), ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_FORKS=str(n),
               ANSIBLE_HOST_KEY_CHECKING="0")
    since = log_size(c)
    start = time.monotonic()
    paths = [os.path.join(here, "h%d" % i, "nodes.conf") for i in range(1, n + 1)]
    landed = {}
    with open(os.path.join(here, "play.log"), "w") as log:
        proc = subprocess.Popen([playbook, "-i", inventory, play], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while proc.poll() is None or len(landed) < len(paths):
            now = time.monotonic()
            for path in paths:
                if path not in landed and os.path.exists(path):
                    landed[path] = now - start
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.wait()
    wall = time.monotonic() - start
    why = None
    if proc.returncode != 0:
        with open(os.path.join(here, "play.log"), errors="replace") as handle:
            why = next((line.strip()[:300] for line in handle if "fatal:" in line or "FAILED" in line),
                       "ansible-playbook exited with %d" % proc.returncode)
    time.sleep(1.0)
    moments = request_times(log_since(c, since))
    times = sorted(landed.values())
    return dict(release=c.release, what="role, forks=%d" % n, n=n, got=len(times),
                last=times[-1] if times else None,
                median=statistics.median(times) if times else None,
                failed=0 if proc.returncode == 0 else n - len(times), wall=wall, why=why,
                rpcs=len(moments), peak=peak_rate(moments), gaps=gaps(moments, STALL))


def storm_phase(plan, work):
    rows = []
    n = plan.storm_size
    for release, name, port, resolver in STORM:
        env = dict(os.environ, STRAW_LAB_RESOLVER=resolver)
        c = fresh_controller(release, name, port, env)
        label = release + RESOLVERS[resolver]
        try:
            kinds = (("watchers", None), ("one-shot", []), ("one-shot --retry-for 120",
                                                            ["--retry-for", "120"]))
            for what, extra in kinds:
                if resolver == "dns" and what != kinds[0][0]:
                    # A controller this slow still answers the requests the last storm gave
                    # up on minutes later: each storm meets a fresh one.
                    lab.down(c)
                    c = fresh_controller(release, name, port, env)
                print("benchmarks: fleet: a boot storm of %d %s on %s" % (n, what, label),
                      flush=True)
                here = os.path.join(work, "storm-%s-%s-%s" % (release, resolver, what.split()[-1]))
                os.makedirs(here)
                barrier = Barrier(here)
                if extra is None:
                    fleet = WatcherFleet(c, n, here, munge_extra(c), port_base=listen_base(release),
                                         name="boot", barrier=barrier, env=AS_USERS)
                    rows.append(storm(c, "%s watchers" % n, fleet, barrier, 90, True))
                else:
                    fleet = OneShotFleet(c, n, here, ["--auth", "munge", "--munge-key", c.munge_key]
                                         + extra, barrier=barrier, env=AS_USERS)
                    rows.append(storm(c, "%d %s" % (n, what), fleet, barrier, 150, False))
                rows[-1]["release"] = label
                time.sleep(6)  # a stall the storm provoked is over before the next one
            if resolver == "files":  # the role's own runs, where the controller resolves
                print("benchmarks: fleet: the role on %d hosts at once on %s"
                      % (plan.role_size, release), flush=True)
                row = role_storm(c, plan.role_size, work)
                if row is not None:
                    rows.append(row)
            if resolver == "files" and release != "24.11":  # 24.11's has no --port
                rows.append(sackd_storm(c, n, work, label))
            if resolver == "dns":
                lab.down(c)
                c = fresh_controller(release, name, port, env)
            row = slurmd_storm(c, n, work, label)  # last: its nodes stay in the configuration
            if row is not None:
                rows.append(row)
        finally:
            lab.down(c)
    return rows


#: Which parts to measure: STRAW_BENCH_FLEET_PARTS=push,jwt (say) measures those again and
#: keeps the others from the last run (fleet-last.json), which the report then says.
PARTS = ("push", "jwt", "storms")


def measure(plan):
    wanted = [p for p in os.environ.get("STRAW_BENCH_FLEET_PARTS", ",".join(PARTS)).split(",")
              if p in PARTS]
    last_path = os.path.join(CACHE, "fleet-last.json")
    last = {}
    if len(wanted) < len(PARTS) and os.path.exists(last_path):
        with open(last_path) as handle:
            last = json.load(handle)
    work = tempfile.mkdtemp(prefix="straw-bench-fleet.")
    load = [os.getloadavg()[0]]
    measured = dict(smoke=plan.smoke, cores=os.cpu_count() or 1, date=time.strftime("%Y-%m-%d"),
                    kept={})
    try:
        for part, run in (("push", push_phase), ("jwt", jwt_phase), ("storms", storm_phase)):
            if part in wanted or part not in last:
                result = run(plan, work)
                if part == "push":
                    measured["push"], measured["notes"] = result
                else:
                    measured[part] = result
            else:
                measured[part] = last[part]
                if part == "push":
                    measured["notes"] = last.get("notes", [])
                measured["kept"][part] = last.get("kept", {}).get(part) or last.get("date", "?")
            load.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    measured["load"] = load
    with open(last_path, "w") as handle:  # to word it again
        json.dump(measured, handle, indent=1)
    return measured


# ---------------------------------------------------------------- report


def seconds(value):
    return "-" if value is None else "%.2f s" % value


def pauses(found):
    """The stalls of a run in few words."""
    if not found:
        return "none"
    return "%d (%.1f-%.1f s each)" % (len(found), min(found), max(found))


def mid(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(row):
    """A push fleet's rounds in one: medians of first, median and last; lost in all."""
    r = row["rounds"]
    return dict(first=mid([x["first"] for x in r]), median=mid([x["median"] for x in r]),
                last=mid([x["last"] for x in r]), worst=max([x["last"] or 0 for x in r] or [0]),
                lost=sum(x["lost"] for x in r), cpu=statistics.mean(x["cpu"] for x in r) if r else 0,
                rpcs=statistics.mean(x["rpcs"] for x in r) if r else 0,
                triggered=max([x["triggered"] for x in r] or [0]))


def chart(series, smoke):
    """Time to the last file against N, per daemon: a PNG (matplotlib) under benchmarks/ on a
    full run, and a text chart always. Returns the lines for RESULTS.md."""
    lines = []
    png = None
    if not smoke:
        try:
            import matplotlib
            matplotlib.use("Agg")
            from matplotlib import pyplot
        except ImportError:
            pyplot = None
        if pyplot is not None:
            figure, axes = pyplot.subplots(figsize=(6, 4))
            for label, points in sorted(series.items()):
                axes.plot([n for n, _t in points], [t for _n, t in points], marker="o", label=label)
            axes.set_xlabel("hosts (N)")
            axes.set_ylabel("seconds from scontrol's return to the last file")
            axes.set_title("Push fan-out: time to the last host")
            axes.grid(True, alpha=0.3)
            axes.legend()
            figure.tight_layout()
            figure.savefig(PLOT, dpi=100)
            pyplot.close(figure)
            png = os.path.relpath(PLOT, BENCHMARKS)
    if png:
        lines += ["![time to the last file against N](%s)" % png, ""]
    top = max([t for points in series.values() for _n, t in points] or [1.0]) or 1.0
    lines.append("```")
    for label, points in sorted(series.items()):
        for n, t in points:
            lines.append("%-14s N=%-4d %-40s %.2f s" % (label, n, "#" * max(1, int(round(40 * t / top))), t))
    lines.append("```")
    return lines


def report(fleet):
    lines = ["", "## 8. A fleet on one machine (push fan-out, JWT hints, boot storms)", "",
             "Each host has its own loopback address (127.0.1.i), host name (a UTS namespace) and"
             " port, so a lab controller takes N of them for N hosts (tests/integration/fleet.py)."
             " Watchers: `bin/straw --watch --request client --interval 600 --listen-address"
             " 127.0.1.i --auth munge --munge-key` (the controller's key, no munged; pushes"
             " verified; bytecode cached, as on users' hosts, as for every `bin/straw` here),"
             " started %.2f s apart. sackd (Debian's 26.05): each its own munged with a"
             " TEST-NET origin, its own runtime directory and `--port`, as SlurmUser. One"
             " controller per kind and release; each round is a new line in nodes.conf, then"
             " `scontrol reconfigure`, timed from scontrol's return until each host's copy holds"
             " the new bytes. Controller CPU from /proc (its own and its children's);"
             " REQUEST_CONFIG counted in its log. %d cores for everything; load average (one"
             " minute) before the pushes, the JWT fleet, the storms and at the end: %s (other"
             " work on the machine shows as noise).%s" % (STAGGER, fleet["cores"], ", ".join(
                 "%.1f" % x for x in fleet.get("load", [])), "".join(
                     " The %s come from an earlier run (%s) of the same code." % (
                         {"push": "push fan-out", "jwt": "JWT fleet", "storms": "boot storms"}[p],
                         when) for p, when in sorted(fleet.get("kept", {}).items()))),
             "",
             "| daemon | release | N | registered (keys) | first | median | last (worst) | lost |"
             " controller CPU per reconfigure | REQUEST_CONFIG per reconfigure | fleet RSS | fleet PSS |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    series = {}
    by = {}
    for row in fleet["push"]:
        a = aggregate(row)
        by[(row["kind"], row["release"], row["n"])] = a
        # Plotted only where every host registered and took every push: a fleet that could
        # not register measures the controller's stalls, which the table tells.
        if a["last"] is not None and not a["lost"] and row["registered"] == row["n"]:
            series.setdefault("%s %s" % (row["kind"], row["release"]), []).append((row["n"], a["last"]))
        rss = sum(m[0] for m in row["memory"].values())
        pss = sum(m[1] for m in row["memory"].values())
        memory = "%.0f MiB" % (rss / MIB), "%.0f MiB (%.1f per host)" % (pss / MIB, pss / MIB / row["n"])
        if row["kind"] == "sackd":
            memory = tuple("%s (munged %.0f)" % (text, row["memory"]["munged"][i] / MIB)
                           for i, text in enumerate(memory))
        lines.append("| %s | %s | %d | %d (%d) | %s | %s | %s (%s) | %d | %.3f s | %.1f | %s | %s |" % (
            row["kind"], row["release"], row["n"], row["registered"], row["keys"], seconds(a["first"]),
            seconds(a["median"]), seconds(a["last"]), seconds(a["worst"]), a["lost"], a["cpu"],
            a["rpcs"], memory[0], memory[1]))
    for note in fleet["notes"]:
        lines.append("| %s | | | | | | | | | | | |" % note)
    goals = []
    for (kind, release, n), a in sorted(by.items()):
        if kind != "watcher" or release != "26.05":
            continue
        s = by.get(("sackd", "26.05", n))
        if s is not None and a["last"] is not None and s["last"] is not None:
            goals.append("N=%d: last watcher %s, last sackd %s: %s" % (
                n, seconds(a["last"]), seconds(s["last"]), "met" if a["last"] <= s["last"] else "missed"))
    # Counted where every host registered and took every push: a host that could not
    # register (24.11 stalling as the fleet started) keeps fetching to start.
    fetches = [a["rpcs"] for (kind, _r, n), a in by.items() if kind == "watcher" and not a["lost"]]
    lines += ["", "Goals: the last watcher no later than the last sackd (%s); 0 fetches per"
              " reconfigure for watchers that verify pushes (%s)." % (
                  "; ".join(goals) or "not measured",
                  "met" if fetches and max(fetches) == 0 else "missed" if fetches else "not measured"),
              ""]
    stalled = [(n, a) for (kind, release, n), a in by.items() if release == "24.11"]
    if stalled:
        lines += ["24.11 pushes stall? %s." % "; ".join(
            "N=%d: %s" % (n, "yes (worst last %s, %d lost)" % (seconds(a["worst"]), a["lost"])
                          if a["worst"] > STALL or a["lost"] else "no (worst last %s)" % seconds(a["worst"]))
            for n, a in sorted(stalled)), ""]
    lines += chart(series, fleet["smoke"])
    lines += ["", "JWT only (`--auth jwt`, SLURM_JWT minted from the controller's key): a push"
              " cannot be verified, so each one is a hint answered by a fetch after a random delay"
              " of up to `--hint-delay`. One reconfigure; peak REQUEST_CONFIG in any one second"
              " (the log's millisecond stamps); stalls: pauses of %g s or more between two"
              " REQUEST_CONFIG, and hosts whose file came more than %g s after the delay." % (STALL, STALL),
              "",
              "| release | N | --hint-delay | registered | landed | median | last | REQUEST_CONFIG |"
              " peak per second | stalls | late hosts | controller CPU |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in fleet["jwt"]:
        lines.append("| %s | %d | %s | %d | %d of %d | %s | %s | %d | %d | %s | %d | %.2f s |" % (
            r["release"], r["n"], "%d s" % r["delay"] if r["delay"] else "default (5 s)",
            r["registered"], r["n"] - r["lost"], r["n"], seconds(r["median"]), seconds(r["last"]), r["rpcs"], r["peak"],
            pauses(r["gaps"]), r["late"], r["cpu"]))
    lines += ["", "Boot storms: every host starts at one instant (each waits on one FIFO, opened"
              " when all wait), with no files yet. Watchers as above; one-shots `bin/straw"
              " --request client --auth munge --munge-key` (default timeout 10 s, one pass);"
              " the role (`straw.slurm.configless`, config_facts, `configless_services: false`,"
              " `configless_packages: false`, `configless_refresh: none`, default"
              " `configless_retry_for: 60`) by ansible-playbook over N local hosts with forks=N,"
              " timed from the playbook's start; sackd as above, on 26.05 only (24.11's has no"
              " --port, so one machine holds one), timed until it holds nodes.conf;"
              " configless slurmd (Debian's, of the controller's"
              " release: `slurmd -D --conf-server`, each its own host as sackd's above, with its"
              " own /run and spool directory, nodes sd1..sdN added to nodes.conf and"
              " `CgroupPlugin=disabled`, as this machine has no cgroup a slurmd could use),"
              " timed until its conf-cache holds nodes.conf, run last on each controller. Stalls"
              " as above.", "",
              "| release | what | got their files | median | last file | failed | REQUEST_CONFIG |"
              " peak per second | stalls |", "|---|---|---|---|---|---|---|---|---|"]
    for r in fleet["storms"]:
        if r.get("why"):
            lines.append("| %s | %s | failed: %s | | | | | | |"
                         % (r["release"], r["what"], r["why"].replace("|", "/")))
            if not r["got"]:
                continue
        lines.append("| %s | %s | %d of %d | %s | %s | %d | %d | %d | %s |" % (
            r["release"], r["what"], r["got"], r["n"], seconds(r["median"]), seconds(r["last"]),
            r["failed"], r["rpcs"], r["peak"], pauses(r["gaps"])))
    roles = [r for r in fleet["storms"] if r["what"].startswith("role")]
    if roles and not fleet["smoke"]:
        lines += ["", "The role's time is Ansible's: ansible-playbook with forks=%d on %d cores is a"
                  " storm of Ansible workers more than of fetches (each fork costs more CPU than the"
                  " fetch it makes)." % (roles[0]["n"], fleet["cores"])]
    lines += estimate(fleet, by)
    return lines


def estimate(fleet, by):
    """What limits the fan-out, and 10,000 hosts on paper from the measured per-host costs."""
    lines = ["", "What limits the fan-out: slurmctld pushes with a pool of about 50 agents, each"
             " connecting to one host, sending the files and waiting for the reply, so the time"
             " to the last host grows with N/50 round trips; each round trip is a connection"
             " accepted and a push verified by the host (for a watcher, a MUNGE credential"
             " decoded from the key and the files written by rename; for sackd, munged's"
             " decode). On one machine the host is the limit as well: every daemon of the fleet"
             " and the controller share %d cores, so a push waits for a core as much as for the"
             " network." % fleet["cores"]]
    for kind, what in (("watcher", "watchers"), ("sackd", "sackd")):
        big = [(n, a) for (k, release, n), a in by.items()
               if k == kind and release == "26.05" and a["last"]]
        if not big:
            continue
        n, a = max(big)
        rate = n / a["last"]
        row = next(r for r in fleet["push"] if (r["kind"], r["release"], r["n"]) == (kind, "26.05", n))
        pss = sum(m[1] for m in row["memory"].values()) / n
        lines += ["", "10,000 %s, on paper (from N=%d on 26.05): the controller reached %.0f hosts"
                  " a second and spent %.1f ms of CPU per host per reconfigure, so a reconfigure"
                  " would reach the last of 10,000 hosts after about %.0f s and cost %.0f s of"
                  " controller CPU, with %.1f REQUEST_CONFIG per reconfigure (verified pushes"
                  " need no fetch); each host holds %.1f MiB (PSS%s)." % (
                      what, n, rate, a["cpu"] / n * 1e3, 10000 / rate, 10000 * a["cpu"] / n,
                      a["rpcs"], pss / MIB, ", sackd with its munged" if kind == "sackd" else "")]
    lines += ["", "These are upper bounds: the fleet's daemons and the controller share this"
              " machine's cores, so a push waits for a core as well as for an agent; on real"
              " hosts each push costs the controller only its own part."]
    quick = [r for r in fleet["storms"] if r["release"] == "26.05" and r["peak"]]
    if quick:
        peak = max(r["peak"] for r in quick)
        lines += ["", "A boot storm of 10,000: 26.05 served up to %d REQUEST_CONFIG a second here"
                  " with no stall, so 10,000 first fetches need at least %.0f s of the"
                  " controller." % (peak, 10000 / peak)]
    slow = [r for r in fleet["storms"] if r["release"].endswith(RESOLVERS["dns"])]
    if slow:
        lines += ["", "24.11 and its resolver. 24.11's slurmctld names every connection it accepts"
                  " by its peer's host name, a reverse lookup made before it accepts the next"
                  " (conmgr; 26.05 does not look up loopback peers). Where the resolver drops a"
                  " query, every client waits for glibc's 5-s timeout: the stalls of the rows"
                  " marked slow resolver, whose controller asks this machine's DNS, which drops"
                  " bursts of queries. An earlier run of this section measured every 24.11 row"
                  " that way (the lab's chroots had no /etc/hosts), and 24.11 looked unable to"
                  " take a storm; resolving from /etc/hosts, it takes one as 26.05 does. Under a"
                  " slow resolver the queue drains only if clients stay in it, as the controller"
                  " answers first the requests that clients gave up on (minutes later, so each of"
                  " these storms meets a fresh controller): a one-shot run with --retry-for and"
                  " one controller waits, after one timeout, for all the time left (%s)." % "; ".join(
                      "%s: %d of %d%s" % (r["what"], r["got"], r["n"],
                                          ", last after %s" % seconds(r["last"]) if r["last"] else "")
                      for r in slow)]
    jwt = [r for r in fleet["jwt"] if r["release"] == "26.05" and not r["delay"]]
    if jwt and jwt[0]["peak"]:
        r = jwt[0]
        lines += ["", "A JWT-only fleet of 10,000 spreads its fetches over `--hint-delay`: the"
                  " default 5 s asks for %.0f fetches a second, against a peak of %d a second"
                  " measured here with N=%d; a delay of %.0f s keeps 10,000 hosts at that peak. A"
                  " MUNGE (or auth/slurm) fleet that verifies pushes needs no fetch and no"
                  " delay." % (10000 / 5.0, r["peak"], r["n"], 10000 / max(1, r["peak"]))]
    return lines
