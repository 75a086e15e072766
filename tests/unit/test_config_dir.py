"""Pruning only what we wrote (_slurm.config_dir): the plan and the manifest it keeps, in a
temporary directory, no root. A package's file, an admin's edit and a file left from before
the manifest are kept and said why; a file we wrote and the controller stopped serving goes;
force removes them all; the first run without a manifest removes nothing; check mode changes
nothing; pushes (prune off) remove nothing and still record what they wrote."""
import os

import pytest

from _slurm import config_dir
from _slurm.config_dir import (EDITED, FORCE, NO_RECORD, NOT_WRITTEN, OFF, OWNED, Kept, apply,
                               kept_message, plan, prune_mode)
from _slurm.manifest import FILE_NAME, digest, load
from _slurm.messages import ConfigFile

SLURM_CONF = ConfigFile("slurm.conf", b"ClusterName=lab\n", True, False)
GRES = ConfigFile("gres.conf", b"# gres\n", True, False)
CGROUP = ConfigFile("cgroup.conf", b"CgroupPlugin=autodetect\n", True, False)


def absent(name):
    return ConfigFile(name, None, False, False)


def run(directory, files, prune=OWNED):
    planned = plan(str(directory), files, prune)
    assert apply(str(directory), planned) is None
    return planned


def names(planned):
    return sorted((c.action, c.name) for c in planned.changes)


def contents(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name != FILE_NAME}


@pytest.fixture
def written(tmp_path):
    """A directory straw.slurm wrote (served: slurm.conf, gres.conf, cgroup.conf) beside a
    package's plugstack.conf, which the controller reports absent."""
    (tmp_path / "plugstack.conf").write_bytes(b"required spank_x.so\n")
    run(tmp_path, [SLURM_CONF, GRES, CGROUP, absent("plugstack.conf")])
    return tmp_path


@pytest.mark.parametrize("value, mode", [
    (True, OWNED), (False, OFF), ("force", FORCE), ("FORCE", FORCE), ("yes", OWNED), ("no", OFF),
    ("true", OWNED), ("False", OFF), ("on", OWNED), ("0", OFF), (1, OWNED), (0, OFF)])
def test_prune_modes_from_what_users_write(value, mode):
    assert prune_mode(value) == mode


@pytest.mark.parametrize("value", ["always", "", None, 2, [True]])
def test_other_prune_values_are_refused(value):
    with pytest.raises(ValueError, match="true, false or force"):
        prune_mode(value)


def test_a_fresh_directory_is_written_and_recorded(tmp_path):
    planned = run(tmp_path, [SLURM_CONF, GRES, absent("topology.conf")])
    assert names(planned) == [("create", "gres.conf"), ("create", "slurm.conf")]
    assert planned.kept == [] and planned.recorded is None
    assert load(str(tmp_path)) == {"slurm.conf": digest(SLURM_CONF.content),
                                   "gres.conf": digest(GRES.content)}
    again = plan(str(tmp_path), [SLURM_CONF, GRES, absent("topology.conf")])
    assert again.changes == [] and again.kept == [] and again.record == again.recorded


def test_the_package_file_the_stopped_file_and_the_edited_file(written):
    (written / "cgroup.conf").write_bytes(b"# edited by the admin\n")
    files = [SLURM_CONF, absent("gres.conf"), absent("cgroup.conf"), absent("plugstack.conf")]
    planned = run(written, files)
    assert names(planned) == [("remove", "gres.conf")]
    assert planned.kept == [Kept("cgroup.conf", EDITED), Kept("plugstack.conf", NOT_WRITTEN)]
    assert contents(written) == {"slurm.conf": SLURM_CONF.content,
                                 "cgroup.conf": b"# edited by the admin\n",
                                 "plugstack.conf": b"required spank_x.so\n"}
    # the edit stays an edit on later runs; gres.conf is forgotten with its file
    assert load(str(written)) == {"slurm.conf": digest(SLURM_CONF.content),
                                  "cgroup.conf": digest(CGROUP.content)}
    assert plan(str(written), files).kept == planned.kept


def test_an_edit_undone_makes_the_file_ours_again(written):
    (written / "cgroup.conf").write_bytes(b"# edited\n")
    files = [SLURM_CONF, absent("cgroup.conf")]
    assert plan(str(written), files).kept == [Kept("cgroup.conf", EDITED)]
    run(written, files)
    (written / "cgroup.conf").write_bytes(CGROUP.content)
    assert names(plan(str(written), files)) == [("remove", "cgroup.conf")]


