"""Memory: peak RSS with the settings window open against a bare PySide6 window.

    /work/venv/bin/python benchmarks/bench_memory.py [--rounds N]

Each round starts, in rotating order, fresh processes of benchmarks/_window_child.py in the
modes `bare` (QApplication + empty QWidget), `text` (plus a label, a line edit and a button),
`app` (create_application + SettingsWindow) and `main` (the real entry point), offscreen,
with a private HOME and config folder and PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring.
Each reads VmHWM (peak RSS) and VmRSS from /proc/self/status once its window has been painted
and the event loop is idle again.
Reported: medians and spread, and the difference app - bare in MiB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

import _bench
from bench_startup import run_child

MODES = ("bare", "text", "app", "main")
MILESTONES = ("imported", "built", "first_paint", "idle")
KEYRING = "import keyring\nkeyring.get_keyring()"
OURS = "import smtp_desktop.ui.application, smtp_desktop.ui.main_window"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="processes per mode (default 7)")
    args = parser.parse_args()
    _bench.print_header("memory: peak RSS, window shown and idle (offscreen)")

    peak: dict[str, list[float]] = {m: [] for m in MODES}
    current: dict[str, list[float]] = {m: [] for m in MODES}
    modules: dict[str, int] = {}
    steps: dict[str, dict[str, list[float]]] = {m: {k: [] for k in MILESTONES} for m in MODES}
    with tempfile.TemporaryDirectory(prefix="smtp-bench-memory-") as folder:
        env = _bench.isolated_env(Path(folder))
        for mode in MODES:  # warm the bytecode cache
            run_child(mode, env)
        for round_no in range(args.rounds):
            for mode in MODES[round_no % len(MODES):] + MODES[:round_no % len(MODES)]:
                report, _, _ = run_child(mode, env)
                peak[mode].append(report["proc"]["VmHWM"] / 1024)
                current[mode].append(report["proc"].get("VmRSS", 0) / 1024)
                modules[mode] = report["modules"]
                for key in MILESTONES:
                    steps[mode][key].append(report["rss_mib"][key])
        keyring_mib = _bench.summarize(_import_growth(env, KEYRING) for _ in range(3))
        ours_mib = _bench.summarize(_import_growth(env, OURS) for _ in range(3))

    base = _bench.summarize(peak["bare"]).median
    rows = []
    for mode in MODES:
        summary = _bench.summarize(peak[mode])
        rss = _bench.summarize(current[mode])
        rows.append([mode, summary.text("MiB"), f"{rss.median:.1f} MiB",
                     f"{summary.median - base:+.1f} MiB", f"{summary.median / base:.2f}x",
                     modules[mode]])
    print(_bench.table(["process", "peak RSS (VmHWM)", "RSS at idle", "vs bare", "ratio",
                        "modules"], rows))
    print("\nRSS (MiB, median) at each milestone:")
    print(_bench.table(["process", *MILESTONES],
                       [[mode] + [f"{_bench.summarize(steps[mode][k]).median:.1f}" for k in MILESTONES]
                        for mode in MODES]))
    print("\nRSS growth of single steps, each in a fresh process after PySide6.QtWidgets:")
    print(_bench.table(["step", "growth"], [
        ["import keyring + get_keyring() (null backend)", keyring_mib.text("MiB")],
        ["import smtp_desktop.ui.application + .main_window", ours_mib.text("MiB")],
    ]))
    return 0


def _import_growth(env: dict[str, str], code: str) -> float:
    """RSS growth in MiB from running `code` in a fresh process that has imported Qt widgets."""
    source = ("import PySide6.QtWidgets\n"
              "def rss():\n"
              "    for line in open('/proc/self/status'):\n"
              "        if line.startswith('VmRSS:'):\n"
              "            return int(line.split()[1]) / 1024\n"
              f"before = rss()\n{code}\nprint(rss() - before)\n")
    out = subprocess.run([_bench.PYTHON, "-c", source], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return float(out.split()[-1])


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
