# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
    from typing import List, Optional, Sequence, Tuple, Union

    from .auth.credentials import Credentials
    from .cli import Arguments
    from .client import FetchResult
    from .config_dir import Plan
    from .transport import Address
    from .watch import Children

from .cli import UsageError, help_text  # noqa: E402  (after TYPE_CHECKING, as in every module)

EXIT_OK, EXIT_DIFFERS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
FALLBACK_VERSION = "1.0.0"
CHECK_LABELS = {"create": "missing", "update": "differs", "remove": "would remove"}


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


# --- the fetch ------------------------------------------------------------------------------

def say(args: "Arguments", level: int, message: str) -> None:
    """-v (1) and -vv (2) messages, on stderr. Callers never pass a secret."""
    if args.verbose >= level:
        sys.stderr.write("straw: %s\n" % message)


def credentials(args: "Arguments") -> "Credentials":
    from .auth.choose import credentials_for
    if args.auth == "jwt" and args.jwt_token_file:
        say(args, 1, "auth jwt: the token in %s, read again before every fetch" % args.jwt_token_file)
    elif args.auth == "jwt" and not args.jwt_key:
        if not os.environ.get("SLURM_JWT", "").strip():
            from .command_errors import Fatal
            raise Fatal("auth jwt needs a token: set SLURM_JWT (scontrol token prints one), "
                        "give --jwt-token-file, or --jwt-key with the cluster's "
                        "jwt_hs256.key to mint one")
        say(args, 1, "auth jwt: the token in SLURM_JWT")
    elif args.auth == "jwt":
        say(args, 1, "auth jwt: a token for %s minted from %s%s"
            % (args.jwt_user or "slurm", args.jwt_key,
               " (SLURM_JWT is ignored)" if os.environ.get("SLURM_JWT") else ""))
    elif args.auth == "munge":
        say(args, 1, "auth munge: %s" % (
            "credentials made from the key %s, no munged" % args.munge_key if args.munge_key
            else "munged at %s" % (args.munge_socket or "the default socket")))
    else:
        say(args, 1, "auth slurm: %s" % (
            "signed by the sack socket %s" % args.sack_socket if args.sack_socket
            else "signed with %s" % (
                args.slurm_key or args.slurm_jwks or "the default slurm.jwks or slurm.key")))
    warnings: "List[str]" = []
    chosen = credentials_for(
        args.auth, munge_socket=args.munge_socket, munge_key=args.munge_key,
        jwt_key=args.jwt_key, jwt_user=args.jwt_user or "slurm",
        jwt_token_file=args.jwt_token_file, slurm_key=args.slurm_key,
        slurm_jwks=args.slurm_jwks, slurm_kid=args.slurm_kid, sack_socket=args.sack_socket,
        timeout=min(args.timeout, 10.0), slurmd_set=args.request == "slurmd",
        warnings=warnings)
    if warnings:
        from .command_errors import command_words
        for warning in warnings:
            sys.stderr.write("straw: warning: %s\n" % command_words(warning))
    return chosen


def controllers(args: "Arguments") -> "List[Union[str, Address]]":
    """The servers given, else SLURM_CONF_SERVER (as slurmd and the commands read it), else
    DNS SRV records, as slurmd looks for them."""
    if args.server:
        return list(args.server)
    if not args.srv_domain:
        from .cli import environment_servers
        servers = environment_servers()
        if servers:
            say(args, 1, "controllers from SLURM_CONF_SERVER: %s" % ", ".join(servers))
            return list(servers)
    from .discovery import lookup, srv_name
    say(args, 1, "no server given: looking up %s in DNS" % srv_name(args.srv_domain))
    found = lookup(args.srv_domain, (), args.timeout)
    say(args, 1, "controllers from DNS SRV: %s" % ", ".join(str(s) for s in found))
    return list(found)


def tls_context(args: "Arguments") -> "Optional[object]":
    if not args.tls_ca:
        return None
    from .tls import client_context
    context = client_context(args.tls_ca, args.tls_check_hostname)
    if args.tls_cert:
        from .tls import load_client_certificate
        load_client_certificate(context, args.tls_cert, args.tls_key)
    say(args, 1, "TLS, chain checked against %s%s"
        % (args.tls_ca, " and host name" if args.tls_check_hostname else ""))
    return context


class Session:
    """What one run keeps between fetches: the library's fetch session (credentials,
    servers, TLS, remembered versions), built from the command line, and how it writes."""

    def __init__(self, args: "Arguments") -> None:
        from .client import Session as FetchSession
        from .known_versions import default_path
        from .transport import Network
        self.args = args
        self.fetcher = FetchSession(
            controllers(args), credentials(args), request=args.request,
            protocol=args.release or "auto", timeout=args.timeout, retries=args.retries,
            retry_for=args.retry_for,
            network=Network(tls_context(args), source=args.listen_address or None),  # type: ignore[arg-type]
            versions_path=default_path(args.state_dir), remember=not args.check)
        self.kept_said: "Optional[List[str]]" = None

    @property
    def credentials(self) -> "Credentials":
        return self.fetcher.credentials

    def fetch(self, register: "Optional[int]" = None) -> "FetchResult":
        """One fetch; the version that worked is remembered for the next run."""
        args = self.args
        say(args, 2, "asking %s for the %s set%s" % (
            ", ".join(str(s) for s in self.fetcher.servers), args.request,
            " at Slurm %s" % args.release if args.release else ", protocol negotiated"))
        return self.fetcher.fetch(register=register)

    def write(self, result: "FetchResult", prune: str) -> "List[str]":
        """Writes what differs (see write); files kept from pruning are named in one warning,
        and a watcher that keeps finding the same ones says so once."""
        from .config_dir import kept_message
        planned, warning = write(self.args, result, prune)
        if warning:
            warn(warning)
        kept = [k.name for k in planned.kept]
        if prune != "off" and kept != self.kept_said:
            if kept:
                warn(kept_message(self.args.output_dir, planned.kept, False, "--prune=force"))
            self.kept_said = kept
        return [c.name for c in planned.changes]


