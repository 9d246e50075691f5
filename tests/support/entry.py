"""Run the real entry point (`smtp_desktop.app.main`) in a child process and watch it.

The child runs `main(argv)` unchanged. Two test hooks sit around it, outside the product:
- at exit it prints `dumpable=True|False|None` to stderr (PR_GET_DUMPABLE, read from inside);
- with `window_ready=True` it creates the QApplication first and prints `window-ready` to stderr
  once the event loop runs, i.e. once the window is shown and its signal handling installed;
  `type_host="..."` first types that host into the window (an unsaved change). The
  unsaved-changes question, if asked, prints `asked about unsaved changes` and answers Cancel.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

ENTRY = """
import atexit, os, sys
from smtp_desktop.process import is_dumpable

atexit.register(lambda: print(f"dumpable={is_dumpable()}", file=sys.stderr, flush=True))
if os.environ.get("TEST_WINDOW_READY"):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox
    from smtp_desktop.ui import application

    def asked(*args, **kwargs):
        print("asked about unsaved changes", file=sys.stderr, flush=True)
        return QMessageBox.StandardButton.Cancel

    def ready():
        host = os.environ.get("TEST_WINDOW_TYPE_HOST")
        if host:
            window = next(w for w in QApplication.topLevelWidgets()
                          if w.objectName() == "settingsWindow")
            window.findChild(QLineEdit, "hostEdit").setText(host)
            assert window.isWindowModified()
        print("window-ready", file=sys.stderr, flush=True)

    QMessageBox.question = staticmethod(asked)
    app = application.create_application([])
    QTimer.singleShot(0, ready)
from smtp_desktop.app import main

sys.exit(main(sys.argv[1:]))
"""

WAIT_S = 60.0  # generous: the machine is shared; a healthy child answers in well under a second


class Child:
    """A running `smtp-desktop ARGS`; stdout and stderr are collected line by line."""

    def __init__(self, args: list[str], tmp_path: Path, *, window_ready: bool = False,
                 type_host: str | None = None, stdin: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
                       "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
                       "SMTP_DESKTOP_CONFIG_DIR": str(tmp_path / "config"),
                       "SMTP_DESKTOP_DATA_DIR": str(tmp_path / "data"),
                       **(env or {})}
        if window_ready:
            environment["TEST_WINDOW_READY"] = "1"
        if type_host:
            environment["TEST_WINDOW_TYPE_HOST"] = type_host
        self.process = subprocess.Popen(
            [sys.executable, "-c", ENTRY, *args], env=environment, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self._readers = [threading.Thread(target=self._read, args=(name, stream, into), daemon=True)
                         for name, stream, into in (("stdout", self.process.stdout, self.stdout),
                                                    ("stderr", self.process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()
        assert self.process.stdin is not None
        if stdin is not None:
            self.process.stdin.write(stdin)
        self.process.stdin.close()

    def _read(self, name: str, stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            self._lines.put((name, line))
        self._lines.put((name, None))

    def wait_for_line(self, text: str, stream: str = "stderr") -> str:
        """The first line on `stream` containing `text`; fails when the child ends first."""
        while True:
            try:
                name, line = self._lines.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"no {text!r} on {stream} after {WAIT_S} s:\n"
                                     f"{self.text('stderr')}") from None
            if name == stream and line is None:
                raise AssertionError(f"{stream} ended without {text!r}:\n{self.text('stderr')}")
            if name == stream and line is not None and text in line:
                return line

    def wait(self) -> int:
        code = self.process.wait(timeout=WAIT_S)
        self._close_pipes()
        return code

    def _close_pipes(self) -> None:
        """Our ends of stdout and stderr, once read to the end (no unclosed-file warnings)."""
        for reader in self._readers:
            reader.join(timeout=WAIT_S)
        if any(reader.is_alive() for reader in self._readers):
            return  # still reading: closing now would break the reader, not end it
        self.process.stdout.close()
        self.process.stderr.close()

    def text(self, stream: str = "stderr") -> str:
        return "".join(self.stderr if stream == "stderr" else self.stdout)

    @property
    def dumpable(self) -> str:
        lines = [line.strip() for line in self.stderr if line.startswith("dumpable=")]
        assert lines, f"the child did not report PR_GET_DUMPABLE:\n{self.text('stderr')}"
        return lines[-1].removeprefix("dumpable=")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_pipes()


def run(args: list[str], tmp_path: Path, **options) -> Child:
    """Run `smtp-desktop ARGS` to the end."""
    child = Child(args, tmp_path, **options)
    child.wait()
    return child
