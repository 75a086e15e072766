# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bin/straw's command line: a table of options and a small parser over it.

argparse would cost more start-up than the whole fetch from a local controller (it pulls in
re and gettext), so the command parses its own: long options with a value after a space or
'=', short options clustered (-vv) or with the value attached (-oDIR), positionals anywhere,
and '--', after which everything is the command to exec once the files are written.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # never true at run time: typing costs milliseconds to import
    from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple


class UsageError(Exception):
    """The command line is wrong: one line on stderr, exit 2."""


FLAG, COUNT = "flag", "count"


class OptionalValue(tuple):  # type: ignore[type-arg]
    """The choices of an option whose value is optional: bare, it means the first; a value
    comes only after '=' (--prune=force), so that the next word stays a server."""


class Option:
    """One option, declared once: the parser, --help, the checks and the error wording all
    read it. kind is FLAG, COUNT, a tuple of choices (an OptionalValue's value may be left
    out), str, or a function that converts the value (raising ValueError with the reason).
    help is its --help text, line by line. auth is the --auth it belongs to; watch marks
    the options only --watch takes; library is the library's (and the modules') name for
    the same setting, which errors from the library speak of."""

    __slots__ = ("names", "kind", "default", "metavar", "help", "auth", "watch", "library")

    def __init__(self, names: "Tuple[str, ...]", kind: "Any", default: "Any", metavar: str,
                 help: str, auth: "Optional[str]" = None, watch: bool = False,
                 library: "Optional[str]" = None) -> None:
        self.names, self.kind, self.default, self.metavar = names, kind, default, metavar
        self.help, self.auth, self.watch, self.library = help, auth, watch, library

    @property
    def attribute(self) -> str:
        return self.names[-1].lstrip("-").replace("-", "_")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("%r is not a number of seconds" % text) from None
    if not 0 < value < float("inf"):
        raise ValueError("must be more than 0 seconds, got %s" % text)
    return value


def _seconds_or_zero(text: str) -> float:
    try:
        if float(text) == 0:
            return 0.0
    except ValueError:
        pass
    return _seconds(text)


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError("must be a whole number of at least 1, got %s" % text)
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError("must be a port number from 1 to 65535, got %s" % text)
    return int(text)


