"""bin/straw's own command-line parser (_slurm.cli): option forms, positionals, the trailing
release, '--' and the command after it, the errors a user sees, the combinations check()
refuses, SLURM_CONF_SERVER, and that importing it stays cheap (fixtures/startup.py)."""
import os

import pytest

from _slurm import cli
from _slurm.cli import UsageError, check, parse, servers_from_environment
from fixtures import startup

LIBRARY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "plugins", "module_utils")


def refused(argv, *words):
    """The UsageError parse (then check) raises for argv, checked to contain words."""
    with pytest.raises(UsageError) as info:
        check(parse(argv))
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    assert "\n" not in message  # one line on stderr
    return message


# -- defaults and option forms ----------------------------------------------------------

def test_defaults():
    args = parse([])
    check(args)
    assert args.auth == "jwt" and args.output_dir == "." and args.verbose == 0
    assert args.timeout == 10.0 and args.retries == 1 and args.request == "slurmd"
    assert args.server == [] and args.release is None and args.command == []
    assert args.version is False and args.watch is False and args.listen_port is None
    assert args.jwt_key is None and args.munge_key is None and args.hint_delay is None


@pytest.mark.parametrize("argv", [["--output-dir", "/tmp/x"], ["--output-dir=/tmp/x"],
                                  ["-o", "/tmp/x"], ["-o/tmp/x"]])
def test_output_dir_in_every_form(argv):
    assert parse(argv).output_dir == "/tmp/x"


def test_long_option_with_equals_keeps_later_equals_in_the_value():
    assert parse(["--on-change=echo a=b", "--watch"]).on_change == "echo a=b"


def test_empty_value_after_equals_is_a_value():
    assert parse(["--output-dir="]).output_dir == ""


def test_short_cluster_counts_and_flags():
    args = parse(["-vv", "-l"])
    assert args.verbose == 2 and args.list is True
    assert parse(["-v", "--verbose", "-v"]).verbose == 3
    args = parse(["-lvV"])
    assert args.list and args.version and args.verbose == 1


def test_short_cluster_ending_with_an_option_that_takes_a_value():
    args = parse(["-vo", "out"])
    assert args.verbose == 1 and args.output_dir == "out"
    args = parse(["-vvoout"])
    assert args.verbose == 2 and args.output_dir == "out"


def test_help_and_version_flags():
    assert parse(["-h"]).help is True
    assert parse(["--help"]).help is True
    assert parse(["-V"]).version is True
    assert "usage: straw" in cli.help_text()


def test_value_may_start_with_a_dash():
    # The option takes the next word whatever it is, as getopt does.
    assert parse(["-o", "-weird"]).output_dir == "-weird"


# -- positionals, the trailing release, '--' -----------------------------------------

def test_positionals_anywhere():
    args = parse(["ctl1", "-v", "ctl2:6817", "--auth", "munge", "[::1]:7000"])
    assert args.server == ["ctl1", "ctl2:6817", "[::1]:7000"]
    assert args.verbose == 1 and args.auth == "munge" and args.release is None


def test_trailing_release_is_not_a_server():
    args = parse(["ctl1", "ctl2", "22.05"])
    assert args.server == ["ctl1", "ctl2"] and args.release == "22.05"
    args = parse(["26.05"])
    assert args.server == [] and args.release == "26.05"


@pytest.mark.parametrize("word", ["10.0.0.1", "22.5", "2205", "22.055", "a2.05", "22.0a",
                                  "ctl:22", "22:05"])
def test_words_like_a_release_that_are_servers(word):
    args = parse([word])
    assert args.server == [word] and args.release is None


def test_is_release():
    assert cli.is_release("22.05") and cli.is_release("99.99")
    assert not cli.is_release("22.05.1") and not cli.is_release("٢٢.٠٥")


def test_two_releases_are_refused():
    message = refused(["ctl", "22.05", "23.02"], "more than one release", "22.05", "23.02")
    assert message.startswith("more than one release")


def test_dash_dash_ends_the_options_and_the_rest_is_the_command():
    args = parse(["-v", "ctl", "--", "slurmd", "-D", "--conf-server", "x", "--", "22.05"])
    assert args.command == ["slurmd", "-D", "--conf-server", "x", "--", "22.05"]
    assert args.server == ["ctl"] and args.release is None and args.verbose == 1
    check(args)


def test_nothing_after_dash_dash_is_no_command():
    args = parse(["ctl", "--"])
    assert args.command == [] and args.server == ["ctl"]


