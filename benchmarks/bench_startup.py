"""Start-up: process start to the settings window shown and idle, against a bare PySide6 window.

    /work/venv/bin/python benchmarks/bench_startup.py [--rounds N]

Each round starts, in rotating order, five fresh processes (benchmarks/_window_child.py):
`bare` (QApplication + empty QWidget: the baseline), `text` (the same plus a label, a line
edit and a button, for information: the first text paint initialises fonts), `kinds` (one
widget of each kind the settings window shows, in plain PySide6 without any app code: what
the window's content costs in the bindings, a floor for this content), `app`
(create_application + SettingsWindow) and `main` (the real entry point,
smtp_desktop.app.main). Each shows its window, waits for the first paint and one more idle turn
of the event loop, and exits. QT_QPA_PLATFORM=offscreen, a private HOME and config folder,
PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring. Bytecode is cached in a private folder,
warmed by one untimed run of each.

Reported: launch -> idle (time.time() taken by this script just before starting the process,
against the child's time.time() at idle), the whole process wall clock, the milestones, the
ratio app/bare (target <= 1.5x), what each part costs in isolation, and which heavy modules
are imported before the first paint, with the line that first imports them.

With --instructions (needs valgrind), each process also runs once under callgrind, which
counts the instructions it executes up to idle. The count does not depend on the machine's
load (PYTHONHASHSEED is fixed, and the child holds back its 150 ms keyring timer, which the
slowed-down run would otherwise reach), so it compares two versions of the code to a fraction
of a percent where the wall clock on a shared machine cannot. It is work, not time: loading
shared libraries costs time and few instructions, so its ratios differ from the wall clock's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import _bench

TARGET_RATIO = 1.5
MODES = ("bare", "text", "kinds", "app", "main")
MARKS = ("interpreter", "imported", "built", "first_paint", "idle")
CHILD = str(_bench.BENCH_DIR / "_window_child.py")
# Heavy modules that should not be imported before the first paint.
OFF_PATH = ("smtplib", "ssl", "email", "keyring", "keyring.backends", "aiosmtpd",
            "smtp_desktop.mail.session", "http.client", "urllib.request")


def run_child(mode: str, env: dict[str, str], extra: tuple[str, ...] = (),
              prefix: tuple[str, ...] = ()) -> tuple[dict, float, str]:
    """One start-up; returns the child's report, the wall clock in seconds, and its stderr."""
    env = dict(env, BENCH_LAUNCH_TIME=repr(time.time()))
    started = time.perf_counter()
    proc = subprocess.run([*prefix, _bench.PYTHON, *extra, CHILD, mode], env=env,
                          capture_output=True, text=True, timeout=300 if prefix else 60,
                          check=False)
    wall = time.perf_counter() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return json.loads(lines[-1]), wall, proc.stderr


def component_costs(env: dict[str, str], repeats: int) -> list[tuple[str, _bench.Summary]]:
    """What the app's own start-up steps cost, each timed in a fresh process after Qt is loaded."""
    prelude = "import PySide6.QtWidgets, time\n"
    steps = {
        "import keyring + get_keyring() (null backend)":
            "import keyring\nkeyring.get_keyring()",
        "import smtp_desktop.ui.application + .main_window":
            "import smtp_desktop.ui.application, smtp_desktop.ui.main_window",
        "import presets + bundled_presets()":
            "from smtp_desktop.config.presets import bundled_presets\nbundled_presets()",
        "import argparse + smtp_desktop.app.build_parser() (main only)":
            "from smtp_desktop.app import build_parser\nbuild_parser()",
    }
    results = []
    for label, code in steps.items():
        source = (prelude + "t = time.perf_counter()\n" + code
                  + "\nprint(time.perf_counter() - t)\n")
        samples = []
        for _ in range(repeats):
            out = subprocess.run([_bench.PYTHON, "-c", source], env=env, capture_output=True,
                                 text=True, timeout=60, check=True).stdout
            samples.append(float(out.split()[-1]) * 1000)
        results.append((label, _bench.summarize(samples)))
    return results


def import_report(env: dict[str, str]) -> tuple[dict, dict[str, float]]:
    """One diagnostic run of `main` with -X importtime and the import-site tracer."""
    report, _, stderr = run_child("main", dict(env, BENCH_DIAGNOSE="1"), ("-X", "importtime"))
    cumulative: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = line.split("|")
        try:
            cumulative.setdefault(name.strip(), int(cum) / 1000)
        except ValueError:  # the header line
            continue
    return report, cumulative


def step_report(env: dict[str, str], repeats: int) -> list[tuple[str, int, _bench.Summary]]:
    """How long each step of building the window takes (`main`, timing wrappers only)."""
    samples: dict[str, list[float]] = {}
    calls: dict[str, int] = {}
    for _ in range(repeats):
        report, _, _ = run_child("main", dict(env, BENCH_DIAGNOSE="1"))
        for name, (count, total) in report["steps"].items():
            samples.setdefault(name, []).append(total)
            calls[name] = int(count)
        samples.setdefault("show() -> first paint (layout, polish, paint)", []).append(
            (report["marks"]["first_paint"] - report["marks"]["built"]) * 1000)
        calls["show() -> first paint (layout, polish, paint)"] = 1
    return [(name, calls[name], _bench.summarize(values)) for name, values in samples.items()]


