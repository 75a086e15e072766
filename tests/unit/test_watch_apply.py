"""Watcher._apply tells a write that failed from one that had nothing to write: a verified
push whose files could not be written (a full disk) must not be reported as "nothing
changed"."""
import types

from _slurm import watch
from _slurm.client import FetchResult
from _slurm.files import WriteError


class Session:
    def __init__(self, outcome):
        self.args = types.SimpleNamespace(interval=600, hint_delay=None, output_dir="/nowhere",
                                          on_change=None)
        self.outcome = outcome

    def write(self, _result, _prune):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


RESULT = FetchResult([], None, "127.0.0.1:6817", 0, "", [])


def test_a_failed_write_is_none_and_said(capsys):
    watcher = watch.Watcher(Session(WriteError("cannot write /nowhere/slurm.conf: no space left "
                                               "on the file system; no file was changed")))
    assert watcher._apply(RESULT, "push from 127.0.0.1:1", "off") is None
    err = capsys.readouterr().err
    assert "no space left" in err and "the old files stay" in err


def test_nothing_to_write_is_an_empty_list(capsys):
    assert watch.Watcher(Session([]))._apply(RESULT, "poll", "off") == []
    assert capsys.readouterr().err == ""


def test_what_was_written_is_named(capsys):
    assert watch.Watcher(Session(["slurm.conf"]))._apply(RESULT, "poll", "off") == ["slurm.conf"]
    assert "poll: wrote slurm.conf" in capsys.readouterr().err
