"""Issue 11, section 2: while smtp-desktop.allow-unencrypted-login is true the window shows a
red warning, `unencryptedLoginWarning`."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QRadioButton, QTableView
from support.qt import child

from smtp_desktop.config.model import DefaultService
from smtp_desktop.ui import tint

ALLOW = "smtp-desktop.allow-unencrypted-login"


def _own_with_keys(window, keys: dict[str, str]) -> None:
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    child(window, QLineEdit, "hostEdit").setText("smtp.example.com")
    child(window, QLineEdit, "usernameEdit").setText("me@example.com")
    child(window, QTableView, "keysTable").model().set_keys(tuple(keys.items()))


def test_the_warning_is_red_and_shown_only_while_the_key_is_true(window):
    warning = child(window, QLabel, "unencryptedLoginWarning")
    _own_with_keys(window, {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"})
    assert not warning.isVisible()
    _own_with_keys(window, {"mail.smtp.auth": "true", ALLOW: "true"})
    assert warning.isVisible()
    assert ALLOW in warning.text() and "unencrypted" in warning.text()
    assert warning.palette().color(QPalette.ColorRole.WindowText).name() == tint.DANGER[0]
    assert warning.font().bold()
    assert "not used by this app" not in child(window, QLabel, "keysError").text()
    _own_with_keys(window, {"mail.smtp.auth": "true", ALLOW: "false"})
    assert not warning.isVisible()


def test_the_default_service_with_the_key_shows_it_too(make_window, config_service):
    config_service.save_default_service(
        DefaultService("smtp.vendor.example", 587, "svc", "noreply@example.com",
                       (("mail.smtp.auth", "true"), (ALLOW, "true"))), "pw")
    window = make_window()
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceTestsigmaRadio").setChecked(True)
    assert child(window, QLabel, "unencryptedLoginWarning").isVisible()
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(False)
    assert not child(window, QLabel, "unencryptedLoginWarning").isVisible()