_AUTHS = ("munge", "jwt", "slurm")
#: --help's sections, in order, each with its options.
SECTIONS: "List[Tuple[str, List[Option]]]" = [
    ("options", [
        Option(("-h", "--help"), FLAG, False, "", "show this help and exit"),
        Option(("--auth",), _AUTHS, "jwt", "{munge,jwt,slurm}",
               "how to authenticate (default: jwt, as in the original straw; the\n"
               "token comes from SLURM_JWT)"),
        Option(("-o", "--output-dir"), str, ".", "DIR",
               "where the files go; created when missing (default: .)"),
        Option(("-v", "--verbose"), COUNT, 0, "",
               "-v tells what is done, -vv adds details; never secrets"),
        Option(("-V", "--version"), FLAG, False, "", "print straw's version and exit"),
        Option(("-l", "--list"), FLAG, False, "",
               "list the Slurm releases straw speaks and exit"),
    ]),
    ("straw.slurm additions", [
        Option(("--request",), ("slurmd", "client"), "slurmd", "{slurmd,client}",
               "slurmd: the full set, as slurmd gets it (default); client: the\n"
               "files commands need"),
        Option(("--jwt-key",), str, None, "PATH",
               "the cluster's jwt_hs256.key: mint a short-lived token from it\n"
               "instead of reading SLURM_JWT (needs PyJWT)", auth="jwt", library="jwt_key"),
        Option(("--jwt-user",), str, None, "NAME",
               "user named in a token minted from --jwt-key (default: slurm)", auth="jwt",
               library="jwt_user"),
        Option(("--jwt-token-file",), str, None, "PATH",
               "read the token from this file, again before every fetch (mounted\n"
               "secrets rotate)", auth="jwt", library="jwt_token_file"),
        Option(("--munge-socket",), str, None, "PATH",
               "munged's socket for --auth munge (default:\n"
               "/run/munge/munge.socket.2); no pymunge needed", auth="munge",
               library="munge_socket"),
        Option(("--munge-key",), str, None, "PATH",
               "make MUNGE credentials from the cluster's munge.key, with no munged\n"
               "(the key must be readable by its owner only)", auth="munge",
               library="munge_key_path"),
        Option(("--slurm-key",), str, None, "PATH",
               "slurm.key for --auth slurm (Slurm 23.11+; needs PyJWT)", auth="slurm",
               library="slurm_key"),
        Option(("--slurm-jwks",), str, None, "PATH",
               "slurm.jwks for --auth slurm, instead of --slurm-key", auth="slurm",
               library="slurm_jwks"),
        Option(("--slurm-kid",), str, None, "KID",
               "the kid of the slurm.jwks key to sign with", auth="slurm", library="slurm_kid"),
        Option(("--sack-socket",), str, None, "PATH",
               "a sack socket (sackd, slurmd) that signs --auth slurm tokens", auth="slurm",
               library="sack_socket"),
        Option(("--timeout",), _seconds, 10.0, "SECONDS",
               "seconds allowed for each controller (default: 10); one that took\n"
               "the connection but did not answer gets twice as long next pass,\n"
               "and the only one given, all that --retry-for has left"),
        Option(("--retries",), _at_least_one, 1, "N",
               "passes over the list of controllers (default: 1)"),
        Option(("--retry-for",), _seconds_or_zero, 0.0, "SECONDS",
               "keep trying that long when no controller answers (a controller\n"
               "down, busy or stalled by a fleet booting at once), waiting longer\n"
               "each time, at random (default: 0, no more than --retries passes)"),
        Option(("--tls-ca",), str, None, "PATH",
               "the cluster's CA certificate: speak TLS (Slurm 25.05+ TLSType=tls)",
               library="tls_ca"),
        Option(("--tls-check-hostname",), FLAG, False, "",
               "also check the certificate's host name (Slurm checks the chain)"),
        Option(("--tls-cert",), str, None, "PATH",
               "a client certificate, for controllers that ask for one"),
        Option(("--tls-key",), str, None, "PATH", "the private key of --tls-cert"),
        Option(("--srv-domain",), str, None, "DOMAIN",
               "with no server: look up _slurmctld._tcp.DOMAIN (needs dnspython)"),
        # config_dir's OFF, OWNED and FORCE (not imported: --help and -V load no more than
        # this module)
        Option(("--prune",), OptionalValue(("owned", "force")), "off", "[=force]",
               "remove files the controller reports as gone, but only those\n"
               "straw wrote and that are unchanged (it records them in\n"
               "DIR/.straw-slurm-manifest); others, such as a package's\n"
               "plugstack.conf or an edited copy, are kept and named in one\n"
               "warning; a first run without that record removes nothing.\n"
               "--prune=force removes every file reported gone: the way to take\n"
               "over a directory. (The original straw never removed anything.)"),
        Option(("--check",), FLAG, False, "",
               "compare with the output directory and write nothing; name each\n"
               "file that differs and exit 1 (with --prune, files it would keep\n"
               "are named too, and do not count)"),
        Option(("--owner",), str, None, "USER",
               "owner of the files written (name or uid; default: whoever runs\n"
               "straw)"),
        Option(("--group",), str, None, "GROUP", "group of the files written (name or gid)"),
    ]),
    ("staying current (--watch)", [
        Option(("--watch",), FLAG, False, "",
               "after the first fetch, keep the directory current until stopped:\n"
               "register for the controller's pushes (Slurm 23.11+) as sackd does,\n"
               "and poll"),
        Option(("--listen-port",), _port, None, "PORT",
               "where pushes arrive (default: SlurmdPort of the fetched slurm.conf)",
               watch=True),
        Option(("--listen-address",), str, None, "ADDR",
               "the address to listen on (default: all)", watch=True),
        Option(("--listen-cert",), str, None, "PATH",
               "certificate for pushes over TLS (with --tls-ca; chained to the\n"
               "cluster's CA, as sackd_cert_file)", watch=True),
        Option(("--listen-key",), str, None, "PATH",
               "its private key (as sackd_cert_key_file)", watch=True),
        Option(("--interval",), _seconds, None, "SECONDS",
               "poll this often, with jitter (default: 300 with pushes, 60 without)",
               watch=True),
        Option(("--hint-delay",), _seconds_or_zero, None, "SECONDS",
               "at most this random delay before fetching on a push that cannot be\n"
               "verified (default: 5; it widens while the controller is slow)",
               watch=True),
        Option(("--start-delay",), _seconds_or_zero, None, "SECONDS",
               "when the directory holds a slurm.conf already, make the first\n"
               "fetch at a random moment within SECONDS, so that a fleet booting\n"
               "together spreads out (default: 0, at once)", watch=True),
        Option(("--slurm-user",), str, None, "USER",
               "whose pushes are trusted, by name or uid (default: SlurmUser of the\n"
               "fetched slurm.conf; give the uid where this host lacks that user)",
               watch=True),
        Option(("--on-change",), str, None, "COMMAND",
               "run COMMAND (through /bin/sh) once per applied change, with\n"
               "STRAW_CHANGED (changed names, space-separated) and STRAW_DIR",
               watch=True),
        Option(("--state-dir",), str, None, "DIR",
               "where the negotiated versions are remembered (default:\n"
               "straw.slurm's cache, /var/cache/straw-slurm for root)"),
    ]),
]
OPTIONS: "List[Option]" = [option for _title, options in SECTIONS for option in options]
#: Every spelling of every option -> its declaration.
_SPEC: "Dict[str, Option]" = {name: option for option in OPTIONS for name in option.names}
_ALIASES = {name: option.names[-1] for option in OPTIONS for name in option.names
            if not name.startswith("--")}
