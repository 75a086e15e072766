"""Tokens, keys and munge credentials never appear in module results, -vvv output, error
messages, process arguments or leftover temporary files."""
import base64
import json
import os
import threading

import pytest

from _slurm.auth.jwt import mint_token
from lab import up


def key_forms(data):
    return [data.hex(), base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode().rstrip("=")]


class ArgvWatcher:
    """Samples every process's command line while a run is in flight."""

    def __init__(self):
        self.seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as handle:
                            self.seen.add(handle.read().replace(b"\0", b" ").decode("utf-8", "replace"))
                    except OSError:
                        pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def everything_left_in(directory):
    out = []
    for base, _dirs, files in os.walk(directory):
        for name in files:
            try:
                with open(os.path.join(base, name), "rb") as handle:
                    out.append(handle.read().decode("utf-8", "replace"))
            except OSError:
                pass
    return "\n".join(out)


@pytest.fixture(scope="module")
def slurm_controller(controllers):
    return up("24.11", name="slurmauth", port=controllers["24.11"].port + 20, mode="slurm")


def test_no_secret_anywhere(controllers, slurm_controller, run_collecting, tmp_path):
    c24, c22 = controllers["24.11"], controllers["22.05"]
    token = mint_token(c24.jwt_key, "slurm")
    wrong = mint_token(c24.jwt_key, "slurm")[:-4] + "AAAA"
    with open(c24.jwt_key, "rb") as handle:
        jwt_key = handle.read()
    with open(slurm_controller.slurm_key, "rb") as handle:
        slurm_key = handle.read()
    temp = tmp_path / "ansible-tmp"
    tasks = {
        "token": dict(servers=[c24.server], auth="jwt", jwt_token=token),
        "bad token": dict(servers=[c22.server], auth="jwt", jwt_token=wrong, timeout=2),
        "jwt key": dict(servers=[c24.server], auth="jwt", jwt_key=c24.jwt_key),
        "munge": dict(servers=[c24.server], auth="munge", munge_socket=c24.munge_socket),
        "slurm key": dict(servers=[slurm_controller.server], auth="slurm", slurm_key=slurm_controller.slurm_key),
    }
    body = "".join("""
    - name: %s
      straw.slurm.config_facts: %s
      register: r
      ignore_errors: true
    - ansible.builtin.set_fact: {results: "{{ results + [r] }}"}
""" % (name, json.dumps(args)) for name, args in tasks.items())
    temp_dirs = {"ANSIBLE_LOCAL_TEMP": str(temp / "local"), "ANSIBLE_REMOTE_TEMP": str(temp / "remote")}
    with ArgvWatcher() as watcher:
        results, proc = run_collecting(body, "-vvv", env=temp_dirs)
    assert [bool(r.get("failed")) for r in results] == [False, True, False, False, False]
    haystacks = {"output": proc.stdout, "results": json.dumps(results),
                 "temporary files": everything_left_in(str(temp)),
                 "process arguments": "\n".join(watcher.seen)}
    for where, text in haystacks.items():
        for secret in [token, token.split(".")[2], wrong, wrong.split(".")[2], "MUNGE:"] \
                + key_forms(jwt_key) + key_forms(slurm_key):
            assert secret not in text, (where, secret[:12])
    assert len(watcher.seen) > 5  # the watcher did see the run's processes


def test_error_messages_carry_no_token(controllers):
    from _slurm.auth.jwt_credentials import JwtCredentials
    from _slurm.client import fetch
    from _slurm.errors import SlurmConfigError
    token = mint_token(controllers["22.05"].jwt_key, "slurm")[:-4] + "AAAA"
    with pytest.raises(SlurmConfigError) as info:
        fetch([controllers["22.05"].server], JwtCredentials(token), timeout=2)
    assert token not in str(info.value) and token not in repr(info.value)
    assert token not in repr(JwtCredentials(token))
