"""The settings window, driven through its public objectNames as QA suites do."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableView,
    QTextBrowser,
)
from support.qt import child, leave

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.ui.main_window import SettingsWindow

PASSWORD = "Sup3r-secret pass!"


def fill_own(window, host="smtp.example.com", port=587, username="me@example.com"):
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    child(window, QLineEdit, "hostEdit").setText(host)
    child(window, QSpinBox, "portSpin").setValue(port)
    child(window, QLineEdit, "usernameEdit").setText(username)


def test_fresh_window_is_off_on_testsigma_with_the_seed_keys(window):
    assert window.windowTitle() == "SMTP Configuration[*]"
    assert not child(window, QAbstractButton, "smtpEnabledToggle").isChecked()
    assert child(window, QRadioButton, "serviceTestsigmaRadio").isChecked()
    table = child(window, QTableView, "keysTable")
    model = table.model()
    rows = [(model.index(r, 0).data(), model.index(r, 1).data()) for r in range(model.rowCount())]
    assert rows == [("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true")]
    port = child(window, QSpinBox, "portSpin")
    assert (port.minimum(), port.maximum(), port.value()) == (1, 65535, 587)
    assert child(window, QLineEdit, "hostEdit").placeholderText() == "smtp.gmail.com"
    assert child(window, QLineEdit, "passwordEdit").echoMode() == QLineEdit.EchoMode.Password


def test_toggle_off_disables_every_field_and_test_button_but_not_save(window):
    fill_own(window)
    toggle = child(window, QAbstractButton, "smtpEnabledToggle")
    toggle.setChecked(False)
    for cls, name in [(QLineEdit, "hostEdit"), (QSpinBox, "portSpin"), (QLineEdit, "usernameEdit"),
                      (QLineEdit, "passwordEdit"), (QTableView, "keysTable"),
                      (QPushButton, "addKeyButton"), (QRadioButton, "serviceOwnRadio"),
                      (QRadioButton, "serviceTestsigmaRadio"), (QPushButton, "sendTestButton"),
                      (QPushButton, "probeButton")]:
        assert not child(window, cls, name).isEnabled(), name
    note = child(window, QLabel, "smtpOffNote")
    assert note.isVisible() and "no emails will be sent" in note.text()
    assert child(window, QPushButton, "sendTestButton").toolTip()
    save = child(window, QPushButton, "saveButton")
    assert save.isEnabled()  # "off" with changed fields can be saved
    toggle.setChecked(True)
    assert not note.isVisible()
    assert child(window, QLineEdit, "hostEdit").isEnabled()


def test_testsigma_disables_own_fields_and_names_the_local_outbox_default(window):
    fill_own(window)
    child(window, QRadioButton, "serviceTestsigmaRadio").setChecked(True)
    assert not child(window, QLineEdit, "hostEdit").isEnabled()
    assert not child(window, QLineEdit, "passwordEdit").isEnabled()
    assert "Default service: local outbox (nothing leaves this computer)" in child(
        window, QLabel, "defaultServiceLabel").text()
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    assert child(window, QLineEdit, "hostEdit").isEnabled()


def test_provisioned_default_service_is_shown_read_only(make_window, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.default_service_file.write_text(json.dumps({
        "version": 1, "host": "mail.vendor.example", "port": 587, "username": "svc",
        "sender": "noreply@vendor.example", "keys": {"mail.smtp.auth": "true"}}))
    window = make_window()
    text = child(window, QLabel, "defaultServiceLabel").text()
    assert "mail.vendor.example:587" in text and "noreply@vendor.example" in text


@pytest.mark.parametrize(("host", "message"), [
    ("smtp.gmail.com:587", "Port field"),
    ("https://smtp.gmail.com", "scheme"),
    ("smtp gmail.com", "spaces"),
    ("", "host name"),
])
def test_invalid_host_shows_its_message_and_keeps_save_disabled(window, host, message):
    fill_own(window, host=host)
    error = child(window, QLabel, "hostError")
    assert message in error.text()  # set at once, for scripts (issue 15)
    assert not error.isVisible()  # shown only once the field is left
    leave(child(window, QLineEdit, "hostEdit"))
    assert error.isVisible()
    assert not child(window, QPushButton, "saveButton").isEnabled()
    child(window, QLineEdit, "hostEdit").setText("smtp.gmail.com")
    assert not error.isVisible()
    assert child(window, QPushButton, "saveButton").isEnabled()


def test_idn_and_ip_hosts_are_accepted(window):
    for host in ("smtp.bücher.example", "192.0.2.1", "::1"):
        fill_own(window, host=host)
        assert not child(window, QLabel, "hostError").isVisible(), host


def test_username_is_required_when_auth_is_on(window):
    fill_own(window, username="")
    assert "mail.smtp.auth" in child(window, QLabel, "usernameError").text()
    assert not child(window, QPushButton, "saveButton").isEnabled()


def test_keys_add_remove_and_duplicates_are_flagged_in_place(window, qtbot):
    fill_own(window)
    table = child(window, QTableView, "keysTable")
    model = table.model()
    qtbot.mouseClick(child(window, QPushButton, "addKeyButton"), Qt.MouseButton.LeftButton)
    assert model.rowCount() == 3
    assert "empty" in child(window, QLabel, "keysError").text()
    assert not child(window, QPushButton, "saveButton").isEnabled()
    model.setData(model.index(2, 0), "mail.smtp.auth")
    model.setData(model.index(2, 1), "false")
    error = child(window, QLabel, "keysError")
    assert "already set in row 1" in error.text()
    assert model.index(2, 0).data(Qt.ItemDataRole.ToolTipRole) == "'mail.smtp.auth' is already set in row 1."
    assert model.index(2, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert not child(window, QPushButton, "saveButton").isEnabled()
    table.selectRow(2)
    remove = child(window, QPushButton, "removeKeyButton")
    assert remove.isEnabled()
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert model.rowCount() == 2
    assert not error.isVisible()
    assert child(window, QPushButton, "saveButton").isEnabled()


def test_known_boolean_keys_must_be_true_or_false(window):
    fill_own(window)
    model = child(window, QTableView, "keysTable").model()
    model.setData(model.index(1, 1), "yes")
    assert "true or false" in child(window, QLabel, "keysError").text()
    assert not child(window, QPushButton, "saveButton").isEnabled()


def test_unknown_keys_are_allowed_and_marked_not_used(window):
    fill_own(window)
    model = child(window, QTableView, "keysTable").model()
    model.add_row("mail.smtp.socks.host", "proxy.example")
    model.add_row("x.custom", "1")
    assert "Not used by this app" in model.index(2, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "not used by this app" in model.index(3, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert child(window, QPushButton, "saveButton").isEnabled()


def test_save_then_a_new_window_shows_the_same_settings(window, make_window, qtbot, config_service,
                                                        memory_keyring):
    fill_own(window, host="smtp.gmail.com", port=465, username="me@gmail.com")
    child(window, QLineEdit, "passwordEdit").setText(PASSWORD)
    model = child(window, QTableView, "keysTable").model()
    model.add_row("mail.smtp.ssl.enable", "true")
    assert window.isWindowModified()
    with qtbot.waitSignal(window.saved):
        qtbot.mouseClick(child(window, QPushButton, "saveButton"), Qt.MouseButton.LeftButton)
    assert not window.isWindowModified()
    assert not child(window, QPushButton, "saveButton").isEnabled()
    assert "keyring" in child(window, QLabel, "statusLabel").text()
    assert child(window, QLineEdit, "passwordEdit").text() == ""

    second = make_window()
    assert child(second, QAbstractButton, "smtpEnabledToggle").isChecked()
    assert child(second, QRadioButton, "serviceOwnRadio").isChecked()
    assert child(second, QLineEdit, "hostEdit").text() == "smtp.gmail.com"
    assert child(second, QSpinBox, "portSpin").value() == 465
    assert child(second, QLineEdit, "usernameEdit").text() == "me@gmail.com"
    second_model = child(second, QTableView, "keysTable").model()
    assert second_model.keys()[-1] == ("mail.smtp.ssl.enable", "true")
    password_edit = child(second, QLineEdit, "passwordEdit")
    assert password_edit.text() == ""  # never read back
    assert "Stored in the keyring" in password_edit.placeholderText()
    assert memory_keyring.entries == {("smtp-desktop", "me@gmail.com@smtp.gmail.com"): PASSWORD}
    saved_text = config_service.paths.settings_file.read_text()
    assert PASSWORD not in saved_text


def test_ctrl_s_saves(window, qtbot, config_service):
    fill_own(window)
    with qtbot.waitSignal(window.saved):
        qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert config_service.load().settings.host == "smtp.example.com"


def test_empty_password_on_save_keeps_the_stored_one(window, qtbot, memory_keyring):
    fill_own(window)
    child(window, QLineEdit, "passwordEdit").setText(PASSWORD)
    assert window.save()
    child(window, QSpinBox, "portSpin").setValue(2525)
    assert window.save()
    assert memory_keyring.entries[("smtp-desktop", "me@example.com@smtp.example.com")] == PASSWORD


def test_changing_the_username_moves_the_stored_password(window, memory_keyring):
    fill_own(window)
    child(window, QLineEdit, "passwordEdit").setText(PASSWORD)
    assert window.save()
    child(window, QLineEdit, "usernameEdit").setText("other@example.com")
    assert window.save()
    assert memory_keyring.entries == {
        ("smtp-desktop", "other@example.com@smtp.example.com"): PASSWORD}


def test_revert_restores_the_last_saved_state(window, qtbot):
    fill_own(window)
    assert window.save()
    child(window, QLineEdit, "hostEdit").setText("changed.example.com")
    child(window, QTableView, "keysTable").model().add_row("mail.debug", "true")
    assert window.isWindowModified()
    revert = child(window, QPushButton, "revertButton")
    assert revert.isEnabled()
    qtbot.mouseClick(revert, Qt.MouseButton.LeftButton)
    assert child(window, QLineEdit, "hostEdit").text() == "smtp.example.com"
    assert child(window, QTableView, "keysTable").model().rowCount() == 2
    assert not window.isWindowModified()
    assert not revert.isEnabled()


def test_forget_password_deletes_it_from_the_keyring(window, qtbot, memory_keyring, monkeypatch):
    fill_own(window)
    child(window, QLineEdit, "passwordEdit").setText(PASSWORD)
    assert window.save()
    forget = child(window, QPushButton, "forgetPasswordButton")
    assert forget.isEnabled()
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(forget, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: memory_keyring.entries == {})
    qtbot.waitUntil(lambda: "removed" in child(window, QLabel, "statusLabel").text())
    assert not forget.isEnabled()
    assert "Not stored" in child(window, QLineEdit, "passwordEdit").placeholderText()


def test_typed_google_app_password_loses_its_spaces_and_the_window_says_so(window, qtbot):
    fill_own(window)
    edit = child(window, QLineEdit, "passwordEdit")
    qtbot.keyClicks(edit, "abcd efgh ijkl mnop")
    assert edit.text() == "abcdefghijklmnop"
    note = child(window, QLabel, "passwordNote")
    assert note.isVisible() and "spaces" in note.text()


def test_pasted_google_app_password_loses_its_spaces(window):
    fill_own(window)
    edit = child(window, QLineEdit, "passwordEdit")
    QGuiApplication.clipboard().setText("  wxyz abcd efgh ijkl \n")
    edit.paste()
    assert edit.text() == "wxyzabcdefghijkl"


def test_other_passwords_keep_inner_spaces_but_lose_outer_whitespace(window, memory_keyring):
    fill_own(window)
    edit = child(window, QLineEdit, "passwordEdit")
    edit.setText("  my pass phrase  ")
    assert edit.text() == "  my pass phrase  "
    assert window.save()
    assert memory_keyring.entries[("smtp-desktop", "me@example.com@smtp.example.com")] == (
        "my pass phrase")


def test_show_hide_password_action(window):
    fill_own(window)
    edit = child(window, QLineEdit, "passwordEdit")
    show = child(window, QAbstractButton, "showPasswordButton")
    show.click()
    assert edit.echoMode() == QLineEdit.EchoMode.Normal
    show.click()
    assert edit.echoMode() == QLineEdit.EchoMode.Password


@pytest.mark.parametrize(("answer", "closes", "saved"), [
    (QMessageBox.StandardButton.Cancel, False, False),
    (QMessageBox.StandardButton.Discard, True, False),
    (QMessageBox.StandardButton.Save, True, True),
])
def test_closing_with_unsaved_changes_asks(window, monkeypatch, config_service, answer, closes,
                                          saved):
    asked = []

    def question(*args, **kwargs):
        asked.append(args)
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    fill_own(window)
    assert window.close() is closes
    assert len(asked) == 1
    assert (config_service.load().settings.host == "smtp.example.com") is saved


def test_closing_without_changes_does_not_ask(window, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("asked"))
    assert window.close()


def test_corrupt_settings_file_is_set_aside_and_reported(make_window, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text("{not json")
    window = make_window()
    notice = child(window, QLabel, "loadNotice")
    assert notice.isVisible()
    assert "corrupt-" in notice.text()
    backups = list(app_paths.config_dir.glob("settings.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text() == "{not json"
    assert not app_paths.settings_file.exists()


def test_settings_from_a_newer_version_are_never_overwritten(make_window, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text('{"version": 3}')
    window = make_window()
    assert "newer" in child(window, QLabel, "loadNotice").text()
    fill_own(window)
    assert not child(window, QPushButton, "saveButton").isEnabled()
    assert not window.save()
    assert app_paths.settings_file.read_text() == '{"version": 3}'


def test_invalid_saved_settings_are_loaded_with_their_messages(make_window, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({
        "version": 1, "enabled": True, "service": "own",
        "own": {"host": "bad host", "port": 587, "username": "u", "keys": {"mail.smtp.auth": True}}}))
    window = make_window()
    assert child(window, QLineEdit, "hostEdit").text() == "bad host"
    assert child(window, QLabel, "hostError").isVisible()
    assert "problems" in child(window, QLabel, "statusLabel").text()


def test_no_secure_keyring_says_so_and_still_saves_the_other_settings(make_window, app_paths,
                                                                      qtbot):
    import keyring.backends.null

    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.config.service import ConfigService

    config = ConfigService(app_paths, SecretStore(keyring.backends.null.Keyring()))
    window = make_window(config)
    edit = child(window, QLineEdit, "passwordEdit")
    assert "No secure keyring" in edit.placeholderText()
    fill_own(window)
    edit.setText(PASSWORD)
    assert window.save()
    status = child(window, QLabel, "statusLabel").text()
    assert "password was not" in status and "gnome-keyring" in status.lower()
    assert edit.text() == PASSWORD  # not stored, so not thrown away
    assert config.load().settings.host == "smtp.example.com"
    assert PASSWORD not in app_paths.settings_file.read_text()


def test_help_pane_explains_google_app_passwords(window):
    help_pane = child(window, QTextBrowser, "helpPane")
    text = help_pane.toPlainText()
    for phrase in ("2-Step Verification", "App passwords", "16-character", "only once",
                   "security keys only", "Advanced Protection", "revokes", "Other providers",
                   "Server address", "Port", "Credentials", "Additional parameters"):
        assert phrase in text, phrase
    assert "https://myaccount.google.com/apppasswords" in help_pane.toHtml()
    assert help_pane.openExternalLinks()


def test_the_help_text_is_there_once_shown_or_asked_for(qtbot, config_service):
    """The text goes in at the first show (laid out once, at the pane's real width), or when
    the help tab is asked for before that."""
    window = SettingsWindow(config_service)
    qtbot.addWidget(window)
    help_pane = child(window, QTextBrowser, "helpPane")
    assert help_pane.toPlainText() == ""
    window.show_tab("help")
    assert "App passwords" in help_pane.toPlainText()

    shown = SettingsWindow(config_service)
    qtbot.addWidget(shown)
    shown.show()
    assert "App passwords" in child(shown, QTextBrowser, "helpPane").toPlainText()


def test_every_field_has_a_buddy_label_and_an_accessible_name(window):
    for cls, name in [(QLineEdit, "hostEdit"), (QSpinBox, "portSpin"), (QLineEdit, "usernameEdit"),
                      (QLineEdit, "passwordEdit"), (QTableView, "keysTable"),
                      (QLineEdit, "testRecipientEdit")]:
        field = child(window, cls, name)
        assert field.accessibleName(), name
        assert any(label.buddy() is field for label in window.findChildren(QLabel)), name


def test_settings_for_a_disabled_config_are_kept_incomplete(window, config_service):
    fill_own(window, host="", username="")
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(False)
    assert window.save()
    saved = config_service.load().settings
    assert saved == SmtpSettings(enabled=False, service=Service.OWN, host="", port=587,
                                 username="", keys=saved.keys)


@pytest.mark.parametrize(("answer", "host_after"), [
    (QMessageBox.StandardButton.Save, "mine.example.com"),
    (QMessageBox.StandardButton.Discard, "theirs.example.com"),
    (QMessageBox.StandardButton.Cancel, "theirs.example.com"),
])
def test_settings_changed_underneath_ask_before_overwriting(make_window, config_service,
                                                            monkeypatch, answer, host_after):
    first = make_window()
    second = make_window()
    fill_own(second, host="theirs.example.com")
    assert second.save()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer)
    fill_own(first, host="mine.example.com")
    assert first.save() is (answer == QMessageBox.StandardButton.Save)
    assert len(asked) == 1 and "changed by another window" in asked[0]
    assert config_service.load().settings.host == host_after
    if answer == QMessageBox.StandardButton.Discard:
        assert child(first, QLineEdit, "hostEdit").text() == "theirs.example.com"
        assert not first.isWindowModified()


def test_saving_twice_from_one_window_does_not_ask(window, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("asked"))
    fill_own(window)
    assert window.save()
    child(window, QSpinBox, "portSpin").setValue(2525)
    assert window.save()


def test_a_locked_keyring_is_reported_not_mistaken_for_no_password(make_window, app_paths):
    from keyring.errors import KeyringLocked
    from support.memory_keyring import MemoryKeyring

    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.config.service import ConfigService

    class LockedKeyring(MemoryKeyring):
        def get_password(self, service, username):
            raise KeyringLocked("collection is locked")

    config = ConfigService(app_paths, SecretStore(LockedKeyring()))
    config.save(SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com",
                             username="me@example.com"))
    window = make_window(config)
    edit = child(window, QLineEdit, "passwordEdit")
    assert "could not be read" in edit.placeholderText()
    assert "Unlock the keyring" in edit.toolTip()


def test_every_contract_object_name_exists_exactly_once(window):
    from PySide6.QtWidgets import QWidget

    from smtp_desktop.ui.contract import OBJECT_NAMES

    for name in OBJECT_NAMES:
        assert len(window.findChildren(QWidget, name)) == 1, name


def test_overwriting_a_file_changed_underneath_keeps_the_password_with_its_account(
        make_window, config_service, memory_keyring, monkeypatch):
    first = make_window()
    fill_own(first, username="a@example.com")
    child(first, QLineEdit, "passwordEdit").setText(PASSWORD)
    assert first.save()
    # Another window moves the account (and with it the password) to b@...
    second = make_window()
    child(second, QLineEdit, "usernameEdit").setText("b@example.com")
    assert second.save()
    # The first window, still on a@..., changes only the port and overwrites.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    child(first, QSpinBox, "portSpin").setValue(2525)
    assert first.save()
    assert config_service.load().settings.username == "a@example.com"
    assert memory_keyring.entries == {("smtp-desktop", "a@example.com@smtp.example.com"): PASSWORD}


def test_a_late_keyring_check_does_not_overwrite_what_a_save_showed(make_window, qtbot,
                                                                  app_paths):
    import threading

    from support.memory_keyring import MemoryKeyring

    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.config.service import ConfigService

    release = threading.Event()

    class SlowFirstRead(MemoryKeyring):
        calls = 0
        armed = False  # the setup's save below reads the keyring too; that read is not held

        def get_password(self, service, username):
            SlowFirstRead.calls += SlowFirstRead.armed
            if SlowFirstRead.calls == 1:
                release.wait(20)  # the window's first check, held until after the Save
            return super().get_password(service, username)

    config = ConfigService(app_paths, SecretStore(SlowFirstRead()))
    config.save(SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com",
                             username="me@example.com"), PASSWORD)
    SlowFirstRead.armed = True  # the next read is the window's first check
    window = SettingsWindow(config)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: SlowFirstRead.calls >= 1)
    child(window, QLineEdit, "usernameEdit").setText("new@example.com")
    assert window.save()  # moves the password; the window shows it stored
    edit = child(window, QLineEdit, "passwordEdit")
    assert "Stored in the keyring" in edit.placeholderText()
    with qtbot.waitSignal(window.keyring_checked, timeout=20_000):
        release.set()
    assert "Stored in the keyring" in edit.placeholderText()
    assert child(window, QPushButton, "forgetPasswordButton").isEnabled()


def test_a_saved_port_out_of_range_is_reported_not_silently_replaced(make_window, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({
        "version": 1, "enabled": True, "service": "own",
        "own": {"host": "smtp.example.com", "port": 70000, "username": "u@example.com",
                "keys": {}}}))
    window = make_window()
    error = child(window, QLabel, "portError")
    assert error.isVisible() and "70000" in error.text()
    child(window, QSpinBox, "portSpin").setValue(2525)
    assert not error.isVisible()


def test_a_long_status_keeps_the_status_line_one_line_high_and_its_whole_text(window):
    """A status line that wraps grows and shrinks with each message, and every change of
    height re-lays out and repaints the whole form (8-10 ms as a check starts or ends)."""
    label = child(window, QLabel, "statusLabel")
    layout = label.parentWidget().layout()
    layout.activate()
    height = label.height()
    message = "Test failed (timeout): " + "the server said nothing at all, " * 30

    label.setText(message)
    layout.activate()

    assert label.height() == height
    assert label.text() == message
    assert label.toolTip() == message


def test_a_status_with_line_breaks_stays_one_line_and_clear_empties_the_tooltip(window):
    label = child(window, QLabel, "statusLabel")
    layout = label.parentWidget().layout()
    layout.activate()
    height = label.height()

    label.setText("Not saved:\nthe file changed\nunderneath")
    layout.activate()
    assert label.height() == height

    label.clear()
    assert label.text() == "" and label.toolTip() == ""


def test_a_save_from_the_window_keeps_the_oauth2_client_of_the_file(make_window, app_paths, qtbot,
                                                                    config_service):
    """Issue 14: `own.oauth2` is always kept; the window's fields never drop it."""
    oauth2 = {"provider": "google", "client_id": "123.apps.googleusercontent.com", "tenant": None,
              "authorization_endpoint": None, "token_endpoint": None,
              "device_authorization_endpoint": None, "scopes": None}
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({
        "version": 2, "enabled": True, "service": "own",
        "own": {"host": "smtp.gmail.com", "port": 587, "username": "me@gmail.com",
                "auth": "password", "oauth2": oauth2,
                "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}}}))
    window = make_window()
    child(window, QSpinBox, "portSpin").setValue(465)
    with qtbot.waitSignal(window.saved):
        qtbot.mouseClick(child(window, QPushButton, "saveButton"), Qt.MouseButton.LeftButton)
    written = json.loads(app_paths.settings_file.read_text())
    assert written["own"]["port"] == 465
    assert written["own"]["oauth2"] == oauth2 and written["version"] == 2
