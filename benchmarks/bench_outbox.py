"""The local outbox as a mail server, side by side with a bare aiosmtpd and Postfix's smtp-sink.

Usage: python benchmarks/bench_outbox.py [--rounds N] [--messages N] [--stored N] [--skip-big]

Measures, on 127.0.0.1 only, with the same clients against every server in the same run:
- one client, one message per connection with EHLO (smtplib): messages per second;
- the EHLO round trip on an open connection;
- 20 concurrent clients (threads), one message per connection: messages per second;
- `outbox list --json --limit 100` (the real entry point, a fresh process) and `Outbox.page(100)`
  with --stored messages (default 50,000) in the Maildir, and the whole `outbox list --json`;
- one DATA of 31 MiB of empty lines, and one 300 MB line without CRLF: the server's peak RSS
  growth (VmHWM) and the replies.

Servers, each its own process: `outbox` (`smtp-desktop outbox serve`, storing to a temporary
Maildir), `bare` (aiosmtpd's Controller with a handler that stores nothing; aiosmtpd's own
create_server sets TCP_NODELAY) and `smtp-sink` (Postfix, where installed: the upper bound).
The GUI stall with 50,000 messages is measured by bench_outbox_gui.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _bench
from _bench import PYTHON, REPO, print_header, summarize, table, verdict

HOST = "127.0.0.1"
MESSAGE = (b"From: bench@example.test\r\nTo: sink@example.test\r\nSubject: outbox bench\r\n"
           b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n" + b"A line of the body.\r\n" * 40)

BARE = r"""
import sys, time
from aiosmtpd.controller import Controller
class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print(sys.argv[1], flush=True)
sys.stdin.read()
c.stop()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """One server process; `port`, `pid`, `stop()`."""

    def __init__(self, name: str, argv: list[str], port: int | None, env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        if port is None:
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
            port = int(line.split(":")[-1].split(",")[0]) if "listening" in line else int(line)
        self.port = port
        self.pid = self.proc.pid
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait for the greeting
            try:
                with socket.create_connection((HOST, port), timeout=5) as sock:
                    sock.recv(100)
                break
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_servers(folder: Path, env: dict[str, str]) -> list[Server]:
    outbox_env = dict(env, SMTP_DESKTOP_DATA_DIR=str(folder / "data"),
                      SMTP_DESKTOP_CONFIG_DIR=str(folder / "config"))
    servers = [
        Server("outbox", [PYTHON, "-m", "smtp_desktop", "outbox", "serve", "--port", "0",
                          "--max-messages", "10000000", "--max-bytes", "1024G"], None, outbox_env),
        Server("bare", [PYTHON, "-c", BARE, str(free_port())], None, env),
    ]
    sink = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists()
                                         else None)
    if sink:
        port = free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []  # smtp-sink refuses to run as root
        servers.append(Server("smtp-sink", [sink, *user, f"{HOST}:{port}", "1024"], port, env))
    return servers


def send_loop(port: int, count: int) -> float:
    """Messages per second, one per connection, EHLO."""
    start = time.perf_counter()
    for _ in range(count):
        with smtplib.SMTP(HOST, port, timeout=30) as client:
            client.ehlo("bench.example.test")
            client.sendmail("bench@example.test", ["sink@example.test"], MESSAGE)
    return count / (time.perf_counter() - start)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ehlo_round_trip(port: int, count: int) -> list[float]:
    """Milliseconds per EHLO on one open connection."""
    times = []
    with smtplib.SMTP(HOST, port, timeout=30) as client:
        for _ in range(count):
            start = time.perf_counter()
            client.ehlo("bench.example.test")
            times.append((time.perf_counter() - start) * 1000)
    return times


