"""Create the QApplication and the window; the GUI half of the composition root."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QSocketNotifier,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from smtp_desktop.config.service import ConfigService
from smtp_desktop.resource_files import resource_path

if TYPE_CHECKING:
    from smtp_desktop.ui.main_window import SettingsWindow

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


# The signals that stop the window, and the exit code each one ends it with.
STOP_SIGNALS: dict[int, int] = {
    signum: code for name, code in (("SIGINT", 130), ("SIGTERM", 0), ("SIGHUP", 0))
    if (signum := getattr(signal, name, None)) is not None}


class StopSignals(QObject):
    """SIGINT, SIGTERM and SIGHUP arrive as `received(signum)` from Qt's event loop.

    Python runs a signal handler only between bytecodes, and none run while Qt waits for events,
    so Ctrl+C would wait for the next click and then raise KeyboardInterrupt inside a slot.
    Instead the C-level handler writes the signal number to a socket (`signal.set_wakeup_fd`)
    whose QSocketNotifier wakes the event loop at once. Use from the main thread; `restore()`
    puts the previous handlers back.
    """

    received = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        # A Python handler must be set for the wakeup byte to be written; it has nothing to do.
        self._previous = {signum: signal.signal(signum, _note_signal) for signum in STOP_SIGNALS}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_notifier_activated)

    def _on_notifier_activated(self, *_args: object) -> None:
        try:
            data = self._reader.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            if signum in STOP_SIGNALS:
                self.received.emit(signum)

    def restore(self) -> None:
        """Put back the handlers and wakeup fd that were there before."""
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._reader.close()
        self._writer.close()


def _note_signal(signum: int, frame: object) -> None:
    """The Python half of a stop signal: the wakeup socket already carries it to the loop."""


def stop_window(window: SettingsWindow, signum: int,
                stderr: Callable[[str], object] | None = None) -> int:
    """Close `window` for a stop signal and return the exit code (SIGINT 130, else 0).

    No unsaved-changes question: the changes are discarded, which stderr is told; a running
    check is cancelled.
    """
    say = stderr or (lambda text: print(text, file=sys.stderr, flush=True))
    if window.isWindowModified():
        say(f"{signal.Signals(signum).name}: unsaved changes discarded.")
    window.close_without_asking()
    return STOP_SIGNALS[signum]


def run_window(config: ConfigService, **window_options: object) -> int:
    """Show the window until it is closed or a stop signal arrives; returns the exit code."""
    from smtp_desktop.ui.main_window import SettingsWindow

    app = create_application()
    window = SettingsWindow(config, **window_options)  # type: ignore[arg-type]
    window.setWindowIcon(app_icon())
    stop_code: list[int] = []
    stop_signals = StopSignals()

    def on_stop_signal(signum: int) -> None:
        if not stop_code:
            stop_code.append(stop_window(window, signum))
        app.exit(stop_code[0])

    stop_signals.received.connect(on_stop_signal)
    window.show()
    try:
        code = app.exec()
    finally:
        stop_signals.restore()
    if stop_code:  # closing the last window also asks the loop to quit, with 0
        code = stop_code[0]
    # Let workers still running (a keyring check, the transport warm-up; a check was cancelled
    # by closeEvent) finish while their Qt objects exist, but never hold the exit for long.
    QThreadPool.globalInstance().waitForDone(WORKER_EXIT_WAIT_MS)
    # Delete the window while the application still exists: left to garbage collection at
    # interpreter exit, PySide may destroy them in the wrong order and crash on the way out.
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code
