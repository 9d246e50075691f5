"""The command-line test harness: `smtp-desktop` run in this process or as a child process.

A pytest plugin (listed in tests/conftest.py). Its fixtures:
- `cli`: `smtp_desktop.app.main` in this process with a private config and data folder;
  `cli(*args, stdin=..., on_stderr_line=...)` returns `(exit code, stdout, stderr)`. Standard
  input is a `StringIO` (no `.buffer`); a module that overrides `binary_stdin` to True gets a
  byte stream behind a `TextIOWrapper` instead, as a terminal or a pipe gives.
- `ring`: an in-memory keyring installed for the test (conftest restores the previous one).
- `paths`: the test's `AppPaths` (the same object as `app_paths`).
- `serve`: `outbox serve` in a thread through `cli.outbox.run()` (`ServeThread`);
  `serve_process`: the same command as its own process (`ServeProcess`). Stopped after the test.

Its helpers: `run_module(*args)` runs `python -m smtp_desktop ARGS` to the end; `outbox_cli`
runs the `outbox` and `history` subcommands through `cli.outbox.run()` alone, and a module binds
it as its `cli` with `cli = pytest.fixture(outbox_cli, name="cli")`; `Serving` is a ServeThread
already listening on a free port; `LISTENING` matches the line `outbox serve` prints first.
"""

from __future__ import annotations

import argparse
import io
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import keyring
import pytest

from smtp_desktop.cli import outbox as cli_outbox
from smtp_desktop.config.paths import AppPaths
from support.memory_keyring import MemoryKeyring

WAIT = 60  # seconds: generous deadlines for a busy shared machine; the happy path never waits long
LISTENING = re.compile(r"^Local outbox listening on 127\.0\.0\.1:(\d+), storing mail in (.+)$")
MODULE = ["-m", "smtp_desktop"]  # the real entry point, as `python -m smtp_desktop`

Result = tuple[int, str, str]


# ---------------------------------------------------------------- smtp-desktop as a child process