#: The options of each --auth, and those only --watch takes.
OPTIONS_OF_AUTH: "Dict[str, Tuple[str, ...]]" = {
    auth: tuple(o.attribute for o in OPTIONS if o.auth == auth) for auth in _AUTHS}
_WATCH_ONLY = tuple(option.attribute for option in OPTIONS if option.watch)
#: The library's option names as this command says them: errors and warnings from the
#: library name their option as data (errors.worded), and each front end in its own words.
COMMAND_WORDS = dict({option.library: option.names[-1] for option in OPTIONS if option.library},
                     jwt_token="SLURM_JWT")


def _label(option: Option) -> str:
    label = "  " + ", ".join(option.names)
    if option.metavar.startswith("["):
        return label + option.metavar
    return label + (" " + option.metavar if option.metavar else "")


def help_text() -> str:
    """--help, from the table, made when asked for: each option's label, and its text in a
    column of its own (on the next line when the label is too long for that column)."""
    column = 25
    out = [_USAGE]
    for title, options in SECTIONS:
        out.append("\n%s:\n" % title)
        for option in options:
            lines = option.help.split("\n")
            label = _label(option)
            if len(label) <= column - 2:
                out.append(label.ljust(column) + lines[0] + "\n")
            else:
                out.append(label + "\n" + " " * column + lines[0] + "\n")
            out.extend(" " * column + line + "\n" for line in lines[1:])
    out.append(_EPILOGUE)
    return "".join(out)


_USAGE = """\
usage: straw [options] [SERVER[:PORT] ...] [RELEASE] [-- COMMAND [ARG ...]]

Fetch Slurm's configuration files from slurmctld, as a configless slurmd does, and write
them into a directory. A drop-in for the original straw.

positional arguments:
  SERVER                 slurmctld as host, host:port or [ipv6]:port (port 6817 by
                         default), tried in order; none: SLURM_CONF_SERVER
                         (host[:port][,host[:port]...]), else DNS SRV discovery
  RELEASE                a last argument such as 22.05 is the Slurm release to speak, as
                         in the original straw; without it the version is negotiated
  -- COMMAND [ARG ...]   once the files are written, exec COMMAND (it becomes the process,
                         PID 1 in a container, and its exit status is straw's); it gets
                         SLURM_CONF when the directory is not /etc/slurm
"""

_EPILOGUE = """
With --auth jwt (the default, as in the original straw) the token is read from the SLURM_JWT
environment variable, from --jwt-token-file, or minted from --jwt-key; it is never taken from
the command line, where ps would show it. Exit status: 0 success (with --check: nothing
differs), 1 with --check when a file differs, 2 on any error, 130 when interrupted; with
-- COMMAND, COMMAND's own.
"""


class Arguments:
    """The parsed command line: one attribute per option, plus server, release and command."""

    def __init__(self) -> None:
        for option in OPTIONS:
            setattr(self, option.attribute, option.default)
        self.server: "List[str]" = []
        self.release: "Optional[str]" = None
        self.command: "List[str]" = []
        self.uid: "Optional[int]" = None
        self.gid: "Optional[int]" = None

    def __getattr__(self, name: str) -> "Any":  # for mypy: the attributes come from _SPEC
        raise AttributeError(name)


def is_release(text: str) -> bool:
    """22.05 and the like: straw's trailing version argument, never a server."""
    return (len(text) == 5 and text[2] == "." and text[:2].isdigit() and text[3:].isdigit()
            and text.isascii())


def _take(args: Arguments, option: str, value: "Optional[str]", rest: "List[str]") -> None:
    attribute, kind = _SPEC[option].attribute, _SPEC[option].kind
    if isinstance(kind, OptionalValue):
        if value is not None and value not in kind:
            raise UsageError("%s: invalid choice %r (give %s alone, or %s)" % (
                option, value, option, ", ".join("%s=%s" % (option, v) for v in kind[1:])))
        setattr(args, attribute, kind[0] if value is None else value)
        return
    if kind in (FLAG, COUNT):
        if value is not None:
            raise UsageError("%s takes no value" % option)
        setattr(args, attribute, True if kind == FLAG else getattr(args, attribute) + 1)
        return
    if value is None:
        if not rest:
            raise UsageError("%s needs a value" % option)
        value = rest.pop(0)
    if isinstance(kind, tuple):
        if value not in kind:
            raise UsageError("%s: invalid choice %r (choose from %s)"
                             % (option, value, ", ".join(kind)))
        setattr(args, attribute, value)
    elif kind is str:
        setattr(args, attribute, value)
    else:
        convert: "Callable[[str], Any]" = kind
        try:
            setattr(args, attribute, convert(value))
        except ValueError as error:
            raise UsageError("%s: %s" % (option, error)) from None