def test_lone_dash_and_negative_numbers_are_positionals():
    assert parse(["-"]).server == ["-"]
    assert parse(["-5"]).server == ["-5"]


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, unknown", [
    (["--nope"], "--nope"), (["--nope=1"], "--nope=1"), (["-x"], "-x"), (["-vx"], "-vx"),
    (["--out", "d"], "--out"),  # no abbreviations
    (["--verbos"], "--verbos"),
])
def test_unknown_options(argv, unknown):
    assert refused(argv) == "unrecognized arguments: %s" % unknown


def test_all_unknown_options_are_named_at_once():
    refused(["--one", "ctl", "--two"], "unrecognized arguments: --one --two")


@pytest.mark.parametrize("argv, option", [(["--auth"], "--auth"), (["-o"], "--output-dir"), (["ctl", "--timeout"], "--timeout"),
                                          (["--jwt-key"], "--jwt-key")])
def test_missing_values(argv, option):
    refused(argv, "needs a value", option)


def test_flags_take_no_value():
    refused(["--verbose=2"], "--verbose takes no value")
    refused(["--watch=yes"], "--watch takes no value")


@pytest.mark.parametrize("argv, attribute, value", [
    (["--auth", "munge"], "auth", "munge"), (["--auth=slurm"], "auth", "slurm"),
    (["--request", "client"], "request", "client"),
])
def test_choices(argv, attribute, value):
    assert getattr(parse(argv), attribute) == value


def test_prune_alone_owned_or_forced():
    assert parse([]).prune == "off"
    assert parse(["--prune"]).prune == "owned"
    assert parse(["--prune=force"]).prune == "force"
    args = parse(["--prune", "force"])  # a value only after '=': here force is a server
    assert args.prune == "owned" and args.server == ["force"]
    refused(["--prune=all"], "--prune: invalid choice 'all'", "--prune alone, or --prune=force")


def test_invalid_choice_names_the_choices():
    refused(["--auth", "kerberos"], "--auth: invalid choice 'kerberos'", "munge, jwt, slurm")
    refused(["--request=all"], "--request: invalid choice", "slurmd, client")
    refused(["--auth", "JWT"], "invalid choice")  # case matters, as in argparse


@pytest.mark.parametrize("value", ["0", "-1", "0.0", "nan", "inf", "ten", ""])
def test_timeout_must_be_positive_seconds(value):
    refused(["--timeout", value], "--timeout:")


def test_timeout_takes_fractions():
    assert parse(["--timeout=0.5"]).timeout == 0.5
    assert parse(["--timeout", "30"]).timeout == 30.0


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "x", ""])
def test_retries_must_be_at_least_one(value):
    refused(["--retries", value], "--retries:")


def test_retries():
    assert parse(["--retries", "3"]).retries == 3


@pytest.mark.parametrize("value", ["70000", "65536", "0", "-1", "http", ""])
def test_listen_port_range(value):
    refused(["--watch", "--listen-port", value], "--listen-port:", "1 to 65535")


def test_listen_port():
    args = parse(["--watch", "--listen-port=6818"])
    check(args)
    assert args.listen_port == 6818


def test_hint_delay_may_be_zero():
    assert parse(["--hint-delay", "0"]).hint_delay == 0.0
    assert parse(["--hint-delay", "2.5"]).hint_delay == 2.5
    refused(["--hint-delay", "-1"], "--hint-delay:")


def test_hint_delay_zero_in_any_spelling():
    assert parse(["--hint-delay", "0.00"]).hint_delay == 0.0
    assert parse(["--hint-delay", "00"]).hint_delay == 0.0


