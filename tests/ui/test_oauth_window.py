"""Issue 14, the window: the OAuth2 panel's objectNames, the sign-in state (waiting with
Cancel, then the account), sign-in from the form's draft through QDesktopServices.openUrl (the
test follows the URL), Revert removing the tokens of a draft never saved, and saving auth and
the client into settings.json."""

from __future__ import annotations

import json
import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton
from support.oauth_server import CLIENT_ID, USER, follow
from support.qt import child

from smtp_desktop.ui.contract import OBJECT_NAMES
from smtp_desktop.ui.oauth_panel import WAITING

NAMES = ("authMethodCombo", "oauthProviderCombo", "oauthClientIdEdit", "oauthTenantEdit",
         "oauthSignInButton", "oauthCancelButton", "oauthSignOutButton", "oauthAccountLabel")


def _custom_file(app_paths, authz, auth: str = "oauth2") -> None:
    app_paths.config_dir.mkdir(parents=True, exist_ok=True)
    app_paths.settings_file.write_text(json.dumps({
        "version": 2, "enabled": True, "service": "own",
        "own": {"host": "127.0.0.1", "port": 2525, "username": USER, "auth": auth,
                "oauth2": {"provider": "custom", "client_id": CLIENT_ID, "tenant": None,
                           "authorization_endpoint": f"{authz.base}/authorize",
                           "token_endpoint": f"{authz.base}/token",
                           "device_authorization_endpoint": None, "scopes": ["smtp"]},
                "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "false"}}}))


def test_the_oauth2_object_names_are_in_the_contract(window):
    assert set(NAMES) <= set(OBJECT_NAMES)
    for name in NAMES:
        assert window.findChild(object, name) is not None, name


def _fill_own(window) -> None:
    from PySide6.QtWidgets import QAbstractButton, QRadioButton, QSpinBox

    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    child(window, QLineEdit, "hostEdit").setText("smtp.office365.com")
    child(window, QSpinBox, "portSpin").setValue(587)
    child(window, QLineEdit, "usernameEdit").setText("me@contoso.com")


def test_choosing_oauth2_shows_its_rows_and_saves_auth_and_the_client(window, qtbot,
                                                                      config_service):
    _fill_own(window)
    client_id = child(window, QLineEdit, "oauthClientIdEdit")
    assert not client_id.isVisibleTo(window)  # password login: no OAuth2 rows
    method = child(window, QComboBox, "authMethodCombo")
    method.setCurrentIndex(method.findData("oauth2"))
    assert client_id.isVisibleTo(window)
    assert child(window, QLineEdit, "oauthTenantEdit").isVisibleTo(window)  # microsoft
    assert not child(window, QLineEdit, "passwordEdit").isEnabled()  # no password with OAuth2
    assert not child(window, QPushButton, "saveButton").isEnabled()  # no client ID yet
    client_id.setText("00000000-0000-0000-0000-000000000000")
    with qtbot.waitSignal(window.saved):
        qtbot.mouseClick(child(window, QPushButton, "saveButton"), Qt.MouseButton.LeftButton)
    own = json.loads(config_service.paths.settings_file.read_text())["own"]
    assert own["auth"] == "oauth2"
    assert own["oauth2"]["client_id"] == "00000000-0000-0000-0000-000000000000"
    assert own["oauth2"]["provider"] == "microsoft" and own["oauth2"]["tenant"] == "organizations"
    provider = child(window, QComboBox, "oauthProviderCombo")
    provider.setCurrentIndex(provider.findData("google"))
    assert not child(window, QLineEdit, "oauthTenantEdit").isVisibleTo(window)


def test_the_outlook_preset_chooses_oauth2_with_the_consumers_tenant(window):
    _fill_own(window)
    window.select_preset("outlook")
    assert child(window, QComboBox, "authMethodCombo").currentData() == "oauth2"
    assert child(window, QLineEdit, "oauthTenantEdit").text() == "consumers"


def test_sign_in_waits_for_the_browser_then_shows_the_account(make_window, app_paths, authz,
                                                              qtbot, monkeypatch,
                                                              memory_keyring):
    _custom_file(app_paths, authz)
    opened: list[str] = []
    release = threading.Event()

    def browser(url) -> bool:
        opened.append(url.toString())

        def go() -> None:
            release.wait(30)
            follow(url.toString())
        threading.Thread(target=go, daemon=True).start()
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(browser))
    window = make_window()
    label = child(window, QLabel, "oauthAccountLabel")
    cancel = child(window, QPushButton, "oauthCancelButton")
    qtbot.mouseClick(child(window, QPushButton, "oauthSignInButton"), Qt.MouseButton.LeftButton)
    assert label.text() == WAITING and cancel.isVisibleTo(window)
    qtbot.waitUntil(lambda: len(opened) == 1)
    assert opened[0].startswith(f"{authz.base}/authorize?")
    release.set()
    qtbot.waitUntil(lambda: label.text() == f"Signed in as {USER}.", timeout=20000)
    # The label comes with the worker's result, Cancel goes with its end: two signals.
    qtbot.waitUntil(lambda: not cancel.isVisibleTo(window))
    stored = json.loads(memory_keyring.entries[("smtp-desktop", f"oauth2:{USER}@127.0.0.1")])
    assert authz.valid_access(USER, stored["access_token"])
    assert stored["access_token"] not in app_paths.settings_file.read_text()

    qtbot.mouseClick(child(window, QPushButton, "oauthSignOutButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: memory_keyring.entries == {})
    qtbot.waitUntil(lambda: label.text() == "Not signed in.")


def test_cancel_ends_the_wait(make_window, app_paths, authz, qtbot, monkeypatch):
    _custom_file(app_paths, authz)
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: True))
    window = make_window()
    label = child(window, QLabel, "oauthAccountLabel")
    qtbot.mouseClick(child(window, QPushButton, "oauthSignInButton"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(child(window, QPushButton, "oauthCancelButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in label.text())
    # The worker reports the cancellation (the label), then that it finished (the buttons): two
    # signals, and a loaded machine can let a check run between them.
    sign_in = child(window, QPushButton, "oauthSignInButton")
    qtbot.waitUntil(sign_in.isEnabled)


def test_revert_removes_the_tokens_of_a_draft_never_saved(make_window, app_paths, authz, qtbot,
                                                           monkeypatch, memory_keyring):
    _custom_file(app_paths, authz, auth="password")
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(
        lambda url: threading.Thread(target=follow, args=(url.toString(),), daemon=True).start()
        or True))
    window = make_window()
    method = child(window, QComboBox, "authMethodCombo")
    method.setCurrentIndex(method.findData("oauth2"))  # a draft: not saved
    child(window, QLineEdit, "usernameEdit").setText("draft@example.test")
    qtbot.mouseClick(child(window, QPushButton, "oauthSignInButton"), Qt.MouseButton.LeftButton)
    label = child(window, QLabel, "oauthAccountLabel")
    qtbot.waitUntil(lambda: label.text().startswith("Signed in as"), timeout=20000)
    assert "draft@example.test" in label.text() or USER in label.text()
    assert [a for _, a in memory_keyring.entries] == ["oauth2:draft@example.test@127.0.0.1"]
    window.revert()
    qtbot.waitUntil(lambda: memory_keyring.entries == {})
