"""4. Ansible: the role on a fleet of local hosts, per-host fetch and fetch_from, against
ansible.builtin.copy of the same files; and the Ansible commands and environment that
section 5 runs too."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple, Tuple

import lab
from straw_bench.measuring import CACHE, ROOT, controller, rpc_count

TITLE = "Ansible"


class Plan(NamedTuple):
    host_counts: Tuple[int, ...]  # fleet sizes, one inventory each
    repetitions: int              # rounds of the three plays, per fleet


FULL = Plan(host_counts=(1, 50), repetitions=2)
SMOKE = Plan(host_counts=(2,), repetitions=1)


def collections_path():
    base = os.path.join(CACHE, "collections")
    os.makedirs(os.path.join(base, "ansible_collections", "straw"), exist_ok=True)
    link = os.path.join(base, "ansible_collections", "straw", "slurm")
    if not os.path.islink(link) or os.readlink(link) != ROOT:  # another checkout ran before
        temporary = "%s.%d" % (link, os.getpid())
        os.symlink(ROOT, temporary)
        os.replace(temporary, link)
    return base


def ansible_tool(name):
    """An Ansible command beside this interpreter (a venv), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name)


def ansible_env():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
                ANSIBLE_PYTHON_INTERPRETER=sys.executable)


def measure(plan):
    playbook_bin = ansible_tool("ansible-playbook")
    if not playbook_bin:
        return {"skipped": "ansible-playbook not found"}
    c = controller("22.05", name="fleet", port=17590)
    work = tempfile.mkdtemp()
    source = os.path.join(work, "source")
    os.makedirs(source)
    for name in os.listdir(c.conf_dir):
        if name.endswith(".conf"):
            shutil.copy(os.path.join(c.conf_dir, name), source)
    env = dict(ansible_env(), ANSIBLE_FORKS="10", ANSIBLE_HOST_KEY_CHECKING="0")
    role_vars = dict(configless_servers=[c.server], configless_auth="jwt", configless_jwt_key=c.jwt_key,
                     configless_protocol="22.05", configless_packages=False, configless_services=False)
    plays = {
        "copy (baseline)": """
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.file: {path: "{{ configless_conf_dir }}", state: directory, mode: "0755"}
    - ansible.builtin.copy: {src: "%s/", dest: "{{ configless_conf_dir }}/", mode: "0644"}
""" % source,
        "role, per-host fetch": "- hosts: all\n  gather_facts: false\n  roles: [{role: straw.slurm.configless, vars: %s}]\n"
                                % json.dumps(role_vars),
        "role, fetch_from": "- hosts: all\n  gather_facts: false\n  roles: [{role: straw.slurm.configless, vars: %s}]\n"
                            % json.dumps(dict(role_vars, configless_fetch_from="h1")),
    }
    rows = []
    try:
        for hosts in plan.host_counts:
            inventory = os.path.join(work, "inventory-%d.ini" % hosts)
            with open(inventory, "w") as handle:
                for index in range(1, hosts + 1):
                    handle.write("h%d ansible_connection=local configless_conf_dir=%s/trees/%d/h%d\n"
                                 % (index, work, hosts, index))
            results = {}
            for _round in range(plan.repetitions):
                for name, text in plays.items():
                    shutil.rmtree(os.path.join(work, "trees"), ignore_errors=True)
                    path = os.path.join(work, "play.yml")
                    with open(path, "w") as handle:
                        handle.write(text)
                    before = rpc_count(c)
                    start = time.perf_counter()
                    subprocess.run([playbook_bin, "-i", inventory, path], env=env, check=True,
                                   stdout=subprocess.DEVNULL)
                    results.setdefault(name, []).append((time.perf_counter() - start, rpc_count(c) - before))
            base = statistics.median(t for t, _rpcs in results["copy (baseline)"])
            for name, samples in results.items():
                seconds = statistics.median(t for t, _rpcs in samples)
                rows.append(dict(hosts=hosts, play=name, seconds=seconds, ratio=seconds / base,
                                 rpcs=samples[-1][1]))
    finally:
        shutil.rmtree(work)
        lab.down(c)
    return {"rows": rows}


def report(ansible):
    lines = ["", "## 4. Ansible (the role vs ansible.builtin.copy of the same files)", ""]
    if "skipped" in ansible:
        lines.append("Not measured: %s." % ansible["skipped"])
        return lines
    lines += ["| hosts | play | wall time | vs copy | RPCs served |", "|---|---|---|---|---|"]
    for r in ansible["rows"]:
        lines.append("| %d | %s | %.1f s | %.2fx | %d |" % (r["hosts"], r["play"], r["seconds"],
                                                            r["ratio"], r["rpcs"]))
    return lines
