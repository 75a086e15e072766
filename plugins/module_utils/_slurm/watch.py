# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""straw --watch: keep a directory current after `scontrol reconfigure`, as sackd does.

After the first fetch the watcher registers with the controller the way sackd does
(REQUEST_CONFIG with CONFIG_REQUEST_SACKD and, from 25.05, the port), listens for its
REQUEST_RECONFIGURE_SACKD pushes, and polls as a safety net (the only way before 23.11).

* A push whose credential proves SlurmUser made it, freshly, for these bytes (auth/verify)
  is written at once with no connection to the controller. A watcher that cannot verify
  pushes at all takes each as a hint: fetch again over the authenticated path. One that can
  takes a push it cannot verify as noise.
* Every fetch a push can cause (a hint, a push older than what we hold, a push to a watcher
  of the slurmd set) goes through one throttle: at most one per HINT_INTERVAL (randomised),
  after a random delay for hints (every watcher hears one at the same moment), drawn from a
  window that widens while the controller is slow to answer (pace.Spread). A replay,
  however it is spelled, causes nothing.
* Refusals are logged in full once per kind, then summarised once a minute (rejection_log).
* A push carries the client set: a watcher of the slurmd set fetches on a push instead of
  writing it, and a push never removes files.
* Only files whose bytes or mode changed are written (atomically); --on-change runs once per
  applied change. A failing controller keeps the last good files, with jittered backoff
  (pace.Backoff), said once. With --start-delay, a watcher whose directory holds the files
  already makes its first fetch at a random moment, so that a fleet started at once spreads.
* SIGTERM/SIGINT end it (exit 0) between steps, so no temporary file is left; SIGHUP fetches.

One line per event on standard error, for the journal.
"""

from __future__ import annotations

import os
import sys
import time

from .errors import ReplyError, SlurmConfigError, worded
from .pace import Backoff, Spread, uniform
from .versions import PROTO_23_11, PROTO_25_05

# What a watcher keeps resident for days: signal's C core without the module's enums (enum,
# functools, collections), its own jitter without random, a pipe rather than socket.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
else:
    try:
        import _signal as signal
    except ImportError:  # an interpreter without CPython's C module
        import signal
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, NamedTuple, Optional, Protocol, Tuple

    from .auth.credentials import Credentials
    from .auth.verify import PushVerifier
    from .client import FetchResult
    from .listen import Frame, Listener  # noqa: F401
    from .messages import ConfigFile

    #: fetch(register) -> the files: register is the port pushes go to, None to only fetch.
    Fetch = Callable[[Optional[int]], FetchResult]
    #: write(result, prune) -> the names written; raises SlurmConfigError, writing nothing.
    Write = Callable[[FetchResult, str], List[str]]

    class Children(Protocol):
        """What starts and reaps --on-change commands (bin/straw_children.py): the library
        itself starts no process."""

        def __len__(self) -> int:
            """How many were started and not yet reaped."""

        def start(self, command: str, environment: Dict[str, str]) -> Optional[str]:
            """Starts command; why it could not, else None."""

        def reap(self) -> List[int]:
            """The exit statuses of those that ended since the last call."""
else:
    from .records import NamedTuple


class WatchOptions(NamedTuple):
    """What a watcher is told, by bin/straw's --watch options or by whoever embeds it."""

    output_dir: str
    request: str = "client"  # the file set: a push carries the client set only
    prune: str = "off"  # config_dir's off, owned or force, for fetched files
    uid: "Optional[int]" = None
    gid: "Optional[int]" = None
    interval: "Optional[float]" = None  # between polls (default: by whether pushes arrive)
    hint_delay: "Optional[float]" = None  # most random delay before a hint's fetch
    start_delay: "Optional[float]" = None  # most random delay of the first fetch, files present
    listen_port: "Optional[int]" = None  # default: SlurmdPort
    listen_address: "Optional[str]" = None  # default: all; else also the source of fetches
    listen_cert: "Optional[str]" = None
    listen_key: "Optional[str]" = None
    tls_ca: "Optional[str]" = None
    on_change: "Optional[str]" = None
    slurm_user: "Optional[str]" = None  # whose pushes are trusted (default: SlurmUser)


