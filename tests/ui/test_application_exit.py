"""The real entry path opens the window and quits cleanly (no crash in interpreter shutdown)."""

from __future__ import annotations

import os
import subprocess
import sys

QUIT_AFTER_START = """
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.ui import application

app = application.create_application([])
QTimer.singleShot(300, app.quit)
root = Path(sys.argv[1])
sys.exit(application.run_window(ConfigService(AppPaths(root / "c", root / "d"))))
"""


def test_window_opens_and_quits_with_exit_code_0(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    result = subprocess.run([sys.executable, "-c", QUIT_AFTER_START, str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "shared QObject was deleted directly" not in result.stderr


QUIT_WHILE_A_WORKER_RUNS = """
import sys, time
from pathlib import Path
from PySide6.QtCore import QTimer
import smtp_desktop.mail
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.ui import application

smtp_desktop.mail.warm_up = lambda: time.sleep(0.8)  # still running when the app quits
app = application.create_application([])
QTimer.singleShot(400, app.quit)
root = Path(sys.argv[1])
sys.exit(application.run_window(ConfigService(AppPaths(root / "c", root / "d"))))
"""


def test_quitting_while_a_worker_runs_lets_it_finish_quietly(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    result = subprocess.run([sys.executable, "-c", QUIT_WHILE_A_WORKER_RUNS, str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Error calling Python override" not in result.stderr
