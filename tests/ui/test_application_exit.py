"""The real entry path opens the window and quits cleanly (no crash in interpreter shutdown)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref

# argv: the folder for settings and data, when to quit (ms), and how long the transport warm-up
# takes (s; 0 leaves the real one in place).
OPEN_AND_QUIT = """
import sys, time
from pathlib import Path
from PySide6.QtCore import QTimer
import smtp_desktop.mail
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.ui import application

root, quit_ms, warm_up_s = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
if warm_up_s:
    smtp_desktop.mail.warm_up = lambda: time.sleep(warm_up_s)
app = application.create_application([])
QTimer.singleShot(quit_ms, app.quit)
sys.exit(application.run_window(ConfigService(AppPaths(root / "c", root / "d"))))
"""


def open_and_quit(folder, quit_ms: int, warm_up_s: float = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    return subprocess.run(
        [sys.executable, "-c", OPEN_AND_QUIT, str(folder), str(quit_ms), str(warm_up_s)],
        env=env, capture_output=True, text=True, timeout=120)


def test_window_opens_and_quits_with_exit_code_0(tmp_path):
    result = open_and_quit(tmp_path, quit_ms=300)

    assert result.returncode == 0, result.stderr
    assert "shared QObject was deleted directly" not in result.stderr


def test_quitting_while_a_worker_runs_lets_it_finish_quietly(tmp_path):
    result = open_and_quit(tmp_path, quit_ms=400, warm_up_s=0.8)  # still warming up at quit

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Error calling Python override" not in result.stderr


def test_a_closed_window_is_freed_when_dropped_not_by_the_cyclic_collector(config_service, qapp):
    """The cyclic garbage collector runs in whichever thread allocates at the time (a worker, the
    test SMTP server). A window caught in a reference cycle would have its Qt objects destroyed
    there, which crashes; freed by reference counting, it goes in the thread that drops it."""
    from smtp_desktop.ui.main_window import SettingsWindow

    gc.disable()
    try:
        window = SettingsWindow(config_service)
        window.show()
        window.show_tab("outbox")  # the tabs' services exist now too
        window.show_tab("history")
        qapp.processEvents()
        freed = weakref.ref(window)
        window.close()
        del window
        assert freed() is None
    finally:
        gc.enable()