def parse(argv: "Sequence[str]") -> Arguments:
    """The command line as Arguments; UsageError with one line for anything wrong."""
    args = Arguments()
    rest = list(argv)
    positionals: "List[str]" = []
    unknown: "List[str]" = []
    while rest:
        word = rest.pop(0)
        if word == "--":
            args.command = rest
            break
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            if name not in _SPEC:
                unknown.append(word)
                continue
            _take(args, name, value if equals else None, rest)
        elif word.startswith("-") and len(word) > 1 and not word[1].isdigit():
            index = 1
            while index < len(word):
                option = _ALIASES.get("-" + word[index])
                if option is None:
                    unknown.append(word)
                    break
                kind = _SPEC[option].kind
                if kind in (FLAG, COUNT):
                    _take(args, option, None, rest)
                    index += 1
                    continue
                attached = word[index + 1:]
                _take(args, option, attached or None, rest)
                break
        else:
            positionals.append(word)
    if unknown:
        raise UsageError("unrecognized arguments: %s" % " ".join(unknown))
    releases = [p for p in positionals if is_release(p)]
    if len(releases) > 1:
        raise UsageError("more than one release given (%s); give at most one, last"
                         % ", ".join(releases))
    args.release = releases[0] if releases else None
    args.server = [p for p in positionals if not is_release(p)]
    return args


def check(args: Arguments) -> None:
    """Combinations that cannot work, refused before anything is done."""
    for auth, options in OPTIONS_OF_AUTH.items():
        for option in options:
            if getattr(args, option) is not None and args.auth != auth:
                raise UsageError("--%s is for --auth %s, not --auth %s"
                                 % (option.replace("_", "-"), auth, args.auth))
    exclusive = (("jwt_key", "jwt_token_file", "give either --jwt-key or --jwt-token-file"),
                 ("slurm_key", "slurm_jwks", "give either --slurm-key or --slurm-jwks"),
                 ("munge_key", "munge_socket", "give either --munge-key or --munge-socket"),
                 ("srv_domain", "server", "give servers or --srv-domain"))
    for first, second, message in exclusive:
        if getattr(args, first) and getattr(args, second):
            raise UsageError(message + ", not both")
    if args.jwt_user is not None and args.jwt_key is None:
        raise UsageError("--jwt-user names the user of a token minted from --jwt-key; "
                         "give --jwt-key too")
    if args.sack_socket and (args.slurm_key or args.slurm_jwks):
        raise UsageError("give either --sack-socket or a key, not both")
    if args.slurm_kid and args.slurm_key:
        raise UsageError("--slurm-kid chooses a key of --slurm-jwks, not of --slurm-key")
    for option, needs in (("tls_check_hostname", "tls_ca"), ("tls_cert", "tls_ca"),
                          ("tls_key", "tls_cert"), ("listen_cert", "tls_ca"),
                          ("listen_key", "listen_cert"), ("listen_cert", "listen_key")):
        if getattr(args, option) and not getattr(args, needs):
            raise UsageError("--%s needs --%s" % (option.replace("_", "-"),
                                                  needs.replace("_", "-")))
    if not args.watch:
        for option in _WATCH_ONLY:
            if getattr(args, option) is not None:
                raise UsageError("--%s is for --watch" % option.replace("_", "-"))
    elif args.check or args.command:
        raise UsageError("--watch keeps running: it cannot be combined with %s"
                         % ("--check" if args.check else "a command after --"))
    elif args.retry_for:
        raise UsageError("--retry-for is for a single fetch: --watch keeps trying by itself, "
                         "waiting longer each time")
    if args.command and args.check:
        raise UsageError("--check writes nothing, so there is nothing to run a command after")


def servers_from_environment(value: str) -> "List[str]":
    """SLURM_CONF_SERVER, Slurm's own variable: host[:port][,host[:port]...]."""
    return [part.strip() for part in value.split(",") if part.strip()]


def owner_and_group(args: Arguments) -> None:
    if args.owner is None and args.group is None:
        return  # the common case, with nothing to import
    from .accounts import UnknownAccount, owner_ids
    try:
        args.uid, args.gid = owner_ids(args.owner, args.group)
    except UnknownAccount as unknown:
        raise UsageError("%s: %s" % ("--owner" if unknown.what == "user" else "--group",
                                     unknown)) from None


def environment_servers() -> "List[str]":
    return servers_from_environment(os.environ.get("SLURM_CONF_SERVER", ""))