DEFAULT_SLURMD_PORT = 6818
POLL_WITH_PUSHES = 300.0
POLL_WITHOUT_PUSHES = 60.0
HINT_DELAY = 5.0
HINT_INTERVAL = 5.0
#: The widest a fleet's hint fetches spread when the controller shows strain (pace.Spread).
HINT_SPREAD_MAX = 120.0
BACKOFF_FIRST, BACKOFF_MAX = 5.0, 300.0
JITTER = 0.1


def log(message: str) -> None:
    sys.stderr.write("straw: %s\n" % message)
    sys.stderr.flush()


def fetched_settings(result: "FetchResult") -> "Dict[str, Any]":
    """The settings of the slurm.conf a fetch brought, its includes followed."""
    from .facts import settings_fact
    return settings_fact(result.files)


class Watcher:
    """The loop: one listener, one wakeup pipe for signals, timers for polls and hints."""

    def __init__(self, options: WatchOptions, fetch: "Fetch", write: "Write",
                 credentials: "Credentials", children: "Optional[Children]" = None) -> None:
        self.options = options
        self.fetch = fetch
        self.write = write
        self.credentials = credentials
        self.listener = None  # type: Optional[Listener]
        self.verifier = None  # type: Optional[PushVerifier]
        self.stop = False
        self.ready = False
        self.fetch_now = False
        self.next_poll = 0.0
        self.push_fetch_at = None  # type: Optional[float]
        self.push_fetch_why = ""
        self.last_push_fetch = -HINT_INTERVAL
        self.fetched_at = 0.0
        self.failing = False
        self.backoff = Backoff(BACKOFF_FIRST, max(BACKOFF_MAX, options.interval or 0))
        self.port = 0
        self.interval = options.interval
        self.hints = Spread(HINT_DELAY if options.hint_delay is None else options.hint_delay,
                            HINT_SPREAD_MAX)
        self.children = children
        from .rejection_log import RejectionLog
        self.rejections = RejectionLog(log)
        self.wake_read, self.wake_write = os.pipe()

    # --- signals -----------------------------------------------------------------------

    def _signals(self) -> None:
        for fd in (self.wake_read, self.wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wake_write)

        def ending(_number: int, _frame: object) -> None:
            self.stop = True

        def hangup(_number: int, _frame: object) -> None:
            self.fetch_now = True

        signal.signal(signal.SIGTERM, ending)
        signal.signal(signal.SIGINT, ending)
        signal.signal(signal.SIGHUP, hangup)

    def _drain(self) -> None:
        try:
            while os.read(self.wake_read, 512):
                pass
        except OSError:
            pass

    # --- fetching and writing ----------------------------------------------------------

    def _fetch(self, why: str) -> "Optional[FetchResult]":
        """One fetch (registering when pushes can reach us); None when it failed."""
        register = self.port if self.listener is not None else None
        started = time.monotonic()
        try:
            result = self.fetch(register)
        except SlurmConfigError as error:
            self.hints.observed(time.monotonic() - started, failed=True)
            wait = self.backoff.next()
            if not self.failing:
                log("cannot fetch (%s): %s; keeping the last good files, retrying in %ds"
                    % (why, error, wait))
            self.failing = True
            self.next_poll = time.monotonic() + wait
            return None
        self.hints.observed(time.monotonic() - started, failed=False)
        self.fetched_at = time.time()
        if self.failing:
            log("%s answers again (Slurm %s)" % (result.controller, result.release))
        self.failing = False
        self.backoff.reset()
        return result

    def _apply(self, result: "FetchResult", why: str, prune: str) -> "Optional[List[str]]":
        """The names written (none when all was current), or None when writing failed."""
        try:
            changed = self.write(result, prune)
        except SlurmConfigError as error:
            log("cannot write %s (%s): %s; the old files stay" % (self.options.output_dir, why, error))
            return None
        if changed:
            log("%s: wrote %s" % (why, ", ".join(changed)))
            self._on_change(changed)
        return changed

    def _on_change(self, changed: "List[str]") -> None:
        command = self.options.on_change
        if not command:
            return
        if self.children is None:
            log("cannot run --on-change: this entry point starts no process")
            return
        environment = dict(os.environ, STRAW_CHANGED=" ".join(changed),
                           STRAW_DIR=os.path.abspath(self.options.output_dir))
        environment.pop("SLURM_JWT", None)  # the watcher's credential is not the command's
        failure = self.children.start(command, environment)
        if failure:
            log("cannot run --on-change: %s" % failure)

    def _reap(self) -> None:
        for status in self.children.reap() if self.children is not None else ():
            if status:
                log("--on-change exited with status %d" % status)

    def _schedule_poll(self) -> None:
        interval = self.interval or (POLL_WITH_PUSHES if self.listener else POLL_WITHOUT_PUSHES)
        self.next_poll = time.monotonic() + interval * uniform(1 - JITTER, 1 + JITTER)

    def poll(self, why: str) -> None:
        result = self._fetch(why)
        if result is None:
            return
        self._apply(result, why, self.options.prune)
        if not self.ready:  # the first fetch that worked: now we know the controller
            self.ready = True
            self._setup_pushes(result)
        self._schedule_poll()

    # --- pushes --------------------------------------------------------------------------

    def _setup_pushes(self, first: "FetchResult") -> None:
        """Listens and registers when this controller pushes; says plainly when it cannot."""
        conf = fetched_settings(first)
        if first.protocol_version < PROTO_23_11:
            log("%s runs Slurm %s, which pushes nothing before 23.11: polling every %gs"
                % (first.controller, first.release, self.interval or POLL_WITHOUT_PUSHES))
            return
        if self.options.tls_ca and not self.options.listen_cert:
            log("pushes on a TLS cluster need a listener certificate (--listen-cert and "
                "--listen-key, as sackd_cert_file): polling only, every %gs"
                % (self.interval or POLL_WITHOUT_PUSHES))
            return
        port_text = str(conf.get("SlurmdPort") or DEFAULT_SLURMD_PORT)
        slurmd_port = int(port_text) if port_text.isdigit() else DEFAULT_SLURMD_PORT
        self.port = self.options.listen_port or slurmd_port
        if self.port != slurmd_port and first.protocol_version < PROTO_25_05:
            log("warning: Slurm %s pushes to SlurmdPort (%d), not to --listen-port %d"
                % (first.release, slurmd_port, self.port))
        tls = None
        cert, key, ca = self.options.listen_cert, self.options.listen_key, self.options.tls_ca
        if cert and key and ca:  # bin/straw refuses a certificate without the others
            from .tls import server_context
            tls = server_context(cert, key, ca)
        from .listen import Listener
        try:
            self.listener = Listener(self.options.listen_address or "", self.port, tls=tls)
        except SlurmConfigError as error:
            log("cannot listen for pushes: %s; polling only, every %gs"
                % (error, self.interval or POLL_WITHOUT_PUSHES))
            return
        self.verifier = self._verifier(conf)
        from .origin import address_toward
        self.credentials.use_origin(address_toward(first.address, self.options.listen_address))
        result = self._fetch("registration")
        if result is None:
            return
        log("registered with %s (Slurm %s) for pushes to port %d%s"
            % (result.controller, result.release, self.port,
               "" if self.verifier else "; they cannot be verified here, so each is a hint "
               "to fetch again"))
        self._apply(result, "registration", self.options.prune)

    def _verifier(self, conf: "Dict[str, Any]") -> "Optional[PushVerifier]":
        """What can prove a push here: the MUNGE key, munged (as SlurmUser), slurm.key."""
        uid, origin = self._trusted_uid(conf)
        if uid is None:
            return None
        from .auth.choose import verifier_for
        verifier = verifier_for(self.credentials, uid)
        if verifier is None:
            return None
        log("pushes are believed only when made by uid %d, %s" % (uid, origin))
        return verifier

    def _trusted_uid(self, conf: "Dict[str, Any]") -> "Tuple[Optional[int], str]":
        """The uid allowed to push, and where that came from, said at start: --slurm-user, or
        the SlurmUser of the slurm.conf the controller sent (as sackd takes it)."""
        if self.options.slurm_user:
            name, origin = str(self.options.slurm_user), "as --slurm-user says"
        else:
            named = conf.get("SlurmUser")
            name = named or "root"
            origin = ("SlurmUser %s in the slurm.conf the controller sent (--slurm-user pins it)" % name
                      if named else "root: the slurm.conf the controller sent names no SlurmUser "
                      "(--slurm-user pins it)")
        from .accounts import user_id
        uid = user_id(name)
        if uid is None:
            log("SlurmUser %s is unknown on this host (--slurm-user takes a uid): pushes "
                "cannot be verified" % name)
        return uid, origin

    def _push(self, frame: "Frame") -> None:
        from .auth.verify import UNCHECKED, Rejected
        from .listen import source_of
        from .messages import decode_push
        try:
            push = decode_push(frame.data)
        except ReplyError as error:
            self._refused("garbage", frame.peer,
                          "rejected a push from %s: %s" % (frame.peer, worded(error.message)))
            return
        if self.verifier is None:
            self._fetch_soon("hint", "push from %s taken as a hint: fetching" % frame.peer, delay=True)
            return
        try:
            proof = self.verifier.verify(push)
        except Rejected as error:
            self._refused(error.kind, frame.peer,
                          "rejected a push from %s: %s" % (frame.peer, worded(error.message)))
            return
        except SlurmConfigError as error:  # munged unreachable and the like: fetch instead
            self.rejections.refused(UNCHECKED, source_of(frame.peer), "cannot check a push from %s (%s): "
                                    "fetching instead" % (frame.peer, error))
            self._fetch_soon("push", "", delay=False)
            return
        unordered = proof.issued <= self.verifier.last_issued or proof.issued < self.fetched_at
        self.verifier.accept(proof)
        if self.failing:  # the controller is back: no need to wait out the backoff
            self._fetch_soon("push", "verified push from %s while fetches were failing: "
                             "fetching" % frame.peer, delay=False)
        from .client import FetchResult
        from .messages import push_files
        from .versions import release_of
        try:
            files = push_files(push).files
        except ReplyError as error:  # signed by SlurmUser, yet malformed: fetch instead
            self._fetch_soon("push", "verified push from %s, but its files are malformed (%s): "
                             "fetching instead" % (frame.peer, worded(error.message)), delay=False)
            return
        if unordered and self._holds(files):
            # Made no later than what we hold, and it says the same: nothing to learn (a
            # genuine push sent to another host and resent here, say).
            log("verified push from %s, no newer than what we hold: nothing changed" % frame.peer)
            return
        if unordered:
            # Credentials count whole seconds: a push made in the second of the last one, or
            # before our last fetch, may hold older files than ours. The controller knows.
            self._fetch_soon("push", "verified push from %s, made before what we hold may have "
                             "been: fetching to be sure" % frame.peer, delay=False)
            return
        if self.options.request != "client":
            self._fetch_soon("push", "verified push from %s: fetching the slurmd set" % frame.peer,
                             delay=False)
            return
        result = FetchResult(files, None, frame.peer, push.version, release_of(push.version), [])
        # A push carries the client set only: what it leaves out is not gone, so it never
        # removes anything (the files it writes are recorded as ours all the same).
        if self._apply(result, "push from %s" % frame.peer, "off") == []:
            log("verified push from %s: nothing changed" % frame.peer)

    def _holds(self, files: "List[ConfigFile]") -> bool:
        """Whether the directory already holds these files' bytes."""
        from .writer import plan
        try:
            changes = plan(self.options.output_dir, files, False, self.options.uid, self.options.gid)
        except SlurmConfigError:
            return False
        return not [change for change in changes if change.action in ("create", "update")]

    def _refused(self, kind: str, peer: str, line: str) -> None:
        from .listen import source_of
        self.rejections.refused(kind, source_of(peer), line)

    def _fetch_soon(self, why: str, said: str, delay: bool) -> None:
        """The one way a push leads to a fetch: at most one per HINT_INTERVAL (randomised, so
        that a fleet spreads out), hints after a random delay besides. A fetch already due
        covers every push until it runs."""
        now = time.monotonic()
        if self.push_fetch_at is not None:
            return
        start = max(now + (self.hints.draw() if delay else 0.0),
                    self.last_push_fetch + HINT_INTERVAL * uniform(1.0, 1.0 + 2 * JITTER))
        self.push_fetch_at, self.push_fetch_why = start, why
        if said:
            log("%s %s" % (said, "now" if start <= now else "in %.1fs" % (start - now)))

    # --- the loop ------------------------------------------------------------------------

    def _timeout(self) -> float:
        deadlines = [self.next_poll]
        if self.push_fetch_at is not None:
            deadlines.append(self.push_fetch_at)
        summary = self.rejections.next_flush()
        if summary is not None:
            deadlines.append(summary)
        if self.children:  # reaped within a second of their end
            deadlines.append(time.monotonic() + 1.0)
        return max(0.0, min(deadlines) - time.monotonic())

    def _wait(self) -> "List[Frame]":
        timeout = self._timeout()
        if self.listener is not None:
            frames, rejections, _woken = self.listener.wait(timeout, self.wake_read)
            for rejection in rejections:
                self._refused(rejection.kind, rejection.peer, "rejected a connection from %s: %s"
                              % (rejection.peer or "?", rejection.reason))
            return list(frames)
        import select
        try:
            select.select([self.wake_read], [], [], timeout)
        except InterruptedError:
            pass
        return []

    def _start(self) -> None:
        """The first fetch: at once, unless the directory holds a slurm.conf already and a
        start delay is set, when it comes at a random moment within it (a fleet that boots
        together then spreads out; one without files never waits)."""
        delay = self.options.start_delay
        if delay and os.path.exists(os.path.join(self.options.output_dir, "slurm.conf")):
            wait = uniform(0.0, delay)
            log("start: %s holds a slurm.conf; first fetch in %.1fs"
                % (self.options.output_dir, wait))
            self.next_poll = time.monotonic() + wait
            return
        self.poll("start")

    def run(self) -> int:
        self._signals()
        self._start()
        while not self.stop:
            frames = self._wait()
            self._drain()
            for frame in frames:
                if self.stop:
                    break
                try:
                    self._push(frame)
                except Exception as error:  # whatever a peer sent, the watcher goes on
                    self._refused("garbage", frame.peer, "rejected a push from %s: %s: %s"
                                  % (frame.peer, type(error).__name__, error))
            self.rejections.flush()
            now = time.monotonic()
            if self.stop:
                break
            if self.fetch_now:
                self.fetch_now = False
                log("SIGHUP: fetching now")
                self.poll("SIGHUP")
            elif self.push_fetch_at is not None and now >= self.push_fetch_at:
                self.push_fetch_at = None
                self.last_push_fetch = now
                self.poll(self.push_fetch_why)
            elif now >= self.next_poll:
                self.poll("poll" if self.ready else "start")
            self._reap()
        log("stopping")
        if self.listener is not None:
            self.listener.close()
        return 0


def watch(options: WatchOptions, fetch: "Fetch", write: "Write", credentials: "Credentials",
          children: "Optional[Children]" = None) -> int:
    """Runs until SIGTERM or SIGINT, then exits 0. A controller that cannot be reached, even
    at start, is retried with backoff: the last good files stay meanwhile. credentials are
    those fetch uses: a push is verified with the same key."""
    return Watcher(options, fetch, write, credentials, children).run()