def concurrent(port: int, clients: int, each: int) -> float:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            send_loop(port, each)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        print(f"   {len(errors)} clients failed: {errors[0]!r}")
    return clients * each / elapsed


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def big_data(port: int, payload_chunks, label: str, pid: int) -> list[object]:
    """Send one DATA made of `payload_chunks`; the reply, time and peak RSS growth."""
    before = vm_hwm_kib(pid)
    start = time.perf_counter()
    with smtplib.SMTP(HOST, port, timeout=600) as client:
        client.ehlo("bench.example.test")
        client.mail("bench@example.test")
        client.rcpt("sink@example.test")
        code, _ = client.docmd("DATA")
        assert code == 354, code
        for chunk in payload_chunks():
            client.sock.sendall(chunk)
        client.sock.sendall(b".\r\n")
        code, text = client.getreply()
    elapsed = time.perf_counter() - start
    grown = (vm_hwm_kib(pid) - before) / 1024
    return [label, f"{code} {text.decode(errors='replace')[:40]}", f"{elapsed:.1f} s",
            f"{grown:+.1f} MiB", verdict(grown < 64)]


def fill_outbox(folder: Path, count: int) -> None:
    """`count` messages straight into the Maildir, indexed in batches (as the server does)."""
    from smtp_desktop.outbox.index import OutboxIndex
    from smtp_desktop.outbox.store import MessageWriter, Outbox

    outbox = Outbox(folder)
    body = MESSAGE.replace(b"\r\n", b"\n")
    rows = []
    with OutboxIndex(folder) as index:
        for n in range(count):
            writer = MessageWriter.start(outbox, {"mail_from": "bench@example.test",
                                                  "rcpt_tos": (f"to{n}@example.test",)})
            writer.write(body.replace(b"outbox bench", f"outbox bench {n}".encode()))
            rows.append(writer.commit().row())
            if len(rows) >= 2000:
                index.put(rows)
                rows = []
        index.put(rows)


