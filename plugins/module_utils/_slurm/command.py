# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one-shot command bin/straw: the original straw's arguments, the library's fetch, and
the role's way of writing files.

It lives here rather than in bin/straw so that its bytecode is cached like the rest of the
library: a script is compiled again on every run. It imports only what a given run needs,
so that --help, -V and -l cost little more than the interpreter's own start-up.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # never true at run time: typing costs milliseconds to import
    import argparse
    from typing import List, NoReturn, Sequence, Union

    from .auth.credentials import Credentials
    from .transport import Address

EXIT_OK, EXIT_DIFFERS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
FALLBACK_VERSION = "0.1.0"
INSTALL_HINTS = {
    "PyJWT": "pip install PyJWT",
    "dnspython": "pip install dnspython, or name the controllers on the command line",
}
CHECK_LABELS = {"create": "missing", "update": "differs", "remove": "would remove"}
# The library names its options as the Ansible module does; the command says them its way.
OPTION_NAMES = {"munge_socket": "--munge-socket", "jwt_key": "--jwt-key", "jwt_user": "--jwt-user",
                "jwt_token": "SLURM_JWT", "slurm_key": "--slurm-key", "slurm_jwks": "--slurm-jwks",
                "slurm_kid": "--slurm-kid", "sack_socket": "--sack-socket"}
OPTIONS_OF_AUTH = {
    "jwt": ("jwt_key", "jwt_user"),
    "slurm": ("slurm_key", "slurm_jwks", "slurm_kid", "sack_socket"),
    "munge": ("munge_socket",),
}


class UsageError(Exception):
    """The command line is wrong: one line on stderr, exit 2."""


class Fatal(Exception):
    """Something outside the library went wrong: one line on stderr, exit 2."""


# --- paths and versions: no library needed ----------------------------------------------

def collection_version(root: str) -> str:
    """MANIFEST.json of an installed collection, else galaxy.yml of a checkout."""
    try:
        with open(os.path.join(root, "MANIFEST.json"), "rb") as handle:
            import json
            version = json.loads(handle.read().decode("utf-8"))["collection_info"]["version"]
        if isinstance(version, str) and version:
            return version
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(root, "galaxy.yml"), "rb") as handle:
            for raw in handle:
                line = raw.decode("utf-8", "replace")
                if line.startswith("version:"):
                    value = line.split(":", 1)[1].split(" #", 1)[0].strip().strip("'\"")
                    if value:
                        return value
    except OSError:
        pass
    return FALLBACK_VERSION


def print_version(root: str) -> int:
    sys.stdout.write("straw (straw.slurm) %s\n" % collection_version(root))
    return EXIT_OK


def print_releases() -> int:
    from .versions import SUPPORTED_RELEASES
    sys.stdout.write("".join(release + "\n" for release in SUPPORTED_RELEASES))
    return EXIT_OK


# --- the command line ---------------------------------------------------------------------

def terminal_width() -> int:
    """What shutil.get_terminal_size() says, without importing shutil on every run."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):  # no stdout, not a terminal
            columns = 80
    return max(columns - 2, 40)


def is_release(text: str) -> bool:
    """22.05 and the like: straw's trailing version argument, never a server."""
    import re  # argparse has imported it already
    return re.match(r"\d\d\.\d\d\Z", text, re.ASCII) is not None


