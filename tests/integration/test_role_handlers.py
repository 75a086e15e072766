"""The role and the play around it: the handlers a play notified before the role run when they
would have without it (the role flushes none), and a munge key that would change is told in
check mode with a diff that never holds the key."""
import base64
import json
import os


from roles_support import mode, recap

MARKER_PLAY = """
- hosts: localhost
  gather_facts: false
  handlers:
    - name: The play's own handler
      ansible.builtin.lineinfile:
        path: %(log)s
        line: handler ran
        create: true
        mode: "0600"
  tasks:
    - name: Something of the play's that changed
      ansible.builtin.command: "true"
      changed_when: true
      notify: The play's own handler

    - name: The role
      ansible.builtin.import_role:
        name: straw.slurm.configless
      vars: %(vars)s

    - name: Look for what the play's handler leaves
      ansible.builtin.stat:
        path: %(log)s
        get_checksum: false
      register: handler_trace

    - name: Keep what was seen right after the role
      ansible.builtin.copy:
        content: "{{ {'handler_ran_during_the_role': handler_trace.stat.exists} | to_json }}"
        dest: %(seen)s
        mode: "0600"
"""


def role_vars(controller, tmp_path, key):
    return dict(configless_servers=[controller.server], configless_conf_dir=str(tmp_path / "slurm"),
                configless_munge_socket=controller.munge_socket,
                configless_munge_key=base64.b64encode(key).decode(),
                configless_munge_key_path=str(tmp_path / "munge" / "munge.key"),
                configless_packages=False, configless_services=False)


def controller_key(controller):
    with open(controller.munge_key, "rb") as handle:
        return handle.read()


def key_forms(key):
    return [base64.b64encode(key).decode(), key.hex(), base64.b64encode(key[:48]).decode()[:64]]


def test_the_plays_handlers_are_not_flushed_by_the_role(controllers, run_playbook, tmp_path, munge_user):
    """The play notifies its handler, then the role installs a new munge key (which used to
    flush every handler notified so far): the play's handler still runs once, at the end."""
    c = controllers["26.05"]
    log, seen = tmp_path / "handler.log", tmp_path / "seen.json"
    proc = run_playbook(MARKER_PLAY % dict(log=log, seen=seen,
                                           vars=json.dumps(role_vars(c, tmp_path, controller_key(c)))))
    assert "Install the munge key" in proc.stdout
    assert json.loads(seen.read_text()) == {"handler_ran_during_the_role": False}, proc.stdout[-4000:]
    assert log.read_text() == "handler ran\n"
    assert (tmp_path / "slurm" / "slurm.conf").read_bytes() == c.expected("slurm.conf")
    assert (tmp_path / "munge" / "munge.key").read_bytes() == controller_key(c)


def test_check_mode_tells_a_key_change_without_the_key(controllers, run_playbook, tmp_path, munge_user):
    c = controllers["26.05"]
    installed = controller_key(c)
    play_text = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: straw.slurm.configless
      vars: %s
"""
    run_playbook(play_text % json.dumps(role_vars(c, tmp_path, installed)))
    key_path = tmp_path / "munge" / "munge.key"
    assert mode(key_path) == 0o400

    # A new key: check mode says the key would be replaced, and changes nothing.
    rotated = os.urandom(1024)
    audit = run_playbook(play_text % json.dumps(role_vars(c, tmp_path, rotated)), "--check", "--diff", "-vvv")
    assert recap(audit.stdout)["localhost"][1] >= 1, audit.stdout[-4000:]
    assert "munge.key: a key, owner munge, group munge, mode 0400" in audit.stdout
    assert "munge.key: a different key, owner munge, group munge, mode 0400" in audit.stdout
    for key in (installed, rotated):
        for form in key_forms(key):
            assert form not in audit.stdout
    assert key_path.read_bytes() == installed and mode(key_path) == 0o400

    # The same key with a mode that drifted: only the mode would change.
    key_path.chmod(0o440)
    drift = run_playbook(play_text % json.dumps(role_vars(c, tmp_path, installed)), "--check", "--diff")
    assert "munge.key: a key, owner munge, group munge, mode 0440" in drift.stdout
    assert "munge.key: the same key, owner munge, group munge, mode 0400" in drift.stdout
    assert mode(key_path) == 0o440
    for form in key_forms(installed):
        assert form not in drift.stdout

    # In step again: nothing would change, and no diff of the key.
    key_path.chmod(0o400)
    in_step = run_playbook(play_text % json.dumps(role_vars(c, tmp_path, installed)), "--check", "--diff")
    assert recap(in_step.stdout)["localhost"][1] == 0, in_step.stdout[-3000:]
    assert "munge.key:" not in in_step.stdout
