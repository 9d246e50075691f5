"""A seeded random walk over the real window, as a user's long session: run as a child process.

Usage: python soak_child.py SEED KEYSTROKES CLICKS RESULT_FILE

Types into every line edit and the port, clicks the toggle, the radios, presets, the keys table's
buttons, Save/Revert, the side tabs, and sends or probes against a local aiosmtpd server (some of
them cancelled). Prints nothing on success; writes {"keystrokes", "clicks", "checks",
"cancelled", "none_before", "none_after"} to RESULT_FILE. An abort (e.g. Python's "deallocating
None") kills this process, which the parent test reports.

Only 127.0.0.1 is ever contacted: whatever was typed, host and port are set to the local server
just before a check starts.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support.*

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QTableView,
    QTabWidget,
    QWidget,
)
from support.memory_keyring import MemoryKeyring
from support.smtp_servers import start_smtp_server

from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService
from smtp_desktop.outbox import Outbox
from smtp_desktop.ui.main_window import SettingsWindow
from smtp_desktop.ui.outbox_panel import OutboxPanel

LINE_EDITS = ("hostEdit", "usernameEdit", "passwordEdit", "testRecipientEdit", "testSenderEdit")
BUTTONS = ("smtpEnabledToggle", "serviceTestsigmaRadio", "serviceOwnRadio", "addKeyButton",
           "removeKeyButton", "saveButton", "revertButton", "showPasswordButton",
           "transcriptToggle", "presetOfferButton", "consistencyFixButton", "copyTranscriptButton",
           "outboxRefreshButton", "outboxCopyCodeButton", "outboxCopyLinkButton")
TYPED = "abcdefghijklmnopqrstuvwxyz0123456789.@-_ "
SPECIAL_KEYS = (Qt.Key.Key_Backspace, Qt.Key.Key_Delete, Qt.Key.Key_Left, Qt.Key.Key_Right,
                Qt.Key.Key_Home, Qt.Key.Key_End)
CHECK_TIMEOUT_MS = 20_000
MAILS = Path(__file__).parents[1] / "data" / "mails"


class Walk:
    def __init__(self, window: SettingsWindow, server, rng: random.Random) -> None:
        self.window, self.server, self.rng = window, server, rng
        self.keystrokes = self.clicks = self.checks = self.cancelled = 0

    def find(self, cls: type, name: str):
        widget = self.window.findChild(cls, name)
        assert widget is not None, name
        return widget

    def settle(self) -> None:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)

    def click(self, widget: QWidget) -> None:
        """A click where a user can click: hidden or disabled widgets are not counted."""
        if widget.isVisible() and widget.isEnabled():
            QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
            self.clicks += 1
            self.settle()

    def type_into(self, widget: QWidget, count: int) -> None:
        if not (widget.isVisible() and widget.isEnabled()):
            widget = self.window
        for _ in range(count):
            if self.rng.random() < 0.15:
                QTest.keyClick(widget, self.rng.choice(SPECIAL_KEYS))
            else:
                QTest.keyClicks(widget, self.rng.choice(TYPED))
            self.keystrokes += 1
        self.settle()

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.55:
            self.type_into(self.find(QLineEdit, self.rng.choice(LINE_EDITS)), self.rng.randint(1, 12))
        elif roll < 0.62:
            spin = self.find(QSpinBox, "portSpin")
            for _ in range(self.rng.randint(1, 4)):
                QTest.keyClick(spin, self.rng.choice((Qt.Key.Key_Up, Qt.Key.Key_Down)))
                self.keystrokes += 1
            self.settle()
        elif roll < 0.67:
            focused = QApplication.focusWidget() or self.window
            self.type_into(focused, self.rng.randint(1, 6))  # wherever the focus is: table editor
        elif roll < 0.70:
            combo = self.find(QComboBox, "presetCombo")
            if combo.isEnabled() and combo.count():
                combo.setCurrentIndex(self.rng.randrange(combo.count()))
            self.clicks += 1
            self.settle()
        elif roll < 0.72:
            tabs = self.find(QTabWidget, "sideTabs")
            self.click(tabs.tabBar())
            tabs.setCurrentIndex(self.rng.randrange(tabs.count()))
        elif roll < 0.75:
            self.read_outbox()
        elif roll < 0.79:
            self.check()
        else:
            self.click(self.find(QAbstractButton, self.rng.choice(BUTTONS)))

    def read_outbox(self) -> None:
        """On the Outbox tab: select a message, turn to a view of it, pick how the outbox answers."""
        self.find(QTabWidget, "sideTabs").setCurrentIndex(1)
        view = self.find(QTableView, "outboxView")
        if view.model().rowCount():
            view.selectRow(self.rng.randrange(view.model().rowCount()))
        tabs = self.find(QTabWidget, "outboxMessageTabs")
        tabs.setCurrentIndex(self.rng.randrange(tabs.count()))
        combo = self.find(QComboBox, "outboxFaultCombo")
        if combo.isEnabled():
            combo.setCurrentIndex(self.rng.randrange(combo.count()))
        self.clicks += 1
        self.settle()

    def check(self) -> None:
        """Send or probe against the local server; sometimes cancel it halfway."""
        toggle = self.find(QAbstractButton, "smtpEnabledToggle")
        if not toggle.isChecked():
            self.click(toggle)
        own = self.find(QAbstractButton, "serviceOwnRadio")
        if not own.isChecked():
            self.click(own)
        self.find(QLineEdit, "hostEdit").setText(self.server.host)
        self.find(QSpinBox, "portSpin").setValue(self.server.port)
        self.find(QLineEdit, "usernameEdit").setText("soak@example.test")
        self.find(QLineEdit, "testRecipientEdit").setText("soak@example.test")
        button = self.find(QAbstractButton, self.rng.choice(("sendTestButton", "probeButton")))
        if not button.isEnabled():  # e.g. an empty row in the keys table: clear it, as a user would
            self.find(QTableView, "keysTable").model().set_keys((("mail.smtp.auth", "false"),))
            self.settle()
        self.click(button)
        if self.window.check_running:
            self.checks += 1
            if self.checks % 3 == 2:  # every third check is cancelled while it runs
                self.click(self.find(QAbstractButton, "cancelTestButton"))
                self.cancelled += 1
            deadline = QDeadlineTimer(CHECK_TIMEOUT_MS)
            while self.window.check_running and not deadline.hasExpired():
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            assert not self.window.check_running, "a check did not finish"


def main() -> int:
    seed, keystrokes, clicks, result_file = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                             Path(sys.argv[4]))
    # No modal prompt may block the walk: every question is answered, every notice dismissed.
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    for name in ("information", "warning", "critical"):
        setattr(QMessageBox, name, staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))
    server = start_smtp_server("none", auth=False)
    app = QApplication([])
    with tempfile.TemporaryDirectory() as root:
        paths = AppPaths(Path(root) / "c", Path(root) / "d")
        config = ConfigService(paths, SecretStore(MemoryKeyring()))
        outbox = Outbox(paths.outbox_folder)  # mail to read on the Outbox tab: the QA corpus
        for mail in sorted(MAILS.glob("*.eml")):
            outbox.add(mail.read_bytes(), "soak@example.test", ["soak@example.test"])
        window = SettingsWindow(config)
        window.show()
        deadline = QDeadlineTimer(30_000)
        while not window.keyring_ready and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        walk = Walk(window, server, random.Random(seed))
        shown = []  # messages the Outbox tab showed (text, HTML, links and codes)
        window.findChild(OutboxPanel).message_loaded.connect(shown.append)
        none_before = sys.getrefcount(None)
        while walk.keystrokes < keystrokes or walk.clicks < clicks:
            walk.step()
        none_after = sys.getrefcount(None)
        window.close()
        window.deleteLater()
        app.processEvents()
    server.stop()
    result_file.write_text(json.dumps({
        "keystrokes": walk.keystrokes, "clicks": walk.clicks, "checks": walk.checks,
        "cancelled": walk.cancelled, "messages_shown": len(shown), "none_before": none_before,
        "none_after": none_after}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
