"""5. As users meet it: whole commands as users start them (release given or remembered,
bytecode cached or not, first contact, the single file, upstream straw) against every lab
release, each against an interpreter doing nothing; and the module ad hoc against a ping."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import NamedTuple, Tuple

import lab
from _slurm.auth.jwt import mint_token
from straw_bench.measuring import (ROOT, STRAW, cached_bytecode_env, controller, interleave, ms,
                                   run_process, verdict, whole)
from straw_bench.playbooks import ansible_env, ansible_tool
from straw_bench.upstream import upstream_straw

TITLE = "as users meet it"
USER_RELEASES = ("20.11", "22.05", "24.11", "26.05")


class Plan(NamedTuple):
    repetitions: int                 # interleaved rounds of the commands, per controller
    adhoc_repetitions: int           # interleaved rounds of the module, ping and floor
    adhoc_releases: Tuple[str, ...]  # the controllers the module is run against


FULL = Plan(repetitions=21, adhoc_repetitions=15, adhoc_releases=USER_RELEASES)
SMOKE = Plan(repetitions=1, adhoc_repetitions=1, adhoc_releases=("26.05",))

VERSIONS_FILE = ".straw-versions"
FLOOR_MODULE = "bench.floor.config_facts_imports"

# (label, numerator, denominator, goal): the ratios issue 15 asks for.
USER_RATIOS = (
    ("repeat / straw", "repeat", "straw", 0.5),
    ("repeat / `-c pass`", "repeat", "floor", 2.0),
    ("no bytecode / `-c pass`", "uncached", "floor", 3.0),
    ("single file / `-c pass`", "pyz", "floor", 2.0),
    ("first contact / given", "first", "given", 1.2),
    ("repeat / given", "repeat", "given", 1.05),
)


def uncompiled_straw(work):
    """bin/straw and its library copied with no bytecode: a host that never ran it."""
    tree = os.path.join(work, "tree")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(os.path.join(ROOT, "bin"), os.path.join(tree, "bin"), ignore=skip)
    shutil.copytree(os.path.join(ROOT, "plugins", "module_utils"),
                    os.path.join(tree, "plugins", "module_utils"), ignore=skip)
    if os.path.exists(os.path.join(ROOT, "galaxy.yml")):
        shutil.copy(os.path.join(ROOT, "galaxy.yml"), tree)
    return tree


def has_bytecode(tree):
    return any("__pycache__" in names or any(n.endswith(".pyc") for n in files)
               for _path, names, files in os.walk(tree))


def single_file(work):
    """bin/straw-pyz's zip application, with bytecode for this interpreter."""
    path = os.path.join(work, "straw.pyz")
    subprocess.run([sys.executable, os.path.join(ROOT, "bin", "straw-pyz"), path, "--python",
                    sys.executable], check=True, stdout=subprocess.DEVNULL)
    return path


def forget(directory):
    try:
        os.remove(os.path.join(directory, VERSIONS_FILE))
    except FileNotFoundError:
        pass


def floor_collection(work):
    """A scratch collection whose one module is config_facts with its imports and arguments but
    a main() that returns at once: Ansible ships and the target imports the same library, and
    nothing is fetched. What it costs over a ping is what carrying the library costs."""
    base = os.path.join(work, "floor-collections")
    collection = os.path.join(base, "ansible_collections", "bench", "floor")
    modules = os.path.join(collection, "plugins", "modules")
    os.makedirs(modules, exist_ok=True)
    os.makedirs(os.path.join(collection, "meta"), exist_ok=True)
    with open(os.path.join(collection, "galaxy.yml"), "w") as handle:
        handle.write("namespace: bench\nname: floor\nversion: 1.0.0\nreadme: README.md\n"
                     "authors: [straw.slurm benchmarks]\n")
    with open(os.path.join(collection, "meta", "runtime.yml"), "w") as handle:
        handle.write("requires_ansible: '>=2.15.0'\n")
    with open(os.path.join(ROOT, "plugins", "modules", "config_facts.py")) as handle:
        source = handle.read()
    head = source[:source.index("\ndef main():")]
    with open(os.path.join(modules, "config_facts_imports.py"), "w") as handle:
        handle.write(head + "\n\ndef main():\n"
                     "    module = AnsibleModule(argument_spec=dict(\n"
                     "        servers=dict(type='list', elements='str', default=[]),\n"
                     "        auth=dict(type='str'), jwt_token=dict(type='str', no_log=True),\n"
                     "        versions_cache=dict(type='path')))\n"
                     "    module.exit_json(changed=False, ansible_facts={'slurm_config': {}})\n\n\n"
                     "if __name__ == '__main__':\n    main()\n")
    return base