def instruction_counts(env: dict[str, str]) -> dict[str, float]:
    """Millions of instructions each process executes to idle, counted by valgrind (callgrind)."""
    env = dict(env, PYTHONHASHSEED="0", BENCH_SLOW_MOTION="1")
    counts = {}
    for mode in MODES:
        _, _, stderr = run_child(mode, env, prefix=(
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"))
        refs = [line for line in stderr.splitlines() if "I   refs:" in line]
        counts[mode] = int(refs[-1].rsplit(":", 1)[1].replace(",", "")) / 1e6
    return counts


def _module_chain(site: str) -> str:
    """'a/b.py:3 in f via keyring/__init__.py > jaraco/context/__init__.py' in module names."""
    where, _, chain = site.partition(" via ")
    hops = [hop.strip().removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for hop in chain.split(" > ") if hop.strip()]
    return where + (f" via {' > '.join(hops)}" if hops else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed runs of each (default 15)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each process's instructions under valgrind (~2 min)")
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    _bench.print_header("start-up: launch to settings window shown and idle (offscreen)")

    with tempfile.TemporaryDirectory(prefix="smtp-bench-startup-") as folder:
        env = _bench.isolated_env(Path(folder))
        for mode in MODES:  # warm the bytecode cache and the page cache
            run_child(mode, env)

        idle: dict[str, list[float]] = {m: [] for m in MODES}
        wall: dict[str, list[float]] = {m: [] for m in MODES}
        marks: dict[str, dict[str, list[float]]] = {m: {k: [] for k in MARKS} for m in MODES}
        reports: dict[str, dict] = {}
        deadline = time.monotonic() + 240
        for round_no in range(args.rounds):
            order = MODES[round_no % len(MODES):] + MODES[:round_no % len(MODES)]
            for mode in order:
                report, seconds, _ = run_child(mode, env)
                reports[mode] = report
                idle[mode].append(report["marks"]["idle"] * 1000)
                wall[mode].append(seconds * 1000)
                for key in MARKS:
                    marks[mode][key].append(report["marks"].get(key, float("nan")) * 1000)
            if time.monotonic() > deadline:
                print(f"(time budget reached after {round_no + 1} rounds)")
                break

        costs = component_costs(env, repeats=7)
        steps = step_report(env, repeats=5)
        diagnostic, cumulative = import_report(env)
        instructions = instruction_counts(env) if args.instructions else None

    summaries = {m: _bench.summarize(idle[m]) for m in MODES}
    walls = {m: _bench.summarize(wall[m]) for m in MODES}
    base = summaries["bare"].median
    rows = []
    for mode in MODES:
        ratio = summaries[mode].median / base
        rows.append([mode, summaries[mode].text(), walls[mode].text(), f"{ratio:.2f}x",
                     _bench.verdict(ratio <= TARGET_RATIO) if mode in ("app", "main") else "-"])
    print(_bench.table(["process", "launch -> idle after first paint", "process wall clock",
                        "vs bare", f"target <= {TARGET_RATIO}x"], rows))
    paired = [a / b for a, b in zip(idle["app"], idle["bare"], strict=False)]
    print(f"\npaired per-round ratio app/bare: {_bench.summarize(paired).text('x', 2)}")
    over_floor = [a / b for a, b in zip(idle["main"], idle["kinds"], strict=False)]
    print(f"paired per-round ratio main/kinds (the app over its content's floor): "
          f"{_bench.summarize(over_floor).text('x', 2)}")

    if instructions is not None:
        print("\ninstructions to idle (valgrind callgrind, one run each; deterministic):")
        base_count = instructions["bare"]
        print(_bench.table(["process", "instructions", "vs bare", "vs kinds"], [
            [mode, f"{count:.1f} M", f"{count / base_count:.2f}x",
             f"{count / instructions['kinds']:.2f}x"] for mode, count in instructions.items()]))

    print("\nmilestones, median ms since launch:")
    rows = [[mode] + [f"{_bench.summarize(marks[mode][k]).median:.0f}" for k in MARKS]
            for mode in MODES]
    print(_bench.table(["process", "python runs", "imports done", "window built", "first paint",
                        "idle"], rows))

    print("\nwhat the app's own steps cost, each in a fresh process after PySide6 is imported:")
    print(_bench.table(["step", "time"], [[label, s.text()] for label, s in costs]))

    print("\nwhere SettingsWindow's start-up time goes (main, timing wrappers, nested rows "
          "are inside __init__/_build):")
    print(_bench.table(["step", "calls", "time"],
                       [[name, calls, s.text()] for name, calls, s in steps]))

    print("\nheavy modules in sys.modules at the first idle (timed runs):")
    for mode in MODES:
        print(f"  {mode:5} {', '.join(reports[mode]['heavy_modules']) or '-'}"
              f"  ({reports[mode]['modules']} modules)")
    print("\nwho imports them before the first paint (main, one run with -X importtime):")
    rows = []
    for name, site in diagnostic.get("import_sites", {}).items():
        cost = cumulative.get(name)
        rows.append([name, f"{cost:.1f}" if cost is not None else "-", _module_chain(site)])
    print(_bench.table(["module", "importtime cum. ms", "first imported at"], rows))
    offenders = [m for m in OFF_PATH if m in reports["main"]["heavy_modules"]]
    print(f"\nheavy modules on the start-up path: {', '.join(offenders) or 'none'}  "
          f"[{_bench.verdict(not offenders)}]")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
