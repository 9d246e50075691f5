"""Before its first paint the window loads only what that paint needs (issue 6's start-up path).

The transport, the keyring, the outbox, the history, the keys-text parser and `html` load on
first use or in the warm-up worker that starts after the keyring check. The check is held back
here, so that only the start-up path itself is looked at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

OFF_THE_PATH = ("smtp_desktop.checks", "smtp_desktop.mail", "smtp_desktop.outbox",
                "smtp_desktop.history", "smtp_desktop.config.keys_text", "html", "smtplib", "ssl",
                "email", "keyring", "aiosmtpd", "encodings.idna")

OPEN_AND_REPORT = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QEvent, QObject, QTimer
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.ui import main_window
from smtp_desktop.ui.application import create_application

main_window.KEYRING_CHECK_DELAY_MS = 600_000  # the warm-up after it would load the transport
root, watched = Path(sys.argv[1]), json.loads(sys.argv[2])
app = create_application([])
window = main_window.SettingsWindow(ConfigService(AppPaths(root / "c", root / "d")))

def report():
    print(json.dumps({"painted": True, "loaded": [m for m in watched if m in sys.modules],
                      "service": "smtp_desktop.config.service" in sys.modules}))
    app.quit()

class FirstPaint(QObject):
    def eventFilter(self, watched_object, event):
        if event.type() == QEvent.Type.Paint:
            window.removeEventFilter(self)
            QTimer.singleShot(0, report)
        return False

watcher = FirstPaint()
window.installEventFilter(watcher)
window.show()
QTimer.singleShot(60_000, app.quit)
app.exec()
"""


def test_nothing_the_first_paint_does_not_need_is_loaded_before_it(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    result = subprocess.run(
        [sys.executable, "-c", OPEN_AND_REPORT, str(tmp_path), json.dumps(OFF_THE_PATH)],
        env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["painted"] and report["service"]  # the window did open, through the service
    assert report["loaded"] == []
