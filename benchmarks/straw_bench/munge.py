"""6. MUNGE from the key vs munged: bin/straw --munge-key (credentials made here) against
--munge-socket (munged makes them), whole commands."""
import os
import shutil
import sys
import tempfile
from typing import NamedTuple

import lab
from straw_bench.measuring import STRAW, cached_bytecode_env, controller, interleave, ms, run_process, whole

TITLE = "MUNGE from the key vs munged"


class Plan(NamedTuple):
    repetitions: int  # interleaved rounds of both commands, per controller


FULL = Plan(repetitions=21)
SMOKE = Plan(repetitions=1)


def munge_release(release, port, repetitions, env, work):
    c = controller(release, name="mkey%s" % release.replace(".", ""), port=port)
    try:
        key = os.path.join(work, "munge-%s.key" % release)
        with open(c.munge_key, "rb") as source:
            secret = source.read()
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secret)
        by_key = [sys.executable, STRAW, c.server, "--auth", "munge", "--munge-key", key,
                  "-o", os.path.join(work, "key-" + release)]
        by_socket = [sys.executable, STRAW, c.server, "--auth", "munge", "--munge-socket",
                     c.munge_socket, "-o", os.path.join(work, "socket-" + release)]
        run_process(by_key, env)  # warm: bytecode, remembered versions
        run_process(by_socket, env)
        medians = interleave(repetitions, key=whole(by_key, env), socket=whole(by_socket, env))
        return dict(release=release, key_s=medians["key"], socket_s=medians["socket"],
                    ratio=medians["key"] / medians["socket"])
    finally:
        lab.down(c)


def measure(plan):
    """bin/straw --munge-key (credentials made here) vs --munge-socket (munged makes them)."""
    env = cached_bytecode_env()
    env.pop("SLURM_JWT", None)
    work = tempfile.mkdtemp(prefix="straw-bench-munge.")
    try:
        return [munge_release(release, port, plan.repetitions, env, work)
                for release, port in (("26.05", 17540), ("22.05", 17542))]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rows):
    lines = ["", "## 6. MUNGE from the key vs munged (whole commands)", "",
             "`bin/straw SERVER --auth munge --munge-key KEY` (credentials made here from a 0400 copy"
             " of the cluster's key, no munged) vs `--munge-socket SOCK` (munged makes them); no"
             " release, the version remembered, bytecode cached; medians of interleaved runs.", "",
             "| controller | munged | from the key | ratio |", "|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %s | %.2fx |" % (r["release"], ms(r["socket_s"]), ms(r["key_s"]),
                                                   r["ratio"]))
    return lines
