"""Create the QApplication and the window; the GUI half of the composition root."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from smtp_desktop.config.service import ConfigService
from smtp_desktop.resource_files import resource_path
from smtp_desktop.ui.main_window import SettingsWindow


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons/smtp-desktop.svg")))


def run_window(config: ConfigService) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("smtp-desktop")
    app.setDesktopFileName("smtp-desktop")
    app.setWindowIcon(app_icon())
    window = SettingsWindow(config)
    window.show()
    return app.exec()
