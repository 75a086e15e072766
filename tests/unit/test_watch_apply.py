"""Watcher._apply tells a write that failed from one that had nothing to write: a verified
push whose files could not be written (a full disk) must not be reported as "nothing
changed"."""
from _slurm import watch
from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.client import FetchResult
from _slurm.writer import WriteError


def watcher_parts(outcome):
    """A watcher whose writes end in outcome: the names written, or an exception raised."""
    def fetch(_register):
        raise AssertionError("no fetch expected")

    def write(_result, _prune):
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return watch.WatchOptions("/nowhere", interval=600), fetch, write, JwtCredentials("t")


RESULT = FetchResult([], None, "127.0.0.1:6817", 0, "", [])


def test_a_failed_write_is_none_and_said(capsys):
    full = WriteError("cannot write /nowhere/slurm.conf: no space left on the file system; "
                      "no file was changed")
    watcher = watch.Watcher(*watcher_parts(full))
    assert watcher._apply(RESULT, "push from 127.0.0.1:1", "off") is None
    err = capsys.readouterr().err
    assert "no space left" in err and "the old files stay" in err


def test_nothing_to_write_is_an_empty_list(capsys):
    assert watch.Watcher(*watcher_parts([]))._apply(RESULT, "poll", "off") == []
    assert capsys.readouterr().err == ""


def test_what_was_written_is_named(capsys):
    assert watch.Watcher(*watcher_parts(["slurm.conf"]))._apply(RESULT, "poll", "off") == ["slurm.conf"]
    assert "poll: wrote slurm.conf" in capsys.readouterr().err