def run_module(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m smtp_desktop ARGS` to the end; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, *MODULE, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env)


# ---------------------------------------------------------------- smtp-desktop in this process


class _LineStderr(io.StringIO):
    """stderr that hands each complete line to a callback (e.g. the test playing a browser)."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        super().__init__()
        self.on_line = on_line

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.on_line(line)
        return super().write(text)


class MainCli:
    """`smtp-desktop --config-dir C --data-dir D ARGS` through `main()` in this process."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str], *, binary_stdin: bool = False) -> None:
        self.config_dir = tmp_path / "config"
        self.data_dir = tmp_path / "data"
        self._monkeypatch = monkeypatch
        self._capsys = capsys
        self._binary_stdin = binary_stdin

    def __call__(self, *args: str, stdin: str | bytes = "",
                 on_stderr_line: Callable[[str], None] | None = None) -> Result:
        from smtp_desktop.app import main

        if self._binary_stdin or isinstance(stdin, bytes):
            raw = stdin if isinstance(stdin, bytes) else stdin.encode("utf-8")
            stream: io.TextIOBase = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
        else:
            stream = io.StringIO(stdin)
        self._monkeypatch.setattr(sys, "stdin", stream)
        if on_stderr_line:
            self._monkeypatch.setattr(sys, "stderr", _LineStderr(on_stderr_line))
        code = main(["--config-dir", str(self.config_dir), "--data-dir", str(self.data_dir), *args])
        captured = self._capsys.readouterr()
        err = sys.stderr.getvalue() if on_stderr_line else captured.err
        return code, captured.out, err


@pytest.fixture
def binary_stdin() -> bool:
    """Override with True in a module whose `cli` stdin must be bytes behind a text wrapper."""
    return False


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, binary_stdin) -> MainCli:
    return MainCli(tmp_path, monkeypatch, capsys, binary_stdin=binary_stdin)


@pytest.fixture
def ring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def paths(app_paths) -> AppPaths:
    return app_paths


# ---------------------------------------------------------------- the outbox subcommands


def build_parser() -> argparse.ArgumentParser:
    """The `outbox` and `history` subcommands alone, as `smtp-desktop` parses them."""
    parser = argparse.ArgumentParser(prog="smtp-desktop")
    cli_outbox.add_subcommands(parser.add_subparsers(dest="command"))
    return parser


def outbox_cli(paths: AppPaths, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`cli("outbox", "list", ...)` through `cli.outbox.run()`: (exit code, stdout, stderr)."""
    def run(*argv: str) -> Result:
        code = cli_outbox.run(build_parser().parse_args(argv), paths)
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


class ServeThread:
    """`outbox serve` through run() in a thread; `stop()` ends it the way a signal would."""

    def __init__(self, paths: AppPaths, *argv: str) -> None:
        self.args = build_parser().parse_args(["outbox", "serve", *argv])
        self.paths = paths
        self.stopping = threading.Event()
        self.events: queue.Queue[tuple[str, object]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="outbox-serve")

    def _run(self) -> None:
        code = cli_outbox.run(self.args, self.paths, stop=self.stopping,
                              on_ready=lambda server: self.events.put(("ready", server)))
        self.events.put(("exited", code))

    def start(self) -> tuple[str, object]:
        """The first event: ("ready", server) or ("exited", exit code)."""
        self.thread.start()
        event = self.events.get(timeout=WAIT)
        if event[0] == "exited":  # the thread has only to end now: wait, so stop() is not needed
            self.thread.join(timeout=WAIT)
        return event

    def stop(self) -> int:
        self.stopping.set()
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive()
        kind, code = self.events.get(timeout=WAIT)
        assert kind == "exited"
        return code


class Serving(ServeThread):
    """`outbox serve --port 0 ARGV` started and ready: `server`, `err` (its stderr so far)."""

    def __init__(self, paths: AppPaths, capsys: pytest.CaptureFixture[str], *argv: str) -> None:
        super().__init__(paths, "--port", "0", *argv)
        kind, self.server = self.start()
        self.err = capsys.readouterr().err
        assert kind == "ready", self.err


@pytest.fixture
def serve(paths) -> Iterator[Callable[..., ServeThread]]:
    """`serve(*argv)` makes a ServeThread; those still running are stopped after the test."""
    started: list[ServeThread] = []

    def start(*argv: str) -> ServeThread:
        started.append(ServeThread(paths, *argv))
        return started[-1]

    yield start
    for serving in started:
        if serving.thread.is_alive():
            serving.stop()


class ServeProcess:
    """`python -m smtp_desktop --data-dir D outbox serve --port 0 ARGV` as its own process."""

    def __init__(self, data_dir: Path, *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *MODULE, "--data-dir", str(data_dir), "outbox", "serve",
             "--port", "0", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        # The first line says the server listens (or the process ended): it is ready from here.
        self._first = self.lines.get(timeout=WAIT)
        assert self._first is not None, self.process.stderr.read()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def first_line(self) -> str:
        """The first line on stdout, printed once the server listened."""
        return self._first

    @cached_property
    def port(self) -> int:
        """The port from the first line, which must be the "listening" line."""
        match = LISTENING.match(self._first)
        assert match, self._first + self.process.stderr.read()
        return int(match.group(1))

    def peak_rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))

    def finish(self, signum: int) -> tuple[int, str]:
        """Send `signum`; the exit code and all of stderr."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)
        return code, self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def serve_process() -> Iterator[Callable[..., ServeProcess]]:
    """`serve_process(data_dir, *argv)` starts a ServeProcess; each is killed after the test."""
    started: list[ServeProcess] = []

    def start(data_dir: Path, *argv: str) -> ServeProcess:
        started.append(ServeProcess(data_dir, *argv))
        return started[-1]

    yield start
    for serving in started:
        serving.kill()
