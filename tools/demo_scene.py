"""Open the demo window and click "Send test email", for README screenshots (tools/screenshot.sh).

Run under a real display (Xvfb): the window stays open until killed.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QPushButton, QScrollArea, QTableView, QTextBrowser

from smtp_desktop.demo import start_demo
from smtp_desktop.ui.application import app_icon, create_application
from smtp_desktop.ui.main_window import SettingsWindow
from smtp_desktop.ui.outbox_panel import OutboxPanel


def main() -> int:
    app = create_application()
    session = start_demo()
    window = SettingsWindow(session.config, outbox=session.outbox, banner=session.banner)
    window.setWindowIcon(app_icon())
    window.show()
    outbox_panel = window.findChild(OutboxPanel)

    def show_message(_outcome: object) -> None:
        # The list is read by a worker: select the message once it has arrived.
        outbox_panel.refreshed.connect(select_first, Qt.ConnectionType.SingleShotConnection)
        window.show_tab("outbox")
        window.findChild(QScrollArea).ensureWidgetVisible(
            window.findChild(QTextBrowser, "testResultView"))

    def select_first() -> None:
        window.findChild(QTableView, "outboxView").selectRow(0)

    window.check_finished.connect(show_message)
    QTimer.singleShot(500, window.findChild(QPushButton, "sendTestButton").click)
    try:
        return app.exec()
    finally:
        session.close()


if __name__ == "__main__":
    sys.exit(main())