def build_parser() -> "argparse.ArgumentParser":
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> "NoReturn":
            raise UsageError(message)

    class Formatter(argparse.HelpFormatter):
        def __init__(self, prog: str) -> None:
            super().__init__(prog, max_help_position=30, width=terminal_width())

    def positive_seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a number of seconds" % text) from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError("must be more than 0 seconds, got %s" % text)
        return value

    def at_least_one(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None
        if value < 1:
            raise argparse.ArgumentTypeError("must be at least 1, got %s" % text)
        return value

    parser = Parser(
        prog="straw",
        usage="straw [options] [SERVER[:PORT] ...] [RELEASE]",
        formatter_class=Formatter,
        description="Fetch Slurm's configuration files from slurmctld, as a configless slurmd "
                    "does, and write them into a directory. A drop-in for the original straw.",
        epilog="With --auth jwt (the default, as in the original straw) the token is read from "
               "the SLURM_JWT environment variable, or minted from --jwt-key; it is never taken "
               "from the command line, where ps would show it. "
               "Exit status: 0 success (with --check: nothing differs), 1 with --check when a "
               "file differs, 2 on any error, 130 when interrupted.")
    parser.add_argument("server", nargs="*", metavar="SERVER",
                        help="slurmctld as host, host:port or [ipv6]:port (port 6817 by "
                             "default), tried in order; none: DNS SRV discovery. A last "
                             "argument such as 22.05 is the Slurm release to speak, as in the "
                             "original straw; without it the protocol version is negotiated")
    parser.add_argument("--auth", choices=("munge", "jwt", "slurm"), default="jwt",
                        help="how to authenticate (default: jwt, as in the original straw; "
                             "the token comes from SLURM_JWT)")
    parser.add_argument("-o", "--output-dir", default=".", metavar="DIR",
                        help="where the files go; created when missing (default: .)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="-v tells what is done, -vv adds details; never secrets")
    parser.add_argument("-V", "--version", action="store_true",
                        help="print straw's version and exit")
    parser.add_argument("-l", "--list", action="store_true",
                        help="list the Slurm releases straw speaks and exit")

    new = parser.add_argument_group("straw.slurm additions")
    new.add_argument("--request", choices=("slurmd", "client"), default="slurmd",
                     help="slurmd: the full set, as slurmd gets it (default); client: the "
                          "files commands need")
    new.add_argument("--jwt-key", metavar="PATH",
                     help="the cluster's jwt_hs256.key: mint a short-lived token from it "
                          "instead of reading SLURM_JWT (needs PyJWT)")
    new.add_argument("--jwt-user", metavar="NAME",
                     help="user named in a token minted from --jwt-key (default: slurm)")
    new.add_argument("--slurm-key", metavar="PATH",
                     help="slurm.key for --auth slurm (Slurm 23.11+; needs PyJWT)")
    new.add_argument("--slurm-jwks", metavar="PATH",
                     help="slurm.jwks for --auth slurm, instead of --slurm-key")
    new.add_argument("--slurm-kid", metavar="KID",
                     help="the kid of the slurm.jwks key to sign with")
    new.add_argument("--sack-socket", metavar="PATH",
                     help="a sack socket (sackd, slurmd) that signs --auth slurm tokens for us")
    new.add_argument("--munge-socket", metavar="PATH",
                     help="munged's socket for --auth munge (default: "
                          "/run/munge/munge.socket.2); no pymunge needed")
    new.add_argument("--timeout", type=positive_seconds, default=10.0, metavar="SECONDS",
                     help="seconds allowed for each controller (default: 10)")
    new.add_argument("--retries", type=at_least_one, default=1, metavar="N",
                     help="passes over the list of controllers (default: 1)")
    new.add_argument("--tls-ca", metavar="PATH",
                     help="the cluster's CA certificate: speak TLS (Slurm 25.05+ TLSType=tls)")
    new.add_argument("--tls-check-hostname", action="store_true",
                     help="also check the certificate's host name (Slurm checks the chain only)")
    new.add_argument("--srv-domain", metavar="DOMAIN",
                     help="with no server: look up _slurmctld._tcp.DOMAIN (needs dnspython)")
    new.add_argument("--prune", action="store_true",
                     help="remove files the controller reports as gone (the original straw "
                          "never removed anything)")
    new.add_argument("--check", action="store_true",
                     help="compare with the output directory and write nothing; name each "
                          "file that differs and exit 1")
    new.add_argument("--owner", metavar="USER",
                     help="owner of the files written (name or uid; default: whoever runs straw)")
    new.add_argument("--group", metavar="GROUP",
                     help="group of the files written (name or gid)")
    return parser


def parse_arguments(argv: "Sequence[str]") -> "argparse.Namespace":
    args = build_parser().parse_args(list(argv))
    positionals = list(args.server)
    releases = [p for p in positionals if is_release(p)]
    if len(releases) > 1:
        raise UsageError("more than one release given (%s); give at most one, last"
                         % ", ".join(releases))
    args.release = releases[0] if releases else None
    args.server = [p for p in positionals if not is_release(p)]
    if args.version or args.list:
        return args
    for auth, options in OPTIONS_OF_AUTH.items():
        for option in options:
            if getattr(args, option) is not None and args.auth != auth:
                raise UsageError("--%s is for --auth %s, not --auth %s"
                                 % (option.replace("_", "-"), auth, args.auth))
    if args.jwt_user is not None and args.jwt_key is None:
        raise UsageError("--jwt-user names the user of a token minted from --jwt-key; "
                         "give --jwt-key too")
    if args.slurm_key and args.slurm_jwks:
        raise UsageError("give either --slurm-key or --slurm-jwks, not both")
    if args.sack_socket and (args.slurm_key or args.slurm_jwks):
        raise UsageError("give either --sack-socket or a key, not both")
    if args.slurm_kid and args.slurm_key:
        raise UsageError("--slurm-kid chooses a key of --slurm-jwks, not of --slurm-key")
    if args.tls_check_hostname and not args.tls_ca:
        raise UsageError("--tls-check-hostname needs --tls-ca")
    if args.srv_domain and args.server:
        raise UsageError("give servers or --srv-domain, not both")
    args.uid = user_id(args.owner) if args.owner is not None else None
    args.gid = group_id(args.group) if args.group is not None else None
    return args


def user_id(name: str) -> int:
    if name.isdigit():
        return int(name)
    import pwd
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise UsageError("--owner: no user %r on this host" % name) from None


def group_id(name: str) -> int:
    if name.isdigit():
        return int(name)
    import grp
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise UsageError("--group: no group %r on this host" % name) from None


# --- the fetch ------------------------------------------------------------------------------

def say(args: "argparse.Namespace", level: int, message: str) -> None:
    """-v (1) and -vv (2) messages, on stderr. Callers never pass a secret."""
    if args.verbose >= level:
        sys.stderr.write("straw: %s\n" % message)


def credentials(args: "argparse.Namespace") -> "Credentials":
    from .auth.choose import credentials_for
    if args.auth == "jwt" and not args.jwt_key:
        if not os.environ.get("SLURM_JWT", "").strip():
            raise Fatal("auth jwt needs a token: set SLURM_JWT (scontrol token prints one), "
                        "or give --jwt-key with the cluster's jwt_hs256.key to mint one")
        say(args, 1, "auth jwt: the token in SLURM_JWT")
    elif args.auth == "jwt":
        say(args, 1, "auth jwt: a token for %s minted from %s%s"
            % (args.jwt_user or "slurm", args.jwt_key,
               " (SLURM_JWT is ignored)" if os.environ.get("SLURM_JWT") else ""))
    elif args.auth == "munge":
        say(args, 1, "auth munge: munged at %s"
            % (args.munge_socket or "the default socket"))
    else:
        say(args, 1, "auth slurm: %s" % (
            "signed by the sack socket %s" % args.sack_socket if args.sack_socket
            else "signed with %s" % (
                args.slurm_key or args.slurm_jwks or "the default slurm.jwks or slurm.key")))
    return credentials_for(
        args.auth, munge_socket=args.munge_socket, jwt_key=args.jwt_key,
        jwt_user=args.jwt_user or "slurm", slurm_key=args.slurm_key,
        slurm_jwks=args.slurm_jwks, slurm_kid=args.slurm_kid, sack_socket=args.sack_socket,
        timeout=min(args.timeout, 10.0))


def controllers(args: "argparse.Namespace") -> "List[Union[str, Address]]":
    if args.server:
        return list(args.server)
    from .discovery import lookup, srv_name
    say(args, 1, "no server given: looking up %s in DNS" % srv_name(args.srv_domain))
    found = lookup(args.srv_domain, (), args.timeout)
    say(args, 1, "controllers from DNS SRV: %s" % ", ".join(str(s) for s in found))
    return list(found)


def run(root: str, args: "argparse.Namespace") -> int:
    if args.version:
        return print_version(root)
    if args.list:
        return print_releases()
    from . import files as writer
    from .client import fetch

    auth = credentials(args)
    servers = controllers(args)
    tls = None
    if args.tls_ca:
        from .tls import client_context
        tls = client_context(args.tls_ca, args.tls_check_hostname)
        say(args, 1, "TLS, chain checked against %s%s"
            % (args.tls_ca, " and host name" if args.tls_check_hostname else ""))
    say(args, 2, "asking %s for the %s set%s" % (
        ", ".join(str(s) for s in servers), args.request,
        " at Slurm %s" % args.release if args.release else ", protocol negotiated"))
    result = fetch(servers, auth, request=args.request, protocol=args.release or "auto",
                   timeout=args.timeout, retries=args.retries, tls=tls)
    for warning in result.warnings:
        sys.stderr.write("straw: warning: %s\n" % warning)
    present = [f for f in result.files if f.exists]
    say(args, 1, "%s speaks Slurm %s (protocol %d) and sent %d files, %d reported absent"
        % (result.controller, result.release, result.protocol_version >> 8, len(present),
           len(result.files) - len(present)))
    for file in result.files:
        say(args, 2, "  %s: %s" % (file.name, "%d bytes, mode %04o" % (
            len(file.content or b""), writer.wanted_mode(file)) if file.exists else "absent"))
    if result.spool_dir:
        say(args, 2, "SlurmdSpoolDir is %s" % result.spool_dir)

    directory = args.output_dir
    changes = writer.plan(directory, result.files, args.prune, args.uid, args.gid)
    if args.check:
        attributes = ("owner, group or mode differs" if args.uid is not None or args.gid is not None
                      else "mode differs")
        for change in changes:
            label = CHECK_LABELS.get(change.action, attributes)
            sys.stdout.write("%s: %s\n" % (label, change.name))
            if args.verbose:
                sys.stdout.write(writer.describe(directory, change))
        say(args, 1, "%d differences from %s" % (len(changes), directory)
            if changes else "%s is up to date" % directory)
        return EXIT_DIFFERS if changes else EXIT_OK

    if writer.ensure_directory(directory, args.uid, args.gid):
        say(args, 1, "created %s" % directory)
    writer.apply(directory, changes, args.uid, args.gid)
    removed = [c.name for c in changes if c.action == "remove"]
    written = [c.name for c in changes if c.action != "remove"]
    say(args, 1, "%s: %d written%s, %d removed%s, %d unchanged" % (
        directory, len(written), " (%s)" % ", ".join(written) if written else "",
        len(removed), " (%s)" % ", ".join(removed) if removed else "",
        len(present) - len(written)))
    return EXIT_OK


def command_words(message: str) -> str:
    """The library's option names (munge_socket) as this command's (--munge-socket), where
    they stand as words: never inside a path such as /etc/slurm/slurm_key."""
    import re
    return re.sub(r"(?<=[\s(,])(%s)(?=[\s),;:]|$)" % "|".join(OPTION_NAMES),
                  lambda match: OPTION_NAMES[match.group(1)], message)


def explain(error: "BaseException", verbose: int) -> str:
    """One line for any failure; the library's messages never hold a secret."""
    from .errors import MissingLibraryError, SlurmConfigError
    if isinstance(error, MissingLibraryError):
        return "%s is required %s (%s)" % (error.library, error.purpose,
                                           INSTALL_HINTS.get(error.library, "install it"))
    if isinstance(error, (Fatal, SlurmConfigError)):
        return command_words(str(error))  # a FetchError names every server tried and why
    if verbose >= 2:
        import traceback
        traceback.print_exc()
    return "unexpected error: %s: %s" % (type(error).__name__, error)


def main(root: str, argv: "Sequence[str]") -> int:
    """Runs the command for the collection at root (where bin/ sits beside plugins/)."""
    argv = list(argv)
    verbose = 0
    try:
        # The answers that need no parsing at all skip argparse's import, too.
        if argv in (["-V"], ["--version"]):
            return print_version(root)
        if argv in (["-l"], ["--list"]):
            return print_releases()
        args = parse_arguments(argv)
        verbose = args.verbose
        status = run(root, args)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # straw -l | head -1: the reader left, nothing to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except UsageError as error:
        sys.stderr.write("straw: %s (straw --help shows the options)\n" % error)
        return EXIT_ERROR
    except Exception as error:  # every failure ends in one line, never in a traceback
        sys.stderr.write("straw: %s\n" % explain(error, verbose))
        return EXIT_ERROR