def adhoc(repetitions, c, token, work):
    """Wall times of `ansible localhost -m straw.slurm.config_facts`, of `-m ping`, and of the
    floor: a module with config_facts' imports that fetches nothing."""
    ansible_bin = ansible_tool("ansible")
    if not ansible_bin:
        return "`ansible` not found"
    # The token goes in a vars file, never in the arguments (ps would show it).
    variables = os.path.join(work, "vars-%s.json" % c.name)
    descriptor = os.open(variables, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"bench_token": token}, handle)
    env = dict(ansible_env(), ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env["ANSIBLE_COLLECTIONS_PATH"] += os.pathsep + floor_collection(work)
    env.pop("SLURM_JWT", None)
    # The negotiated version is remembered as the module does by default, but in our own file.
    arguments = json.dumps({"servers": [c.server], "auth": "jwt", "jwt_token": "{{ bench_token }}",
                            "versions_cache": os.path.join(work, "versions-%s" % c.name)})
    module = [ansible_bin, "localhost", "-e", "@" + variables, "-m", "straw.slurm.config_facts",
              "-a", arguments]
    ping = [ansible_bin, "localhost", "-e", "@" + variables, "-m", "ansible.builtin.ping"]
    floor = [ansible_bin, "localhost", "-e", "@" + variables, "-m", FLOOR_MODULE, "-a", arguments]
    run_process(module, env)  # warm: bytecode of Ansible and of the module
    return interleave(repetitions, ping=lambda: run_process(ping, env)[0],
                      floor=lambda: run_process(floor, env)[0],
                      module=lambda: run_process(module, env)[0])


def users_release(release, port, repetitions, adhoc_repetitions, work, tree, pyz, upstream):
    """One controller: the commands as users start them, interleaved, and the module ad hoc."""
    straw_py, python_up, _why = upstream
    straw_note = None
    cached = cached_bytecode_env()
    uncached = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    uncached.pop("PYTHONPYCACHEPREFIX", None)
    c = controller(release, name="users%s" % release.replace(".", ""), port=port)
    try:
        token = mint_token(c.jwt_key, "slurm", lifetime=3600)
        env, env_uncached = dict(cached, SLURM_JWT=token), dict(uncached, SLURM_JWT=token)
        out = {name: os.path.join(work, "%s-%s" % (name, release))
               for name in ("given", "repeat", "uncached", "first", "pyz", "straw")}

        def command(name, program, *extra, python=sys.executable):
            # Each contestant remembers versions in its own directory (--state-dir), so that
            # "first" can forget them and the others keep theirs.
            state = ["--state-dir", out[name]] if program != straw_py else []
            return [python, program, c.server] + list(extra) + ["--auth", "jwt", "-o", out[name]] + state
        argv = dict(given=command("given", STRAW, release), repeat=command("repeat", STRAW),
                    uncached=command("uncached", os.path.join(tree, "bin", "straw")),
                    first=command("first", STRAW), pyz=command("pyz", pyz))
        for name in ("given", "repeat", "first", "pyz"):  # warm: bytecode, remembered versions
            run_process(argv[name], env)
        run_process(argv["uncached"], env_uncached)
        if not os.path.exists(os.path.join(out["repeat"], VERSIONS_FILE)):
            raise RuntimeError("bin/straw remembered no version in %s" % out["repeat"])
        contestants = dict(floor=whole([sys.executable, "-c", "pass"], env),
                           given=whole(argv["given"], env), repeat=whole(argv["repeat"], env),
                           uncached=whole(argv["uncached"], env_uncached),
                           first=whole(argv["first"], env, before=lambda: forget(out["first"])),
                           pyz=whole(argv["pyz"], env))
        if straw_py:
            theirs = command("straw", straw_py, release, python=python_up)
            try:
                run_process(theirs, env)
            except RuntimeError as error:  # straw speaks 21.08 and 22.05 only
                straw_note = "cannot fetch from Slurm %s (%s)" % (
                    release, str(error).strip().splitlines()[-1][:100])
            else:
                contestants["straw"] = whole(theirs, env)
                contestants["straw_floor"] = whole([python_up, "-c", "pass"], env)
        medians = interleave(repetitions, **contestants)
        if has_bytecode(tree):
            raise RuntimeError("bytecode was written into %s" % tree)
        return dict(release=release, medians=medians, straw_note=straw_note,
                    adhoc=adhoc(adhoc_repetitions, c, token, work) if adhoc_repetitions
                    else "not run on this controller in a smoke run")
    finally:
        lab.down(c)


def measure(plan):
    """Whole processes as users start them, per lab release, against their floors."""
    upstream = upstream_straw()
    work = tempfile.mkdtemp(prefix="straw-bench-users.")
    try:
        tree, pyz = uncompiled_straw(work), single_file(work)
        rows = [users_release(release, 17530 + 2 * index, plan.repetitions,
                              plan.adhoc_repetitions if release in plan.adhoc_releases else 0,
                              work, tree, pyz, upstream)
                for index, release in enumerate(USER_RELEASES)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "upstream_python": upstream[1], "upstream_why": upstream[2]}


def report(users):
    lines = ["", "## 5. As users meet it (whole commands, small configuration, every lab release)", "",
             "Each figure is the median wall time of one whole process, all started by the same"
             " interpreter (Python %s) in interleaved rounds against the same controller. *given*:"
             " `bin/straw SERVER RELEASE`; *repeat*: no release, the version remembered by an earlier"
             " run (one connection), bytecode cached; *no bytecode*: the same from a copy of the tree"
             " with nothing compiled (`PYTHONDONTWRITEBYTECODE=1`); *first contact*: no release and"
             " nothing remembered (two round trips at most, see the notes); *single file*: the zip"
             " application from `bin/straw-pyz`, no release, repeat; *straw*: upstream straw given"
             " the release, with its own Python 3.10 and that interpreter's `-c pass`."
             % sys.version.split()[0], "",
             "| controller | `-c pass` | given | repeat | no bytecode | first contact | single file"
             " | straw | straw's `-c pass` |", "|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for r in users["rows"]:
        m = r["medians"]
        lines.append("| %s | %s |" % (r["release"], " | ".join(ms(m.get(k)) for k in (
            "floor", "given", "repeat", "uncached", "first", "pyz", "straw", "straw_floor"))))
        if r["straw_note"]:
            notes.append("%s: %s" % (r["release"], r["straw_note"]))
    lines += ["", "Ratios, with the goals of issue 15:", "",
              "| controller | %s |" % " | ".join("%s (goal <= %gx)" % (label, goal)
                                                 for label, _a, _b, goal in USER_RATIOS),
              "|---|%s" % ("---|" * len(USER_RATIOS))]
    for r in users["rows"]:
        m = r["medians"]
        lines.append("| %s | %s |" % (r["release"], " | ".join(
            verdict(m[a] / m[b], goal) if a in m and b in m else "-"
            for _label, a, b, goal in USER_RATIOS)))
    if users["upstream_why"]:
        lines += ["", "Straw not measured: %s." % users["upstream_why"]]
    elif notes:
        lines += ["", "Upstream straw: %s." % "; ".join(notes)]
    lines += ["", "The module, ad hoc: `ansible localhost -m straw.slurm.config_facts -a"
              " '{\"servers\": [...], \"auth\": \"jwt\", \"jwt_token\": \"{{ bench_token }}\"}'"
              " -e @vars.json` (no protocol: negotiated by a first run, then remembered in the"
              " module's versions_cache, as on a host after its first run) vs `ansible localhost -m"
              " ansible.builtin.ping` with the same vars file and environment (goal: at most 1.1x"
              " the ping). *Floor*: `%s`, config_facts with the same imports and arguments"
              " but a main() that returns at once, from a scratch collection: Ansible finds,"
              " parses and ships the same library and the target imports it, and nothing is"
              " fetched." % FLOOR_MODULE, "",
              "| controller | ping | floor | config_facts | floor / ping | config_facts / floor"
              " | config_facts / ping |", "|---|---|---|---|---|---|---|"]
    for r in users["rows"]:
        a = r["adhoc"]
        if isinstance(a, str):
            lines.append("| %s | - | - | - | - | - | not measured: %s |" % (r["release"], a))
        else:
            lines.append("| %s | %.2f s | %.2f s | %.2f s | %.2fx | %.2fx | %s |" % (
                r["release"], a["ping"], a["floor"], a["module"], a["floor"] / a["ping"],
                a["module"] / a["floor"], verdict(a["module"] / a["ping"], 1.1)))
    return lines
