"""Our one worker pattern: a QRunnable whose signals live on a separate QObject.

`run()` catches every exception and emits `errored`, always emits `finished`, and the owner keeps
a reference until then. Inputs are gathered before the worker starts; it never reads widgets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    succeeded = Signal(object)
    errored = Signal(object)
    finished = Signal()


class Worker(QRunnable):
    """Runs `function()` on a pool thread and reports through `signals`."""

    def __init__(self, function: Callable[[], Any]) -> None:
        super().__init__()
        self._function = function
        self.signals = WorkerSignals()

    def run(self) -> None:
        try:
            result = self._function()
        except Exception as exc:  # reported to the GUI thread, never lost
            log.exception("worker failed")
            self._emit("errored", exc)
        else:
            self._emit("succeeded", result)
        finally:
            self._emit("finished")

    def _emit(self, name: str, *args: object) -> None:
        try:
            getattr(self.signals, name).emit(*args)
        except RuntimeError:  # the application is shutting down: nobody is left to tell
            log.debug("worker finished after its signals were deleted")


_running: set[Worker] = set()


def start_worker(worker: Worker) -> None:
    """Start `worker` on the global pool, keeping it alive until it has finished.

    The Python wrapper must outlive `run()` even when the widget that started it is closed,
    so a module-level registry, not the widget, holds it.
    """
    from PySide6.QtCore import QThreadPool

    _running.add(worker)
    worker.signals.finished.connect(lambda: _running.discard(worker))
    QThreadPool.globalInstance().start(worker)


def running_workers() -> int:
    return len(_running)
