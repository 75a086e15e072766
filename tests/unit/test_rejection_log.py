"""The watcher's log under attack: the first refusal of each kind said in full, the rest of
the minute counted by address and said in one line, no kind ever left unsaid."""
from _slurm.rejection_log import RejectionLog, summary


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def log_with_clock():
    lines, clock = [], Clock()
    return RejectionLog(lines.append, 60.0, clock), lines, clock


def test_the_first_of_a_kind_is_said_and_the_rest_summarised():
    log, lines, clock = log_with_clock()
    for index in range(3000):
        log.refused("garbage", "10.1.2.3", "rejected a connection from 10.1.2.3:%d: junk" % index)
    log.refused("forged", "10.1.2.3", "rejected a push from 10.1.2.3:1: bad MAC")
    assert lines == ["rejected a connection from 10.1.2.3:0: junk", "rejected a push from 10.1.2.3:1: bad MAC"]
    assert log.next_flush() == 1060.0
    clock.now = 1060.0
    log.flush()
    assert lines[2:] == ["2999 connections from 10.1.2.3 refused in the last 60 s (garbage)"]


def test_every_kind_gets_its_line_each_minute_while_it_lasts():
    log, lines, clock = log_with_clock()
    for minute in range(3):
        for second in range(60):
            clock.now = 1000.0 + minute * 60 + second
            log.refused("garbage", "10.0.0.%d" % (second % 3), "junk")
            log.refused("slow", "10.0.0.9", "slow")
    clock.now = 1180.0
    log.flush()
    assert len(lines) == 2 + 3 * 2  # two first lines, then one summary per kind per minute
    assert sum("(garbage" in line for line in lines) == 3 and sum("(slow)" in line for line in lines) == 3


def test_a_quiet_kind_is_forgotten_and_said_in_full_again():
    log, lines, clock = log_with_clock()
    log.refused("slow", "10.0.0.1", "first")
    clock.now += 61
    log.flush()
    assert log.next_flush() is None and lines == ["first"]
    log.refused("slow", "10.0.0.1", "again")
    assert lines == ["first", "again"]


def test_summaries_of_many_addresses_name_the_worst():
    assert summary("garbage", {"10.0.0.1": 3, "10.0.0.2": 400, "::1": 9}, 60) == (
        "412 connections from 3 addresses refused in the last 60 s (garbage; most from 10.0.0.2: 400)")
    assert summary("busy", {"10.0.0.1": 1}, 60) == "1 connection from 10.0.0.1 refused in the last 60 s (busy)"
