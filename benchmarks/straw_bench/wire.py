"""1. Library vs the wire: one fetch through the library against the least any client can do
on the same connection, the same request."""
import socket
import time
from typing import NamedTuple

import lab
from _slurm.auth.jwt import mint_token
from _slurm.auth.jwt_credentials import JwtCredentials
from _slurm.client import fetch
from _slurm.messages import encode_request, encode_request_body
from _slurm.transport import parse_address
from _slurm.versions import version_of
from straw_bench.measuring import controller, interleave

TITLE = "library vs the wire"
GOAL = 1.3


class Plan(NamedTuple):
    repetitions: int  # interleaved rounds of one fetch each way, per controller


FULL = Plan(repetitions=200)
SMOKE = Plan(repetitions=3)


def floor_fetch(address, frame):
    """The least any client can do: send a prebuilt request, read the reply into one buffer."""
    sock = socket.create_connection((address.host, address.port), timeout=30)
    try:
        sock.sendall(frame)
        head = bytearray(4)
        view = memoryview(head)
        got = 0
        while got < 4:
            got += sock.recv_into(view[got:])
        buffer = bytearray(int.from_bytes(head, "big"))
        view = memoryview(buffer)
        got = 0
        while got < len(buffer):
            count = sock.recv_into(view[got:])
            if not count:
                break
            got += count
        return buffer
    finally:
        sock.close()


def timed(action):
    """An action for interleave(): action's wall seconds."""
    def run():
        start = time.perf_counter()
        action()
        return time.perf_counter() - start
    return run


def measure(plan):
    rows = []
    for release in ("22.05", "26.05"):
        c = controller(release, name="bench", port=17500 + int(release[:2]))
        token = mint_token(c.jwt_key, "slurm", lifetime=3600)
        credentials = JwtCredentials(token)
        version = version_of(release)
        body = encode_request_body(version, 1)
        frame = encode_request(version, credentials.auth_section(version, 2015, body), body)
        address = parse_address(c.server)
        fetch([c.server], credentials, protocol=release)  # warm: imports, first connection
        medians = interleave(
            plan.repetitions,
            floor=timed(lambda a=address, f=frame: floor_fetch(a, f)),
            library=timed(lambda s=c.server, k=credentials, r=release: fetch([s], k, protocol=r)))
        rows.append(dict(release=release, floor_ms=medians["floor"] * 1e3,
                         library_ms=medians["library"] * 1e3,
                         ratio=medians["library"] / medians["floor"]))
        lab.down(c)
    return rows


def report(rows):
    lines = ["", "## 1. Library vs the wire (goal: at most 1.3x the floor)", "",
             "The floor sends a prebuilt request over a fresh TCP connection and reads the reply into"
             " one buffer. The library builds, sends, reads and decodes (JWT, the release pinned).", "",
             "| controller | floor | library | ratio | goal |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %.2f ms | %.2f ms | %.2fx | %s |" % (
            r["release"], r["floor_ms"], r["library_ms"], r["ratio"],
            "met" if r["ratio"] <= GOAL else "missed by %.2fx" % (r["ratio"] - GOAL)))
    return lines
