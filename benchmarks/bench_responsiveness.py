"""Responsiveness: the GUI event loop's longest stall while checks run through the real window.

    /work/venv/bin/python benchmarks/bench_responsiveness.py [--runs K] [--rounds R]

A 1 ms precise QTimer ticks on the GUI thread; a tick's lateness is the time since the previous
tick minus 1 ms, so the worst lateness is the longest the event loop could not react. Each run
is a fresh process (so the first check is a cold one) with an offscreen SettingsWindow over a
private config folder and an in-memory keyring. It first idles for 2 s (the floor this machine
gives an idle Qt loop: the side-by-side baseline), then does R rounds of, through
SettingsWindow.start_check with values typed into the form as a user would:

    send     Send test email to aiosmtpd (STARTTLS + AUTH), in its own process on 127.0.0.1
    probe    Test connection against the same server
    silent   Send test email to a server that accepts and never answers (mail.smtp.timeout 1 s)

A phase lasts from start_check() until check_finished has been handled plus 50 ms, so the GUI
work of showing the result and repainting is included. Filling in the form between checks is
reported apart. Side by side, R more rounds make the same window updates with no transport
work at all ("GUI only": run_check replaced by a 10 ms sleep returning a real outcome), which
shows how much of a stall is the GUI's own layout and painting, and R rounds run
send_test_email in a plain thread with no window updates ("transport only"), which shows what
the worker's hold on the GIL costs the GUI thread. A last R rounds try a possible fix: the
same sends with the worker started from QTimer.singleShot(0) after start_check, once the
window has processed its "Sending…" update ("send, worker started after repaint").
K runs use the test-CA trust store, K the system-sized one (see bench_send).
One extra diagnostic run records, with a watchdog thread, what the GUI thread was doing during
stalls over 8 ms (not used for the timed numbers). Target: worst lateness < 16 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import _bench

TARGET_MS = 16.0
TICK_MS = 1
STORES = ("test CA", "system+test CA")
KINDS = ("send", "probe", "silent")
GUI_ONLY = "GUI only (send, canned outcome)"
TRANSPORT_ONLY = "transport only (send, plain thread)"
DEFERRED = "send, worker started after repaint"


# ---------------------------------------------------------------- the child (one fresh process)


class Watchdog(threading.Thread):
    """Notes the GUI thread's stack whenever the heartbeat is more than 8 ms old."""

    def __init__(self, gui_thread: int, heartbeat: list[float]) -> None:
        super().__init__(name="bench-watchdog", daemon=True)
        self.gui_thread = gui_thread
        self.heartbeat = heartbeat
        self.stop = threading.Event()
        self.active = False
        self.seen: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop.wait(0.004):
            if not self.active or time.perf_counter() - self.heartbeat[0] <= 0.008:
                continue
            frame = sys._current_frames().get(self.gui_thread)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            inner = stack[-1]
            if inner.filename == __file__ and inner.name in ("wait", "run_check", "tick"):
                where = "in Qt (C++ layout/paint/events) or waiting for the GIL"
            else:
                where = " < ".join(f"{_short(f.filename)}:{f.lineno} {f.name}"
                                   for f in reversed(stack[-4:]))[:150]
            self.seen[where] = self.seen.get(where, 0) + 1


def _short(filename: str) -> str:
    if filename.startswith("<frozen importlib"):
        return "importlib"
    for marker in ("smtp_desktop/", "site-packages/", "python3.11/"):
        if marker in filename:
            return marker.split("/")[0] + "/" + filename.split(marker, 1)[1] \
                if marker == "smtp_desktop/" else filename.split(marker, 1)[1]
    return Path(filename).name


