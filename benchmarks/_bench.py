"""Shared helpers for the benchmark scripts: paths, machine description, statistics, tables.

Importing this module puts the repository root and tests/ on sys.path, so the scripts can use
`smtp_desktop` and the test servers in `support.smtp_servers` when run as
`python benchmarks/bench_x.py` from anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
for _path in (str(REPO), str(REPO / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

PYTHON = sys.executable


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    try:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        qt = f"PySide6 {pyside_version} (Qt {qVersion()})"
    except ImportError:  # pragma: no cover - the venv has PySide6
        qt = "PySide6 not installed"
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": f"{os.cpu_count()} logical CPUs ({usable} usable), {cpu}",
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "qt": qt,
    }


def print_header(title: str) -> None:
    print(f"== {title}")
    for key, value in machine().items():
        print(f"   {key:7} {value}")
    print()


@dataclass(frozen=True)
class Summary:
    """Median and spread of repeated measurements (same unit as the samples)."""

    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    def text(self, unit: str = "ms", digits: int = 1) -> str:
        f = f"{{:.{digits}f}}"
        return (f"{f.format(self.median)} {unit} "
                f"[IQR {f.format(self.q1)}–{f.format(self.q3)}, "
                f"range {f.format(self.low)}–{f.format(self.high)}, n={self.n}]")


def summarize(samples: Iterable[float]) -> Summary:
    values = sorted(samples)
    if not values:
        raise ValueError("no samples")
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return Summary(len(values), statistics.median(values), q1, q3, values[0], values[-1])


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, one line per row, columns padded to fit."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def isolated_env(home: Path) -> dict[str, str]:
    """An environment that never touches the user's config, data or keyring and needs no display.

    Call it once per benchmark run with one folder, so that the bytecode cache in it is reused
    by every repetition (after a warm-up run).
    """
    env = dict(os.environ)
    env.update({
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "SMTP_DESKTOP_CONFIG_DIR": str(home / "config"),
        "SMTP_DESKTOP_DATA_DIR": str(home / "data"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    })
    env.pop("SMTP_DESKTOP_COLOR_SCHEME", None)
    # Bytecode is cached as in an installed app, but in our own folder, not the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    (home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    return env


class ServerProcess:
    """The local test servers (benchmarks/_servers.py) in their own process.

    A separate process keeps the servers' Python work off the measured process's GIL, as a real
    mail server would be. Only 127.0.0.1 is used. `info` holds `ca_file`, `starttls_port`,
    `silent_port`, `username` and `password`; `stop()` returns the server's final report.
    """

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="smtp-bench-servers-")
        self._proc = subprocess.Popen(
            [PYTHON, str(BENCH_DIR / "_servers.py"), self._folder.name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.kill()
            raise RuntimeError("the server process did not start")
        self.info: dict[str, object] = json.loads(line)

    def trust_env(self, store: str = "test CA") -> dict[str, str]:
        """SSL_CERT_FILE/SSL_CERT_DIR for ssl.create_default_context().

        store "test CA": the trust store holds exactly the test CA (as in the test suite);
        "system+test CA": the system's CA bundle plus the test CA, as costly to load as the
        real one.
        """
        cafile = self.info["ca_file"] if store == "test CA" else self.info["bundle_file"]
        return {"SSL_CERT_FILE": str(cafile), "SSL_CERT_DIR": str(Path(self._folder.name, "empty"))}

    def stop(self) -> dict[str, object]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        try:
            rest = self._proc.stdout.read()
            self._proc.wait(30)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
            self._folder.cleanup()
        lines = [line for line in rest.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else {}

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None:
            self.stop()
