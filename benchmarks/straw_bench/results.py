"""RESULTS.md as a whole: its head, the sections' reports in order, the notes, and the soak
section, which benchmarks/soak writes and a full run keeps."""
import os
import sys
import time

SOAK_HEADING = "## Soak: reconfigures against one watcher"


def document(reports, load, smoke):
    """The text of RESULTS.md from the sections' reports (lists of lines, in order) and the
    load average at the start of each section and at the end."""
    lines = ["# Benchmark results", "",
             "Measured by `benchmarks/run`%s on %s, Python %s, %d cores. Each figure is the median of"
             " interleaved runs against a baseline measured in the same run on the same controller."
             % (" --smoke" if smoke else "", time.strftime("%Y-%m-%d"), sys.version.split()[0],
                os.cpu_count() or 1), "",
             "Load average (one minute) at the start of each section and at the end: %s; other"
             " work on the machine shows as noise in the figures." % ", ".join(
                 "%.1f" % value for value in load)]
    for section in reports:
        lines += section
    lines += NOTES
    return "\n".join(lines) + "\n"


NOTES = [
    "", "## Notes", "",
    "* A goal marked missed is reported as measured; nothing here is tuned to the machine.",
    "* Library vs the wire: the library's own work per fetch is a few tens of microseconds"
    " (building the request, a socket with a deadline, which costs a non-blocking connect"
    " and a poll per read, decoding and checking every name). Against the fastest"
    " controller (22.05 answers in about 0.2 ms) that is more than 30% of the floor.",
    "* Small configurations: the fetch itself takes well under a millisecond (see 1); the"
    " rest is start-up. A fetch imports none of argparse, `re`, `typing`, `socket` (with"
    " `enum` and `selectors`; the library uses the C module `_socket` under it) or"
    " `collections`, and compiles only the modules a fetch runs: what only a first"
    " contact, TLS, a failure's wording, --check's diffs or another kind of auth needs"
    " lives apart. Bytecode is cached for bin/straw as on any host after a first run (5"
    " shows the cost without it); straw.py, a script, is compiled on every run.",
    "* Without a release the one-shot command negotiates: the first attempt goes alone;"
    " when it is turned down, one more attempt (24.11-25.11 name their version, 25.11+"
    " answers HTTP) or the other versions in parallel. A controller sleeps about 10 ms"
    " before it turns a version down (slurm_protocol_api.c, against brute force), which"
    " a first contact with anything but the newest release pays once or twice. Sending"
    " the other versions once the first has gone unanswered for 3 ms, instead of after"
    " its refusal, was tried: a first contact took 5.5 ms on 22.05 (14 as it is), 8-10 ms"
    " on 24.11 (14.5), 15 ms on 20.11 (23), measured in the library. It was not kept:"
    " eleven connections where one does, and 24.11 looks each one's peer up (next note):"
    " against a resolver that drops queries a few first"
    " contacts in a row stalled it (three in ten at one every 0.3 s, and the test suite's"
    " auth/slurm fetches timed out); an SSH server on a wrong port, whose banner comes"
    " after 3 ms, got seven connections where one names it; and the controller logs a"
    " refusal for each version outside its window. The version is then remembered in"
    " straw.slurm's cache (`/var/cache/straw-slurm/versions` for root; these runs give each"
    " command its own, with `--state-dir`), so that a repeat run makes one connection, as"
    " with the release given. The modules remember versions there too (`versions_cache`).",
    "* 24.11's slurmctld (Debian 13's; 25.05 and 25.11 too) looks up the host name of each"
    " connection's peer before it accepts the next (26.05 only with DebugFlags=CONMGR), and"
    " caches only the names it found. This machine's DNS drops bursts of queries, and each"
    " lost one costs glibc's 5-s timeout, to every client: the lab's chroots, which had no"
    " /etc/hosts, saw 24.11 stop serving for 5 s whenever about thirty connections came"
    " faster than about twenty a second. The lab's controllers now resolve from /etc/hosts;"
    " whole commands here are still started 0.1 s apart.",
    "* The module: Ansible scans every module_utils file the module can reach on each run"
    " (the AnsiballZ cache lives only as long as the ansible process), and the target"
    " compiles each imported file from the zip, twice on Python 3.8-3.13 (zipimport"
    " compiles a module in get_filename as well as in get_code); nothing of that can be"
    " cached between ad hoc runs. The floor column shows that this, not the fetch, is"
    " what the module pays over a ping: config_facts costs about what the floor does."
    " (By hand, not in this run: a scratch-collection module that only declares the"
    " same arguments costs 0.99x a ping, so being a collection module costs nothing.) On the Ansible side that is parsing"
    " about 180 KB in 38 files (the library a module can reach: every auth, TLS, DNS SRV,"
    " negotiation) and looking up each name of their `from ... import` lines as a"
    " possible module; on the target, compiling what a fetch imports, twice.",
    "* Upstream straw speaks 21.08 and 22.05 only; against the other releases only our"
    " side is measured.",
    "* Slurm signs pushes with a MUNGE credential that only SlurmUser may decode, so sackd"
    " runs as SlurmUser; the watcher verifies with the MUNGE key or through munged as root"
    " or SlurmUser.",
    "* Memory: file contents are views of the single buffer the reply is read into, so a"
    " configuration is held once; the interpreter's baseline has the library imported.",
    "* Upstream straw cannot read a configuration with a byte that is not UTF-8"
    " (UnicodeDecodeError), so these controllers serve ASCII only.",
]


def replace_section(path, part):
    """Puts one section's report (its lines, a "## " heading first after blank lines) into
    the RESULTS.md at path in place of the section with the same number, else before the
    notes."""
    heading = next(line for line in part if line.startswith("## "))
    number = heading.split()[1]  # "8."
    with open(path) as handle:
        text = handle.read()
    body = "\n".join(part).strip("\n")
    start = text.find("\n## %s " % number)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        end = end if end >= 0 else len(text)
        text = text[:start].rstrip("\n") + "\n\n" + body + "\n" + text[end:]
    else:
        notes = text.find("\n## Notes")
        notes = notes if notes >= 0 else len(text)
        text = text[:notes].rstrip("\n") + "\n\n" + body + "\n" + text[notes:]
    with open(path, "w") as handle:
        handle.write(text)


def soak_span(text):
    """(start, end) of the soak section in text, or None when it has none."""
    start = text.find(SOAK_HEADING)
    if start < 0:
        return None
    end = text.find("\n## ", start + len(SOAK_HEADING))
    return start, end if end >= 0 else len(text)


def keep_soak(text, path):
    """text with the soak section of the RESULTS.md at path, if it has one, at its end."""
    try:
        with open(path) as handle:
            old = handle.read()
    except FileNotFoundError:
        return text
    span = soak_span(old)
    if span is None or SOAK_HEADING in text:
        return text
    start, end = span
    return text.rstrip("\n") + "\n\n" + old[start:end].rstrip("\n") + "\n"


def write_soak(path, section):
    """Puts section into the RESULTS.md at path in place of the soak section there, else at
    the end."""
    with open(path) as handle:
        text = handle.read()
    span = soak_span(text)
    if span is not None:
        start, end = span
        text = text[:start] + section.rstrip("\n") + "\n" + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    with open(path, "w") as handle:
        handle.write(text)
