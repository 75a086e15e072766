"""What the sections share: whole processes timed with their own peak memory, interleaved
rounds, medians and percentiles, the lab's controllers as the benchmarks start them, and the
figures' wording."""
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import lab

CACHE = os.environ.get("STRAW_BENCH_CACHE", "/var/tmp/straw-slurm-bench")
ROOT = lab.ROOT
STRAW = os.path.join(ROOT, "bin", "straw")
MIB = 1 << 20


# Linux carries a process's high-water RSS across fork and exec, so a child forked from this
# (large) process would report our peak, not its own. A minimal launcher forks the command
# and reports the command's own peak.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status))
"""


def run_process(argv, env=None):
    """(wall seconds, peak RSS in bytes) of one whole process."""
    argv = [shutil.which(argv[0]) or argv[0]] + list(argv[1:])
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER] + argv, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          universal_newlines=True)
    seconds, peak, status = proc.stdout.split()
    if int(status) != 0:
        raise RuntimeError("%s failed (%s): %s" % (argv[1], status, proc.stderr[-500:]))
    return float(seconds), int(peak)


def interleave(repetitions, **contestants):
    """Runs each contestant once per round, alternating; returns the medians."""
    samples = {name: [] for name in contestants}
    for _round in range(repetitions):
        for name, action in contestants.items():
            samples[name].append(action())
    return {name: statistics.median(values) for name, values in samples.items()}


#: Between two whole commands against one controller: a controller that looks up each peer
#: (24.11) against a resolver that drops bursts stops serving for 5 s (see the notes), and a
#: benchmark that provoked that would measure the resolver, not the command.
SPACING = 0.1


def whole(argv, env, before=None):
    """An action for interleave(): one whole process; its wall seconds."""
    def action():
        if before is not None:
            before()
        time.sleep(SPACING)
        return run_process(argv, env)[0]
    return action


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


#: Bytecode cached out of the tree, as on any host after a first run: the environment's
#: changes (None removes a variable).
CACHED_BYTECODE = {"PYTHONPYCACHEPREFIX": os.path.join(CACHE, "pycache"),
                   "PYTHONDONTWRITEBYTECODE": None}


def cached_bytecode_env():
    """This environment with bytecode cached out of the tree."""
    env = dict(os.environ, **CACHED_BYTECODE)
    return {name: value for name, value in env.items() if value is not None}


# ---------------------------------------------------------------- the lab


def controller(release, name, port=0, mib=0):
    """Controller name of release restarted with this very configuration: ASCII only, and
    with mib MiB more of slurm.conf when mib is given."""
    # ASCII only: upstream straw dies on the lab's non-UTF-8 byte (UnicodeDecodeError).
    env = dict(os.environ, STRAW_LAB_ASCII="1")
    if mib:
        env["STRAW_LAB_BIG_MIB"] = str(mib)
    else:
        env.pop("STRAW_LAB_BIG_MIB", None)
    suite = lab.RELEASES[release][0]
    subprocess.run([lab.LAB, "down", name, suite], check=False)
    return lab.up(release, name=name, port=port, env=env)


def payload_size(c):
    return sum(os.path.getsize(os.path.join(c.conf_dir, n)) for n in os.listdir(c.conf_dir)
               if n.endswith(".conf") or n == "prolog.sh")


def rpc_count(c):
    return c.log().count("Processing RPC: REQUEST_CONFIG")


# ---------------------------------------------------------------- wording


def mb(value):
    return "%.1f MB" % (value / 1e6)


def ms(seconds):
    return "-" if seconds is None else "%.1f ms" % (seconds * 1e3)


def verdict(value, goal):
    return "%.2fx, %s" % (value, "met" if value <= goal else "missed")