def warn(message: str) -> None:
    sys.stderr.write("straw: warning: %s\n" % message)


def report(args: "Arguments", result: "FetchResult") -> None:
    from .versions import number_of
    from .writer import wanted_mode
    for warning in result.warnings:
        sys.stderr.write("straw: warning: %s\n" % warning)
    present = [f for f in result.files if f.exists]
    say(args, 1, "%s speaks Slurm %s (protocol %d) and sent %d files, %d reported absent"
        % (result.controller, result.release, number_of(result.protocol_version), len(present),
           len(result.files) - len(present)))
    for file in result.files:
        say(args, 2, "  %s: %s" % (file.name, "%d bytes, mode %04o" % (
            len(file.content or b""), wanted_mode(file)) if file.exists else "absent"))
    if result.spool_dir:
        say(args, 2, "SlurmdSpoolDir is %s" % result.spool_dir)


def write(args: "Arguments", result: "FetchResult", prune: str) -> "Tuple[Plan, Optional[str]]":
    """Writes what differs and removes what prune allows (config_dir: off, owned or force);
    the plan carried out, and a warning when what was written could not be recorded."""
    from . import config_dir
    from .writer import ensure_directory
    directory = args.output_dir
    planned = config_dir.plan(directory, result.files, prune, args.uid, args.gid)
    if ensure_directory(directory, args.uid, args.gid):
        say(args, 1, "created %s" % directory)
    warning = config_dir.apply(directory, planned, args.uid, args.gid)
    changes = planned.changes
    removed = [c.name for c in changes if c.action == "remove"]
    written = [c.name for c in changes if c.action != "remove"]
    say(args, 1, "%s: %d written%s, %d removed%s, %d unchanged" % (
        directory, len(written), " (%s)" % ", ".join(written) if written else "",
        len(removed), " (%s)" % ", ".join(removed) if removed else "",
        len([f for f in result.files if f.exists]) - len(written)))
    return planned, warning


def audit(args: "Arguments", result: "FetchResult") -> int:
    """--check: one line per difference on stdout, exit 1 when anything differs."""
    from . import config_dir
    directory = args.output_dir
    planned = config_dir.plan(directory, result.files, args.prune, args.uid, args.gid)
    changes = planned.changes
    attributes = ("owner, group or mode differs" if args.uid is not None or args.gid is not None
                  else "mode differs")
    for change in changes:
        label = CHECK_LABELS.get(change.action, attributes)
        sys.stdout.write("%s: %s\n" % (label, change.name))
        if args.verbose:
            from .file_diffs import describe
            sys.stdout.write(describe(directory, change))
    for kept in planned.kept:  # a run would leave them too: not a difference to fix
        sys.stdout.write("would keep: %s (%s)\n" % (kept.name, kept.reason))
    say(args, 1, "%d differences from %s" % (len(changes), directory)
        if changes else "%s is up to date" % directory)
    return EXIT_DIFFERS if changes else EXIT_OK


def run(root: str, args: "Arguments", children: "Optional[Children]" = None) -> int:
    from .cli import check, owner_and_group
    check(args)
    owner_and_group(args)
    session = Session(args)
    if args.watch:
        from .watch import WatchOptions, watch
        options = WatchOptions(*[getattr(args, name) for name in WatchOptions._fields])
        return watch(options, session.fetch, session.write, session.credentials, children)
    result = session.fetch()
    report(args, result)
    if args.check:
        return audit(args, result)
    session.write(result, args.prune)
    if args.command:
        execute(args)
    return EXIT_OK


def execute(args: "Arguments") -> None:
    """Replaces straw with the command after --, as a container's entrypoint does."""
    environment = dict(os.environ)
    directory = os.path.abspath(args.output_dir)
    if directory != "/etc/slurm":
        environment["SLURM_CONF"] = os.path.join(directory, "slurm.conf")
    say(args, 1, "exec %s" % args.command[0])
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(args.command[0], args.command, environment)
    except OSError as exc:
        from .command_errors import CommandError
        raise CommandError(exc.errno, "cannot run %s: %s"
                           % (args.command[0], exc.strerror or exc)) from None


def main(root: str, argv: "Sequence[str]", version: "Optional[str]" = None,
         children: "Optional[Children]" = None) -> int:
    """Runs the command for the collection at root (where bin/ sits beside plugins/);
    version, when given, is the collection's (the single file carries it); children starts
    --on-change commands (the launchers' bin/straw_children.py)."""
    verbose = 0
    try:
        from .cli import parse
        args = parse(argv)
        verbose = args.verbose
        if args.help:
            sys.stdout.write(help_text())
            return EXIT_OK
        if args.version:
            if version:
                sys.stdout.write("straw (straw.slurm) %s\n" % version)
                return EXIT_OK
            return print_version(root)
        if args.list:
            return print_releases()
        status = run(root, args, children)
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
        from .command_errors import explain
        sys.stderr.write("straw: %s\n" % explain(error, verbose))
        return getattr(error, "status", EXIT_ERROR)
