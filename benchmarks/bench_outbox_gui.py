"""The Outbox tab with 50,000 stored messages: the longest the GUI thread stalls.

Usage: python benchmarks/bench_outbox_gui.py [--stored N] [--recipients N] [--runs N]

Fills a temporary outbox with --stored messages (default 50,000) plus one message with
--recipients recipients (default 20,000, the case that used to block the window for a minute),
then, in an offscreen OutboxPanel, measures the worst lateness of a 1 ms QTimer on the GUI thread
while the tab opens (first page), loads five more pages, and shows the big message. The index is
first used cold (missing: rebuilt from the Maildir in the worker), then warm.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import _bench  # noqa: F401  (sys.path)
from _bench import print_header, summarize, table, verdict

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class StallMeter:
    """The longest gap between ticks of a 1 ms timer, minus the 1 ms, in milliseconds."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.worst = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, (now - self._last) * 1000 - 1)
        self._last = now

    def __enter__(self) -> StallMeter:
        self.worst = 0.0
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()


def wait_for(signal, app) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(120_000, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=50_000)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print_header("bench_outbox_gui: the Outbox tab with many messages")
    from bench_outbox import fill_outbox
    from PySide6.QtWidgets import QApplication

    from smtp_desktop.outbox import Outbox
    from smtp_desktop.outbox.index import INDEX_FILE
    from smtp_desktop.ui.outbox_panel import OutboxPanel

    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory(prefix="smtp-bench-outbox-gui-") as name:
        folder = Path(name) / "outbox"
        start = time.perf_counter()
        fill_outbox(folder, args.stored)
        outbox = Outbox(folder)
        many = [f"r{n}@example.test" for n in range(args.recipients)]
        big = (f"From: big@example.test\r\nTo: {', '.join(many)}\r\nSubject: {args.recipients:,} "
               f"recipients\r\n\r\nbody\r\n").encode()
        outbox.add(big, "big@example.test", many)
        print(f"filled {args.stored:,} messages + one with {args.recipients:,} recipients in "
              f"{time.perf_counter() - start:.0f} s\n")
        rows = []
        for run in range(args.runs):
            cold = run == 0
            if cold:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{folder / INDEX_FILE}{suffix}").unlink(missing_ok=True)
            panel = OutboxPanel(lambda: outbox, folder)
            panel.resize(900, 600)
            panel.show()
            app.processEvents()
            meter = StallMeter()
            with meter:
                started = time.perf_counter()
                panel.refresh()
                wait_for(panel.refreshed, app)
                first_page = time.perf_counter() - started
            opened = meter.worst
            with meter:
                for _ in range(5):
                    panel.load_more()
                    wait_for(panel.refreshed, app)
            paged = meter.worst
            with meter:
                panel.view.selectRow(0)  # the newest: the 20,000-recipient message
                wait_for(panel.message_loaded, app)
            shown = meter.worst
            rows.append(["cold index" if cold else "warm index", f"{first_page * 1000:.0f} ms",
                         f"{opened:.1f} ms", f"{paged:.1f} ms", f"{shown:.1f} ms",
                         panel.model.rowCount()])
            panel.close()
            panel.deleteLater()
            app.processEvents()
        worst = max(max(float(r[2][:-3]), float(r[3][:-3]), float(r[4][:-3])) for r in rows)
        print(table(["run", "first page shown after", "worst stall: open", "5 more pages",
                     "select the big message", "rows"], rows))
        print(f"\nworst GUI stall {worst:.1f} ms with {args.stored:,} messages (target < 50 ms): "
              f"{verdict(worst < 50)}")
        print(f"median worst stall over runs: "
              f"{summarize([max(float(r[2][:-3]), float(r[3][:-3])) for r in rows]).median:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