def test_force_removes_all_three(written):
    (written / "cgroup.conf").write_bytes(b"# edited by the admin\n")
    files = [SLURM_CONF, absent("gres.conf"), absent("cgroup.conf"), absent("plugstack.conf")]
    planned = run(written, files, FORCE)
    assert names(planned) == [("remove", "cgroup.conf"), ("remove", "gres.conf"),
                              ("remove", "plugstack.conf")]
    assert planned.kept == []
    assert contents(written) == {"slurm.conf": SLURM_CONF.content}
    assert load(str(written)) == {"slurm.conf": digest(SLURM_CONF.content)}


def test_prune_off_removes_nothing_and_keeps_the_record_of_what_stays(written):
    planned = run(written, [SLURM_CONF, absent("gres.conf"), absent("plugstack.conf")], OFF)
    assert planned.changes == [] and planned.kept == []
    assert set(contents(written)) == {"slurm.conf", "gres.conf", "cgroup.conf", "plugstack.conf"}
    # gres.conf is still ours: a later prune removes it (cgroup.conf, never mentioned, stays)
    later = run(written, [SLURM_CONF, absent("gres.conf"), absent("plugstack.conf")])
    assert names(later) == [("remove", "gres.conf")]
    assert later.kept == [Kept("plugstack.conf", NOT_WRITTEN)]
    assert (written / "cgroup.conf").read_bytes() == CGROUP.content


def test_a_push_of_a_subset_keeps_the_record_of_the_others(written):
    newer = ConfigFile("slurm.conf", b"ClusterName=lab\n# newer\n", True, False)
    run(written, [newer], OFF)
    assert load(str(written)) == {"slurm.conf": digest(newer.content),
                                  "gres.conf": digest(GRES.content),
                                  "cgroup.conf": digest(CGROUP.content)}


def test_a_directory_from_before_the_manifest_loses_nothing_on_its_first_run(tmp_path):
    (tmp_path / "slurm.conf").write_bytes(b"old\n")
    (tmp_path / "gres.conf").write_bytes(GRES.content)
    (tmp_path / "topology.conf").write_bytes(b"written by an older straw.slurm\n")
    files = [SLURM_CONF, GRES, absent("topology.conf")]
    planned = run(tmp_path, files)
    assert names(planned) == [("update", "slurm.conf")]
    assert planned.kept == [Kept("topology.conf", NO_RECORD)]
    assert (tmp_path / "topology.conf").exists()
    assert load(str(tmp_path)) == {"slurm.conf": digest(SLURM_CONF.content),
                                   "gres.conf": digest(GRES.content)}
    assert plan(str(tmp_path), files).kept == [Kept("topology.conf", NOT_WRITTEN)]


def test_a_damaged_manifest_is_no_manifest(written):
    with open(str(written / FILE_NAME), "ab") as handle:
        handle.write(b"junk")
    planned = plan(str(written), [SLURM_CONF, absent("gres.conf")])
    assert planned.changes == [] and planned.kept == [Kept("gres.conf", NO_RECORD)]


def test_check_mode_is_a_plan_that_changes_nothing(written):
    before = contents(written)
    with open(str(written / FILE_NAME), "rb") as handle:
        record = handle.read()
    planned = plan(str(written), [SLURM_CONF, absent("gres.conf"), absent("plugstack.conf")])
    assert names(planned) == [("remove", "gres.conf")]
    assert contents(written) == before
    with open(str(written / FILE_NAME), "rb") as handle:
        assert handle.read() == record


def test_an_unchanged_run_does_not_rewrite_the_manifest(written):
    mtime = os.stat(str(written / FILE_NAME)).st_mtime_ns
    planned = run(written, [SLURM_CONF, GRES, CGROUP, absent("plugstack.conf")])
    assert planned.record == planned.recorded
    assert os.stat(str(written / FILE_NAME)).st_mtime_ns == mtime


def test_a_manifest_that_cannot_be_saved_is_a_warning(written, monkeypatch):
    def full(*_args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(config_dir.manifest, "save", full)
    planned = plan(str(written), [SLURM_CONF, absent("gres.conf")])
    warning = apply(str(written), planned)
    assert not (written / "gres.conf").exists()
    assert warning.startswith("cannot record what straw.slurm wrote in %s: no space left"
                              % (written / FILE_NAME))


def test_kept_message_names_each_file_why_and_the_way_to_force():
    one = kept_message("/etc/slurm", [Kept("plugstack.conf", NOT_WRITTEN)], True, "prune=force")
    assert one == ("would keep /etc/slurm/plugstack.conf (not written by straw.slurm): the "
                   "controller does not serve it (prune=force removes it)")
    two = kept_message("/etc/slurm", [Kept("a", EDITED), Kept("b", NOT_WRITTEN)], False, "--prune=force")
    assert two.startswith("kept /etc/slurm/a (changed since straw.slurm wrote it), /etc/slurm/b (")
    assert two.endswith("does not serve them (--prune=force removes them)")
