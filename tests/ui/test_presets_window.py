"""Presets, detection from the address, the keys table that knows JavaMail, consistency fixes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableView,
)
from support.qt import child

from smtp_desktop.ui import application, tint


def turn_on_own(window):
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)


def keys_of(window) -> dict[str, str]:
    return dict(child(window, QTableView, "keysTable").model().keys())


def choose(window, qtbot, combo_name: str, data: str) -> None:
    combo = child(window, QComboBox, combo_name)
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_choosing_gmail_fills_host_port_keys_and_shows_its_help(window, qtbot):
    turn_on_own(window)
    choose(window, qtbot, "presetCombo", "gmail")
    assert child(window, QLineEdit, "hostEdit").text() == "smtp.gmail.com"
    assert child(window, QSpinBox, "portSpin").value() == 587
    assert keys_of(window)["mail.smtp.starttls.enable"] == "true"
    info = child(window, QLabel, "presetInfoLabel")
    assert info.isVisible() and "app password" in info.text().lower()
    assert not child(window, QComboBox, "regionCombo").isVisible()


def test_preset_with_regions_shows_the_region_choice(window, qtbot):
    turn_on_own(window)
    choose(window, qtbot, "presetCombo", "ses")
    region = child(window, QComboBox, "regionCombo")
    assert region.isVisible() and region.count() > 3
    choose(window, qtbot, "regionCombo", "eu-west-1")
    assert child(window, QLineEdit, "hostEdit").text() == "email-smtp.eu-west-1.amazonaws.com"
    assert "SMTP credentials" in child(window, QLabel, "presetInfoLabel").text()


def test_oauth2_only_provider_says_so_plainly(window, qtbot):
    turn_on_own(window)
    choose(window, qtbot, "presetCombo", "outlook")
    assert "OAuth2" in child(window, QLabel, "presetInfoLabel").text()


def test_sendgrid_shows_its_username_convention(window, qtbot):
    turn_on_own(window)
    choose(window, qtbot, "presetCombo", "sendgrid")
    assert "apikey" in child(window, QLabel, "presetInfoLabel").text()


def test_an_email_username_offers_the_matching_preset_without_overwriting(window, qtbot):
    turn_on_own(window)
    host = child(window, QLineEdit, "hostEdit")
    host.setText("mail.mine.example")
    qtbot.keyClicks(child(window, QLineEdit, "usernameEdit"), "someone@googlemail.com")
    offer = child(window, QLabel, "presetOfferLabel")
    assert offer.isVisible() and "Gmail" in offer.text()
    assert host.text() == "mail.mine.example"  # an offer, never a silent overwrite
    qtbot.mouseClick(child(window, QPushButton, "presetOfferButton"), Qt.MouseButton.LeftButton)
    assert host.text() == "smtp.gmail.com"
    assert not offer.isVisible()
    assert child(window, QLineEdit, "usernameEdit").text() == "someone@googlemail.com"


def test_no_offer_for_unknown_domains(window, qtbot):
    turn_on_own(window)
    qtbot.keyClicks(child(window, QLineEdit, "usernameEdit"), "me@company.example")
    assert not child(window, QLabel, "presetOfferLabel").isVisible()


def test_editing_the_host_away_from_a_preset_selects_custom(window, qtbot):
    turn_on_own(window)
    choose(window, qtbot, "presetCombo", "gmail")
    host = child(window, QLineEdit, "hostEdit")
    host.clear()
    qtbot.keyClicks(host, "smtp.example.org")
    assert child(window, QComboBox, "presetCombo").currentData() == "custom"


def test_key_names_complete_from_the_catalogue(window, qtbot):
    turn_on_own(window)
    table = child(window, QTableView, "keysTable")
    qtbot.mouseClick(child(window, QPushButton, "addKeyButton"), Qt.MouseButton.LeftButton)
    editor = table.findChild(QLineEdit, "keyNameEditor")
    assert editor is not None
    completer = editor.completer()
    completer.setCompletionPrefix("starttls")
    names = [completer.completionModel().index(i, 0).data()
             for i in range(completer.completionModel().rowCount())]
    assert "mail.smtp.starttls.enable" in names and "mail.smtp.starttls.required" in names


def test_paste_a_seed_block_adds_rows(window, qtbot):
    turn_on_own(window)
    QGuiApplication.clipboard().setText(
        "{ mail.smtp.auth: true, mail.smtp.timeout: 5000, mail.smtp.ssl.trust: smtp.x.example }")
    qtbot.mouseClick(child(window, QPushButton, "pasteKeysButton"), Qt.MouseButton.LeftButton)
    keys = keys_of(window)
    assert keys["mail.smtp.timeout"] == "5000"
    assert keys["mail.smtp.ssl.trust"] == "smtp.x.example"
    assert len(keys) == 4
    assert "Pasted 2 new" in child(window, QLabel, "statusLabel").text()


def test_ctrl_v_on_the_table_pastes_key_value_lines(window, qtbot):
    turn_on_own(window)
    QGuiApplication.clipboard().setText("mail.smtp.connectiontimeout=3000\n# comment\n")
    table = child(window, QTableView, "keysTable")
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert keys_of(window)["mail.smtp.connectiontimeout"] == "3000"


@pytest.mark.parametrize(("answer", "expected"), [
    (QMessageBox.StandardButton.No, "true"),
    (QMessageBox.StandardButton.Yes, "false"),
])
def test_conflicting_pasted_values_replace_only_after_asking(window, qtbot, monkeypatch, answer,
                                                             expected):
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or answer)
    turn_on_own(window)
    QGuiApplication.clipboard().setText('{"mail.smtp.starttls.enable": false}')
    qtbot.mouseClick(child(window, QPushButton, "pasteKeysButton"), Qt.MouseButton.LeftButton)
    assert len(asked) == 1
    assert keys_of(window)["mail.smtp.starttls.enable"] == expected


def test_unparseable_paste_changes_nothing_and_says_why(window, qtbot):
    turn_on_own(window)
    before = keys_of(window)
    QGuiApplication.clipboard().setText("{ mail.smtp.auth true")
    qtbot.mouseClick(child(window, QPushButton, "pasteKeysButton"), Qt.MouseButton.LeftButton)
    assert keys_of(window) == before
    assert "Nothing pasted" in child(window, QLabel, "statusLabel").text()


def test_port_465_without_ssl_enable_is_flagged_and_fixed_in_one_click(window, qtbot):
    turn_on_own(window)
    child(window, QLineEdit, "hostEdit").setText("smtp.example.com")
    child(window, QLineEdit, "usernameEdit").setText("me@example.com")
    child(window, QSpinBox, "portSpin").setValue(465)
    warning = child(window, QLabel, "consistencyWarning")
    assert warning.isVisible() and "465" in warning.text()
    qtbot.mouseClick(child(window, QPushButton, "consistencyFixButton"), Qt.MouseButton.LeftButton)
    assert keys_of(window)["mail.smtp.ssl.enable"] == "true"
    assert not warning.isVisible()
    assert "Implicit TLS on 465" in child(window, QLabel, "securitySummaryLabel").text()


def test_password_over_plain_text_to_a_remote_host_is_a_strong_warning(window):
    turn_on_own(window)
    child(window, QLineEdit, "hostEdit").setText("smtp.example.com")
    child(window, QLineEdit, "usernameEdit").setText("me@example.com")
    model = child(window, QTableView, "keysTable").model()
    model.setData(model.index(1, 1), "false")
    warning = child(window, QLabel, "consistencyWarning")
    assert warning.isVisible() and "unencrypted" in warning.text()
    child(window, QLineEdit, "hostEdit").setText("127.0.0.1")  # loopback is fine
    assert not warning.isVisible()


def test_security_summary_for_the_seed_defaults(window):
    turn_on_own(window)
    child(window, QLineEdit, "hostEdit").setText("smtp.gmail.com")
    summary = child(window, QLabel, "securitySummaryLabel").text()
    assert summary.startswith("STARTTLS on 587")
    assert "certificate verified" in summary


def text_colour(label: QLabel) -> str:
    return label.palette().color(QPalette.ColorRole.WindowText).name()


def test_warnings_stay_readable_when_the_palette_switches_to_dark_and_back(
        window, qapp, qtbot, restore_palette):
    turn_on_own(window)
    child(window, QLineEdit, "hostEdit").setText("smtp example.com")  # a field error
    model = child(window, QTableView, "keysTable").model()
    model.setData(model.index(1, 1), "false")  # the password would go out unencrypted
    host_error = child(window, QLabel, "hostError")
    host_error.reveal()  # as leaving the field does
    warning = child(window, QLabel, "consistencyWarning")
    assert host_error.isVisible() and warning.isVisible()
    assert text_colour(host_error) == tint.ERROR[0]
    assert text_colour(warning) == tint.DANGER[0] and warning.font().bold()

    application._set_palette(qapp, Qt.ColorScheme.Dark)
    qtbot.waitUntil(lambda: text_colour(host_error) == tint.ERROR[1])
    assert text_colour(warning) == tint.DANGER[1] and warning.font().bold()
    background = qapp.palette().color(QPalette.ColorRole.Window)
    assert QColor(text_colour(warning)).lightness() - background.lightness() > 100

    application._set_palette(qapp, Qt.ColorScheme.Light)
    qtbot.waitUntil(lambda: text_colour(host_error) == tint.ERROR[0])
    assert text_colour(warning) == tint.DANGER[0]
