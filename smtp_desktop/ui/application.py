"""Create the QApplication and the window; the GUI half of the composition root."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QThreadPool
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from smtp_desktop.config.service import ConfigService
from smtp_desktop.resource_files import resource_path

COLOR_SCHEME_ENV = "SMTP_DESKTOP_COLOR_SCHEME"
WORKER_EXIT_WAIT_MS = 2000  # how long quitting waits for workers still running


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons/smtp-desktop.svg")))


def create_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("smtp-desktop")
    # No display name: Qt appends one to every window title that does not end in it, which read
    # "SMTP Configuration* — SMTP Configuration" while there were unsaved changes.
    app.setDesktopFileName("smtp-desktop")
    app.setWindowIcon(app_icon())
    apply_color_scheme(app)
    return app


def requested_color_scheme() -> Qt.ColorScheme:
    """SMTP_DESKTOP_COLOR_SCHEME=light|dark forces a scheme; otherwise follow the system."""
    forced = os.environ.get(COLOR_SCHEME_ENV, "").strip().lower()
    if forced == "dark":
        return Qt.ColorScheme.Dark
    if forced == "light":
        return Qt.ColorScheme.Light
    return QGuiApplication.styleHints().colorScheme()


def apply_color_scheme(app: QApplication) -> Qt.ColorScheme:
    """Use the light or dark palette; the system's choice is followed when it changes."""
    scheme = requested_color_scheme()
    forced = bool(os.environ.get(COLOR_SCHEME_ENV))
    if forced or scheme is Qt.ColorScheme.Dark:
        _set_palette(app, scheme)
    if not forced:
        app.styleHints().colorSchemeChanged.connect(lambda changed: _set_palette(app, changed))
    return scheme


def _set_palette(app: QApplication, scheme: Qt.ColorScheme) -> None:
    # Fusion honours a palette on every platform, including Xvfb which reports no scheme.
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if scheme is Qt.ColorScheme.Dark else light_palette())


def light_palette() -> QPalette:
    return QApplication.style().standardPalette()


def dark_palette() -> QPalette:
    palette = QPalette()
    # Fields (and Fusion's radio and check indicators, filled with Base) are lighter than the
    # window, so they stand out on it; darker ones left the indicators nearly invisible.
    window, base, text = QColor(37, 39, 43), QColor(58, 61, 67), QColor(230, 230, 230)
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: QColor(50, 53, 58),
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: QColor(50, 53, 58),
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.ToolTipBase: base,
        QPalette.ColorRole.ToolTipText: text, QPalette.ColorRole.Highlight: QColor(66, 133, 244),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(138, 180, 248),
        QPalette.ColorRole.PlaceholderText: QColor(165, 165, 165),
        QPalette.ColorRole.Mid: QColor(120, 124, 130), QPalette.ColorRole.Dark: QColor(20, 21, 24),
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return palette


def run_window(config: ConfigService, **window_options: object) -> int:
    from smtp_desktop.ui.main_window import SettingsWindow

    app = create_application()
    window = SettingsWindow(config, **window_options)  # type: ignore[arg-type]
    window.setWindowIcon(app_icon())
    window.show()
    code = app.exec()
    # Let workers still running (a keyring check, the transport warm-up; a check was cancelled
    # by closeEvent) finish while their Qt objects exist, but never hold the exit for long.
    QThreadPool.globalInstance().waitForDone(WORKER_EXIT_WAIT_MS)
    # Delete the window while the application still exists: left to garbage collection at
    # interpreter exit, PySide may destroy them in the wrong order and crash on the way out.
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code
