"""Small helpers for driving the window by its public objectNames."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

from smtp_desktop.config.model import SmtpSettings

W = TypeVar("W", bound=QWidget)


def child(window: QWidget, cls: type[W], name: str) -> W:
    found = window.findChild(cls, name)
    assert found is not None, f"no {cls.__name__} named {name!r}"
    return found


def load_into(window: QWidget, settings: SmtpSettings, password: str | None = None) -> None:
    """Type `settings` (and a password) into the window's @own fields, as a user would."""
    from PySide6.QtWidgets import QAbstractButton, QLineEdit, QRadioButton, QSpinBox, QTableView

    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    child(window, QLineEdit, "hostEdit").setText(settings.host)
    child(window, QSpinBox, "portSpin").setValue(settings.port)
    child(window, QLineEdit, "usernameEdit").setText(settings.username)
    child(window, QTableView, "keysTable").model().set_keys(settings.keys)
    if password is not None:
        child(window, QLineEdit, "passwordEdit").setText(password)


def leave(field: QWidget) -> None:
    """Move the keyboard focus out of `field`, as Tab or a click elsewhere does."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QFocusEvent
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(field, QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.TabFocusReason))