# -- check(): combinations refused --------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["--munge-key", "k", "--auth", "jwt"], ["--munge-key is for --auth munge, not --auth jwt"]),
    (["--munge-key", "k"], ["--munge-key is for --auth munge"]),  # jwt is the default
    (["--jwt-key", "k", "--auth", "munge"], ["--jwt-key is for --auth jwt, not --auth munge"]),
    (["--slurm-key", "k", "--auth", "munge"], ["--slurm-key is for --auth slurm"]),
    (["--sack-socket", "s"], ["--sack-socket is for --auth slurm"]),
    (["--watch", "--check"], ["--watch keeps running", "--check"]),
    (["--watch", "ctl", "--", "sleep", "1"], ["--watch keeps running", "a command after --"]),
    (["--check", "--", "true"], ["--check writes nothing"]),
    (["--listen-port", "6818"], ["--listen-port is for --watch"]),
    (["--interval", "60"], ["--interval is for --watch"]),
    (["--hint-delay", "0"], ["--hint-delay is for --watch"]),
    (["--slurm-user", "slurm"], ["--slurm-user is for --watch"]),
    (["--on-change", "true"], ["--on-change is for --watch"]),
    (["--tls-cert", "c", "--tls-key", "k"], ["--tls-cert needs --tls-ca"]),
    (["--tls-check-hostname"], ["--tls-check-hostname needs --tls-ca"]),
    (["--tls-ca", "ca", "--tls-key", "k"], ["--tls-key needs --tls-cert"]),
    (["--watch", "--listen-cert", "c", "--listen-key", "k"], ["--listen-cert needs --tls-ca"]),
    (["--watch", "--tls-ca", "ca", "--listen-cert", "c"], ["--listen-cert needs --listen-key"]),
    (["--watch", "--tls-ca", "ca", "--listen-key", "k"], ["--listen-key needs --listen-cert"]),
    (["--jwt-key", "k", "--jwt-token-file", "t"], ["either --jwt-key or --jwt-token-file"]),
    (["--auth", "slurm", "--slurm-key", "k", "--slurm-jwks", "j"], ["either --slurm-key or --slurm-jwks"]),
    (["--auth", "munge", "--munge-key", "k", "--munge-socket", "s"], ["either --munge-key or --munge-socket"]),
    (["--srv-domain", "example.org", "ctl"], ["give servers or --srv-domain"]),
    (["--jwt-user", "alice"], ["--jwt-user", "give --jwt-key too"]),
    (["--auth", "slurm", "--sack-socket", "s", "--slurm-key", "k"], ["--sack-socket or a key"]),
    (["--auth", "slurm", "--slurm-kid", "a", "--slurm-key", "k"], ["--slurm-kid chooses a key of --slurm-jwks"]),
])
def test_check_refuses(argv, words):
    refused(argv, *words)


@pytest.mark.parametrize("argv", [
    ["--auth", "munge", "--munge-key", "/etc/munge/munge.key", "ctl"],
    ["--auth", "slurm", "--slurm-jwks", "j", "--slurm-kid", "a"],
    ["--jwt-key", "k", "--jwt-user", "alice"],
    ["--tls-ca", "ca", "--tls-cert", "c", "--tls-key", "k", "--tls-check-hostname"],
    ["--watch", "--listen-port", "6820", "--interval", "30", "--hint-delay", "0", "--slurm-user", "64030",
     "--on-change", "true", "--tls-ca", "ca", "--listen-cert", "c", "--listen-key", "k"],
    ["--srv-domain", "example.org", "22.05"],
    ["ctl", "-o", "/etc/slurm", "--", "slurmd", "-D"],
    ["--check", "--prune", "ctl"],
    ["--check", "--prune=force", "ctl"],
])
def test_check_accepts(argv):
    check(parse(argv))


# -- servers from the environment -----------------------------------------------------------

def test_servers_from_environment():
    assert servers_from_environment("a,b:1,[::1]:2") == ["a", "b:1", "[::1]:2"]
    assert servers_from_environment(" a , ,b ,") == ["a", "b"]
    assert servers_from_environment("") == []


def test_environment_servers(monkeypatch):
    monkeypatch.setenv("SLURM_CONF_SERVER", "ctl1:6817,ctl2")
    assert cli.environment_servers() == ["ctl1:6817", "ctl2"]
    monkeypatch.delenv("SLURM_CONF_SERVER")
    assert cli.environment_servers() == []


def test_owner_and_group_by_number_and_name():
    args = parse(["--owner", "0", "--group", "root"])
    cli.owner_and_group(args)
    assert args.uid == 0 and args.gid == 0
    args = parse(["--owner", "no-such-user-here"])
    with pytest.raises(UsageError, match="--owner: no user 'no-such-user-here'"):
        cli.owner_and_group(args)


# -- start-up cost ------------------------------------------------------------------------

def test_import_does_not_load_anything_heavy():
    status, imported = startup.imported(["-c", "import _slurm.cli"],
                                        dict(os.environ, PYTHONPATH=LIBRARY))
    assert status == 0 and "_slurm.cli" in imported
    assert not startup.HEAVY & imported, sorted(startup.HEAVY & imported)
