"""The question a window with unsaved changes asks before it closes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget


def confirm_close(window: QWidget, save: Callable[[], bool], stopping: Callable[[], bool]) -> bool:
    """Ask Save / Discard / Cancel about unsaved changes; True when `window` may close. A stop
    signal that came while the question was open (`stopping()`) closes it without saving."""
    answer = ask_to_save(window)
    if stopping():
        return True
    if answer == QMessageBox.StandardButton.Cancel:
        return False
    return answer != QMessageBox.StandardButton.Save or save()


def ask_to_save(parent: QWidget) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel, through `QMessageBox.question` so that test suites can answer it
    by monkeypatching; Discard gets Alt+D."""
    QTimer.singleShot(0, _give_discard_a_mnemonic)
    return QMessageBox.question(
        parent, "Unsaved changes", "Save the changes to the SMTP configuration?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Save)


def _give_discard_a_mnemonic() -> None:
    """The close question's Discard button gets Alt+D (Qt's standard text has none)."""
    box = QApplication.activeModalWidget()
    if isinstance(box, QMessageBox):
        button = box.button(QMessageBox.StandardButton.Discard)
        if button is not None:
            button.setText("&Discard")