def child(info: dict, store: str, rounds: int, diagnose: bool) -> dict:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QAbstractButton, QLineEdit, QRadioButton, QSpinBox, QTableView
    from support.memory_keyring import MemoryKeyring

    from smtp_desktop.checks import CheckKind
    from smtp_desktop.config.model import Service, SmtpSettings
    from smtp_desktop.config.paths import AppPaths
    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.config.service import ConfigService
    from smtp_desktop.ui.application import create_application
    from smtp_desktop.ui.main_window import SettingsWindow

    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    slots: dict[str, list[float]] = {}
    if diagnose:  # time the window's GUI-thread work (wrappers cost microseconds)
        for name in ("start_check", "_on_worker_succeeded", "_render",
                     "collected_settings"):
            setattr(SettingsWindow, name, _timed(slots, name, getattr(SettingsWindow, name)))

    folder = Path(tempfile.mkdtemp(prefix="smtp-bench-gui-"))
    config = ConfigService(AppPaths(folder / "config", folder / "data"), SecretStore(MemoryKeyring()))
    app = create_application([sys.argv[0]])
    window = SettingsWindow(config)
    window.show()

    host = str(info["host"])
    good = SmtpSettings(enabled=True, service=Service.OWN, host=host,
                        port=int(info["starttls_port"]), username=str(info["username"]),
                        keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true")))
    silent = SmtpSettings(enabled=True, service=Service.OWN, host=host,
                          port=int(info["silent_port"]), username="",
                          keys=(("mail.smtp.starttls.enable", "false"),
                                ("mail.smtp.timeout", "1000"), ("mail.from", "qa@example.test")))
    plan = {"send": (good, CheckKind.SEND_TEST), "probe": (good, CheckKind.PROBE),
            "silent": (silent, CheckKind.SEND_TEST)}

    def find(cls, name):  # type: ignore[no-untyped-def]
        widget = window.findChild(cls, name)
        assert widget is not None, name
        return widget

    def fill(settings: SmtpSettings, password: str | None) -> None:
        find(QAbstractButton, "smtpEnabledToggle").setChecked(True)
        find(QRadioButton, "serviceOwnRadio").setChecked(True)
        find(QLineEdit, "hostEdit").setText(settings.host)
        find(QSpinBox, "portSpin").setValue(settings.port)
        find(QLineEdit, "usernameEdit").setText(settings.username)
        find(QTableView, "keysTable").model().set_keys(settings.keys)
        find(QLineEdit, "passwordEdit").setText(password or "")
        find(QLineEdit, "testRecipientEdit").setText("qa@example.test")

    samples: dict[str, list[float]] = {}
    phase = ["startup"]
    heartbeat = [time.perf_counter()]

    phase_start = [0.0]
    finished_at: list[float | None] = [None]
    stalls: list[tuple[str, str]] = []  # (phase, when) of every tick late by >= 8 ms

    def enter(name: str) -> None:
        phase[0] = name
        phase_start[0] = time.perf_counter()
        finished_at[0] = None

    def tick() -> None:
        now = time.perf_counter()
        late = (now - heartbeat[0]) * 1000 - TICK_MS
        samples.setdefault(phase[0], []).append(late)
        if late >= 8:
            began = heartbeat[0]
            if finished_at[0] is not None and began >= finished_at[0] - 0.002:
                when = "showing the result"
            elif began - phase_start[0] < 0.03:
                when = "starting the check"
            else:
                when = "while it runs"
            stalls.append((phase[0], when))
        heartbeat[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def run_check(kind: CheckKind) -> None:
        loop = QEventLoop()
        window.check_finished.connect(loop.quit)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        guard.start(20_000)
        window.start_check(kind)
        loop.exec()
        window.check_finished.disconnect(loop.quit)
        if not guard.isActive():
            raise RuntimeError(f"{kind} did not finish within 20 s")
        guard.stop()

    watchdog = None
    if diagnose:
        watchdog = Watchdog(threading.get_ident(), heartbeat)
        watchdog.start()

    def scenario() -> None:
        wait(300)  # first paint and settle
        heartbeat[0] = time.perf_counter()
        timer.start()
        if watchdog is not None:
            watchdog.active = True
        enter("idle")
        wait(2000)
        for round_no in range(rounds):
            for name in KINDS:
                settings, kind = plan[name]
                enter("fill")
                fill(settings, str(info["password"]) if settings.username else None)
                wait(50)
                enter(f"{name} (cold)" if round_no == 0 else name)
                run_check(kind)
                wait(50)
                enter("between")
        # The same window updates with no transport work: run_check answers with the last
        # real outcome after 10 ms of sleep, so only the GUI thread's own work remains.
        from smtp_desktop import checks  # start_check imports run_check from here when it runs
        from smtp_desktop.ui import main_window

        real_run_check = checks.run_check

        def canned(*args: object, **kwargs: object) -> object:
            time.sleep(0.01)
            return canned_outcome[0]

        checks.run_check = canned  # type: ignore[assignment]
        for _ in range(rounds):
            enter("fill")
            fill(good, str(info["password"]))
            wait(50)
            enter(GUI_ONLY)
            run_check(CheckKind.SEND_TEST)
            wait(50)
            enter("between")
        checks.run_check = real_run_check
        # What-if for a fix: the same sends, but the worker starts only once the window has
        # processed the "Sending…" update (QTimer.singleShot(0, start_worker)), so the worker's
        # first burst of Python does not compete with the GUI's relayout and repaint.
        from PySide6.QtCore import QTimer as _QTimer

        real_start_worker = main_window.start_worker

        def deferred_start(worker: object) -> None:
            _QTimer.singleShot(0, lambda: real_start_worker(worker))

        main_window.start_worker = deferred_start  # type: ignore[assignment]
        for _ in range(rounds):
            enter("fill")
            fill(good, str(info["password"]))
            wait(50)
            enter(DEFERRED)
            run_check(CheckKind.SEND_TEST)
            wait(50)
            enter("between")
        main_window.start_worker = real_start_worker
        # And the transport with no window updates: send_test_email in a plain thread while
        # the GUI thread only ticks, so what remains is the GIL and the machine.
        from smtp_desktop.mail import send_test_email

        for _ in range(rounds):
            enter(TRANSPORT_ONLY)
            thread = threading.Thread(target=send_test_email,
                                      args=(good, str(info["password"]), "qa@example.test"))
            thread.start()
            while thread.is_alive():
                wait(1)
            wait(50)
            enter("between")
        if watchdog is not None:
            watchdog.active = False  # the repaints below are ours, not the app's
        if diagnose:  # what one full synchronous repaint of the window costs
            for _ in range(10):
                started = time.perf_counter()
                window.repaint()
                repaints.append((time.perf_counter() - started) * 1000)
        timer.stop()
        if watchdog is not None:
            watchdog.active = False
        window.setWindowModified(False)  # quit() closes windows: no "Unsaved changes" prompt
        app.quit()

    results_seen: list[object] = []
    canned_outcome: list[object] = [None]
    repaints: list[float] = []

    def on_finished(outcome: object) -> None:
        finished_at[0] = time.perf_counter()
        results_seen.append((outcome.ok, outcome.category.value if outcome.category else None))
        if outcome.ok and outcome.probe is None:
            canned_outcome[0] = outcome

    window.check_finished.connect(on_finished)

    def guarded_scenario() -> None:
        # An exception in a slot would be printed and the event loop would run on: end the
        # child instead of letting the parent wait for its timeout.
        try:
            scenario()
        except BaseException:
            traceback.print_exc()
            os._exit(4)

    QTimer.singleShot(0, guarded_scenario)
    app.exec()
    if watchdog is not None:
        watchdog.stop.set()
        watchdog.join(1)
    return {"store": store, "samples": samples, "outcomes": results_seen,
            "stalls_seen_at": watchdog.seen if watchdog else {}, "slots": slots,
            "repaints": repaints, "stalls": stalls}


def _timed(slots: dict[str, list[float]], name: str, function):  # type: ignore[no-untyped-def]
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            slots.setdefault(name, []).append((time.perf_counter() - started) * 1000)

    return wrapper


# ---------------------------------------------------------------- the parent


def run_child(server: _bench.ServerProcess, store: str, rounds: int, env: dict[str, str],
              diagnose: bool = False) -> dict:
    arguments = [_bench.PYTHON, __file__, "--child", json.dumps(server.info), store,
                 str(rounds)] + (["--diagnose"] if diagnose else [])
    proc = subprocess.run(arguments, env=dict(env, **server.trust_env(store)), capture_output=True,
                          text=True, timeout=180, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child exited {proc.returncode}: {proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per store (default 3)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of checks per run (default 4)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--diagnose", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        info, store, rounds = json.loads(args.rest[0]), args.rest[1], int(args.rest[2])
        print(json.dumps(child(info, store, rounds, args.diagnose)), flush=True)
        sys.stdout.flush()
        os._exit(0)  # no Qt teardown (see _window_child.py)

    _bench.print_header("responsiveness: GUI event loop lateness while checks run (offscreen)")
    reports: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="smtp-bench-gui-") as folder, \
            _bench.ServerProcess() as server:
        env = _bench.isolated_env(Path(folder))
        for run in range(args.runs):
            for store in STORES if run % 2 == 0 else STORES[::-1]:
                reports.append(run_child(server, store, args.rounds, env))
        diagnostic = run_child(server, STORES[1], 2, env, diagnose=True)
        server.stop()

    ok = True
    for store in STORES:
        mine = [r for r in reports if r["store"] == store]
        phases: dict[str, list[float]] = {}
        worst_per_run: dict[str, list[float]] = {}
        for report in mine:
            for name, values in report["samples"].items():
                phases.setdefault(name, []).extend(values)
                worst_per_run.setdefault(name, []).append(max(values))
        rows = []
        order = ("idle", "fill", *(f"{k} (cold)" for k in KINDS), *KINDS, GUI_ONLY,
                 TRANSPORT_ONLY, DEFERRED)
        for name in order:
            if name not in phases:
                continue
            values = sorted(phases[name])
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            is_check = name.split(" ")[0] in KINDS
            verdict = _bench.verdict(max(values) < TARGET_MS) if is_check else "-"
            ok = ok and (verdict != "FAIL")
            worst = _bench.summarize(worst_per_run[name])
            rows.append([name, len(values), f"{p99:.1f}", f"{max(values):.1f}",
                         f"{worst.median:.1f} ({worst.low:.1f}–{worst.high:.1f})",
                         sum(v >= TARGET_MS for v in values), verdict])
        print(f"trust store: {store}; {len(mine)} runs x {args.rounds} rounds")
        print(_bench.table(["phase", "ticks", "p99 ms", "worst ms", "worst per run: median (range)",
                            f">= {TARGET_MS:.0f} ms", f"target < {TARGET_MS:.0f} ms"], rows))
        outcomes = [o for r in mine for o in r["outcomes"]]
        print(f"check outcomes (ok, category): {sorted({tuple(o) for o in outcomes})}")
        when: dict[str, dict[str, int]] = {}
        for report in mine:
            for name, moment in report["stalls"]:
                if name.split(" ")[0] in KINDS or name in (GUI_ONLY, TRANSPORT_ONLY, DEFERRED):
                    when.setdefault(name, {}).setdefault(moment, 0)
                    when[name][moment] += 1
        print("ticks late by >= 8 ms, by moment: " + "; ".join(
            f"{name}: " + ", ".join(f"{moment} {count}" for moment, count in moments.items())
            for name, moments in when.items()) + "\n")
    seen = sorted(diagnostic["stalls_seen_at"].items(), key=lambda item: -item[1])[:8]
    print("diagnostic run: where the GUI thread was during stalls > 8 ms (watchdog samples):")
    print(_bench.table(["GUI thread stack (innermost first)", "samples"],
                       [[where, count] for where, count in seen] or [["no stall > 8 ms", 0]]))
    slot_rows = [[name, len(values), f"{_bench.summarize(values).median:.2f}", f"{max(values):.2f}"]
                 for name, values in diagnostic["slots"].items()]
    repaint = _bench.summarize(diagnostic["repaints"])
    slot_rows.append(["(window.repaint(), whole window)", repaint.n, f"{repaint.median:.2f}",
                      f"{repaint.high:.2f}"])
    print("\ndiagnostic run: the window's own GUI-thread work per call (ms), first call is cold:")
    print(_bench.table(["SettingsWindow method", "calls", "median", "max"], slot_rows))
    print(f"\nall targets met: {'yes' if ok else 'no'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