def listing(stored: int, env: dict[str, str], folder: Path) -> list[list[object]]:
    from smtp_desktop.outbox import Outbox

    data = folder / "list-data"
    fill_outbox(data / "outbox", stored)
    outbox = Outbox(data / "outbox")
    outbox.page(limit=1)  # the index is in line with the Maildir (as after the server stored)
    rows = []
    cli_env = dict(env, SMTP_DESKTOP_DATA_DIR=str(data), SMTP_DESKTOP_CONFIG_DIR=str(folder / "c"))
    for label, extra in (("outbox list --json --limit 100", ["--limit", "100"]),
                         ("outbox list --json --limit 100 --search 'bench 4242'",
                          ["--limit", "100", "--search", "bench 4242"]),
                         ("outbox list --json (all)", [])):
        samples, rss = [], 0
        for _ in range(3):
            start = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", PYTHON, "-m", "smtp_desktop",
                                   "outbox", "list", "--json", *extra], env=cli_env,
                                  capture_output=True, text=True, check=True)
            samples.append(time.perf_counter() - start)
            rss = int(proc.stderr.strip().splitlines()[-1])
            count = len(json.loads(proc.stdout))
        median = summarize(samples).median
        rows.append([f"{label} of {stored:,}", f"{median:.3f} s ({count} items)",
                     f"{rss / 1024:.0f} MiB", verdict(median < 0.5) if "limit" in label else ""])
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        outbox.page(limit=100)
        samples.append(time.perf_counter() - start)
    rows.append([f"Outbox.page(limit=100) of {stored:,}, in process",
                 f"{summarize(samples).median * 1000:.1f} ms", "", verdict(max(samples) < 0.5)])
    # A new message arrives: the next listing syncs the index (one directory listing).
    from smtp_desktop.outbox.store import Outbox as _Outbox

    _Outbox(data / "outbox").add(MESSAGE, "late@example.test", ["x@example.test"])
    start = time.perf_counter()
    newest = outbox.page(limit=100)
    elapsed = time.perf_counter() - start
    rows.append([f"Outbox.page(limit=100) after one more arrived (sync of {stored:,})",
                 f"{elapsed * 1000:.1f} ms", "", verdict(elapsed < 0.5 and
                                                      newest[0].envelope_from == "late@example.test")])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of each rate measurement")
    parser.add_argument("--messages", type=int, default=200, help="messages per round, one client")
    parser.add_argument("--stored", type=int, default=50_000, help="messages in the listed outbox")
    parser.add_argument("--skip-big", action="store_true", help="skip the 31 MiB / 300 MB DATA")
    args = parser.parse_args()
    print_header("bench_outbox: the local outbox as a mail server")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory(prefix="smtp-bench-outbox-") as name:
        folder = Path(name)
        servers = start_servers(folder, env)
        try:
            rates: dict[str, list[float]] = {s.name: [] for s in servers}
            ratios: dict[str, list[float]] = {s.name: [] for s in servers}
            cpu: dict[str, list[float]] = {s.name: [] for s in servers}
            ehlo: dict[str, list[float]] = {s.name: [] for s in servers}
            many: dict[str, list[float]] = {s.name: [] for s in servers}
            for server in servers:  # warm-up
                send_loop(server.port, 20)
            for round_ in range(args.rounds):  # interleaved, so drift hits every server alike
                order = servers if round_ % 2 == 0 else servers[::-1]
                for server in order:
                    before = cpu_seconds(server.pid)
                    rates[server.name].append(send_loop(server.port, args.messages))
                    cpu[server.name].append((cpu_seconds(server.pid) - before) / args.messages * 1e6)
                for server in servers:  # the paired ratio of this round: robust to drift
                    ratios[server.name].append(rates[server.name][-1] / rates["bare"][-1])
                for server in order:
                    ehlo[server.name].extend(ehlo_round_trip(server.port, 200))
                    many[server.name].append(concurrent(server.port, 20, max(5, args.messages // 20)))
            bare_ehlo = summarize(ehlo["bare"]).median
            rows = []
            for server in servers:
                rate = summarize(rates[server.name])
                trip = summarize(ehlo[server.name])
                conc = summarize(many[server.name])
                rows.append([server.name, rate.text("msg/s", 0),
                             f"{summarize(ratios[server.name]).median:.2f}x",
                             f"{summarize(cpu[server.name]).median:.0f} us",
                             trip.text("ms", 3), f"{trip.median / bare_ehlo:.2f}x",
                             conc.text("msg/s", 0)])
            print(table(["server", "one client, msg per connection", "vs bare (paired)",
                         "server CPU/msg", "EHLO round trip", "vs bare", "20 clients"], rows))
            print("(server CPU/msg: the server process's user+system time per message, 10 ms ticks)")
            ours = summarize(ratios["outbox"]).median
            trip = summarize(ehlo["outbox"]).median / bare_ehlo
            print(f"\none-client rate {ours:.2f}x bare (target >= 0.8x): {verdict(ours >= 0.8)}")
            print(f"EHLO round trip {trip:.2f}x bare (target <= 2x): {verdict(trip <= 2)}\n")
            if not args.skip_big:
                outbox = servers[0]

                def empty_lines():
                    block = b"\r\n" * (512 * 1024)
                    for _ in range(31):
                        yield block

                def one_line():
                    block = b"x" * (1024 * 1024)
                    for _ in range(300):
                        yield block
                    yield b"\r\n"

                big = [big_data(outbox.port, empty_lines, "31 MiB of empty lines", outbox.pid),
                       big_data(outbox.port, one_line, "one 300 MB line", outbox.pid)]
                print(table(["outbox DATA", "reply", "time", "peak RSS growth", "< 64 MiB"], big))
                print()
        finally:
            for server in servers:
                server.stop()
        print(table(["listing", "median", "peak RSS", "< 0.5 s"], listing(args.stored, env, folder)))
    return 0


if __name__ == "__main__":
    _bench  # noqa: B018  (imported for its sys.path set-up)
    sys.exit(main())
