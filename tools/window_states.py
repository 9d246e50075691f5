"""Pictures of the window in each state, in the light and the dark scheme (issue 15's proof).

    QT_QPA_PLATFORM=offscreen python tools/window_states.py OUT_DIR [WIDTHxHEIGHT]

Renders the real window offscreen (widget.grab()) on a private config folder and an in-memory
keyring: fresh (SMTP off, Testsigma), @own on an empty form after Save (every error shown),
@own filled with a consistency warning, and a failed test against a closed local port.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QLineEdit,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QTextBrowser,
)

from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService
from smtp_desktop.demo import MemoryKeyring
from smtp_desktop.ui import application
from smtp_desktop.ui.main_window import SettingsWindow


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def states(window: SettingsWindow):
    def find(cls, name):
        return window.findChild(cls, name)

    yield "fresh"
    find(QAbstractButton, "smtpEnabledToggle").setChecked(True)
    find(QRadioButton, "serviceOwnRadio").setChecked(True)
    yield "own-empty"
    window.save()
    yield "own-errors-after-save"
    find(QLineEdit, "hostEdit").setText("smtp.example.com")
    find(QSpinBox, "portSpin").setValue(465)
    find(QLineEdit, "usernameEdit").setText("me@gmail.com")
    yield "own-consistency-and-offer"
    find(QLineEdit, "hostEdit").setText("127.0.0.1")
    find(QSpinBox, "portSpin").setValue(closed_port())
    find(QLineEdit, "passwordEdit").setText("not-a-real-password")
    done = QEventLoop()
    window.check_finished.connect(done.quit)
    find(QAbstractButton, "sendTestButton").click()
    done.exec()
    scroll = window.findChild(QScrollArea)
    scroll.ensureWidgetVisible(window.findChild(QTextBrowser, "testResultView"))
    yield "test-failed"


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "1024x768").split("x"))
    app = application.create_application([])
    for scheme in ("light", "dark"):
        application._set_palette(app, Qt.ColorScheme.Dark if scheme == "dark"
                                 else Qt.ColorScheme.Light)
        with tempfile.TemporaryDirectory() as folder:
            config = ConfigService(AppPaths(Path(folder) / "c", Path(folder) / "d"),
                                   SecretStore(MemoryKeyring()))
            window = SettingsWindow(config)
            window.resize(width, height)
            window.show()
            wait(400)
            for name in states(window):
                wait(150)
                path = out / f"{scheme}-{name}.png"
                window.grab().save(str(path))
                print(f"saved {path}")
            window.setWindowModified(False)
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
