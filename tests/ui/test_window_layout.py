"""Issue 15: a window that fits the screen and reads like a native settings dialog."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTextBrowser,
    QWidget,
)
from support.qt import child, leave, load_into

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.ui import tint

PASSWORD = "Sup3r-secret pass!"


def test_save_and_the_status_line_sit_in_a_fixed_bar_outside_the_scrolling_form(window):
    save = child(window, QPushButton, "saveButton")
    scroll = window.findChild(QScrollArea)
    assert not scroll.isAncestorOf(save) and not scroll.isAncestorOf(
        child(window, QLabel, "statusLabel"))
    assert save.isVisible() and save.visibleRegion().boundingRect().size() == save.size()


SCREEN_CHILD = """
import json, sys
from pathlib import Path
from PySide6.QtWidgets import QLineEdit, QScrollArea
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.ui.application import create_application
from smtp_desktop.ui.main_window import SettingsWindow

app = create_application([])
root = Path(sys.argv[1])
window = SettingsWindow(ConfigService(AppPaths(root / "c", root / "d")))
window.show()
app.processEvents()
own = window.findChild(type(window.findChild(QLineEdit)), "hostEdit")
window.findChild(type(window.findChild(QLineEdit)), "usernameEdit")
from PySide6.QtWidgets import QAbstractButton, QRadioButton
window.findChild(QAbstractButton, "smtpEnabledToggle").setChecked(True)
window.findChild(QRadioButton, "serviceOwnRadio").setChecked(True)
app.processEvents()
scroll = window.findChild(QScrollArea)
edits = [window.findChild(QLineEdit, name) for name in (
    "hostEdit", "usernameEdit", "passwordEdit", "testRecipientEdit", "testSenderEdit")]
available = window.screen().availableGeometry()
report = {"size": [window.width(), window.height()],
          "screen": [available.width(), available.height()],
          "frame_inside": available.contains(window.geometry()),
          "horizontal_scroll": scroll.horizontalScrollBar().maximum() > 0,
          "narrowest_edit": min(e.width() for e in edits),
          "side_open": window.side_pane_open}
window.show_tab("help")
app.processEvents()
report["side_open_after_show_tab"] = window.side_pane_open
window.resize(777, 555)
window.setWindowModified(False)  # no unsaved-changes question in this child
window.close()
print(json.dumps(report))
"""


def open_on_screen(tmp_path, width, height):
    config = tmp_path / f"screen-{width}x{height}.json"
    config.write_text(json.dumps({"screens": [{
        "name": "test", "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    result = subprocess.run([sys.executable, "-c", SCREEN_CHILD, str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("screen", "size", "side_open"), [
    ((800, 600), (720, 540), False),
    ((1024, 768), (921, 691), True),
    ((1920, 1080), (1100, 820), True),
])
def test_the_window_opens_within_the_screen(tmp_path, screen, size, side_open):
    report = open_on_screen(tmp_path, *screen)
    assert tuple(report["size"]) == size  # min(1100x820, 90 % of the available screen)
    assert report["frame_inside"]
    assert report["side_open"] is side_open
    assert report["side_open_after_show_tab"]  # show_tab() reveals a collapsed side pane
    if screen[0] >= 1024:
        assert not report["horizontal_scroll"]
        assert report["narrowest_edit"] >= 200


def test_the_window_remembers_its_size(tmp_path):
    open_on_screen(tmp_path, 1920, 1080)  # closes at 777x555
    assert json.loads((tmp_path / "c" / "window.json").read_text())["width"] == 777
    assert tuple(open_on_screen(tmp_path, 1920, 1080)["size"]) == (777, 555)


def test_testsigma_hides_the_own_panel_and_off_keeps_it_visible_but_disabled(window):
    host = child(window, QLineEdit, "hostEdit")
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    assert child(window, QRadioButton, "serviceTestsigmaRadio").isChecked()
    assert not host.isVisible() and host is not None  # still there for scripts
    assert child(window, QLabel, "defaultServiceLabel").isVisible()
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    assert host.isVisible() and host.isEnabled()
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(False)
    assert host.isVisible() and not host.isEnabled()


def test_no_error_before_the_field_is_left_and_nothing_moves_when_it_shows(window):
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    error = child(window, QLabel, "hostError")
    password = child(window, QLineEdit, "passwordEdit")
    assert error.text() and not error.isVisible()  # set for scripts, not shown yet
    QApplication.processEvents()
    before = password.mapTo(window, password.rect().topLeft())
    leave(child(window, QLineEdit, "hostEdit"))
    assert error.isVisible()
    QApplication.processEvents()
    assert password.mapTo(window, password.rect().topLeft()) == before


def test_save_reveals_every_error(window):
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    assert not window.save()
    assert child(window, QLabel, "hostError").isVisible()
    assert child(window, QLabel, "usernameError").isVisible()


def test_an_unsaved_host_is_tested_with_the_password_saved_for_the_old_account(
        window, qtbot, plain_server):
    server = plain_server
    load_into(window, server.settings(), server.password)
    assert window.save()
    child(window, QLineEdit, "hostEdit").setText("localhost")  # same server, another account
    with qtbot.waitSignal(window.check_finished, timeout=30_000) as done:
        child(window, QPushButton, "sendTestButton").click()
    assert done.args[0].ok, done.args[0].message
    result = child(window, QTextBrowser, "testResultView").toPlainText()
    assert "unsaved settings" in result


def test_forget_asks_first_and_show_password_says_why_it_shows_nothing(
        window, qtbot, memory_keyring, monkeypatch):
    load_into(window, SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com",
                                   port=587, username="me@example.com"), PASSWORD)
    assert window.save()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: (
        asked.append(a[1]) or QMessageBox.StandardButton.Cancel))
    child(window, QPushButton, "forgetPasswordButton").click()
    assert asked and memory_keyring.entries  # asked, and kept on Cancel
    child(window, QAbstractButton, "showPasswordButton").click()
    note = child(window, QLabel, "passwordNote")
    assert note.isVisible() and "never shown" in note.text()


def mnemonics(window):
    letters = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        text = widget.text() if isinstance(widget, (QAbstractButton, QLabel)) else ""
        if isinstance(widget, QLabel) and widget.buddy() is None:
            continue
        if "&" in text.replace("&&", ""):
            letters.append((text[text.index("&") + 1].lower(), text))
    tabs = window.findChild(QWidget, "sideTabs")
    for index in range(tabs.count()):
        text = tabs.tabText(index)
        if "&" in text:
            letters.append((text[text.index("&") + 1].lower(), text))
    return letters


@pytest.mark.parametrize("tab", ["help", "outbox", "history"])
def test_every_mnemonic_is_unique(window, tab):
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    window.show_tab(tab)
    found = mnemonics(window)
    letters = [letter for letter, _text in found]
    assert len(found) > 15
    assert len(letters) == len(set(letters)), sorted(found)


def test_tab_reaches_every_control_in_reading_order(window, qtbot):
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QRadioButton, "serviceOwnRadio").setChecked(True)
    window.activateWindow()
    order = []
    widget = child(window, QAbstractButton, "smtpEnabledToggle")
    for _ in range(1000):
        order.append(widget)
        widget = widget.nextInFocusChain()
        while widget is not None and not (widget.isVisible() and widget.isEnabled()
                                          and widget.focusPolicy() & Qt.FocusPolicy.TabFocus):
            widget = widget.nextInFocusChain()
        if widget is order[0]:
            break
    names = [w.objectName() for w in order if w.objectName()]
    for field in ("hostEdit", "portSpin", "usernameEdit", "passwordEdit", "keysTable",
                  "sendTestButton", "revertButton"):
        assert field in names
    form = ["hostEdit", "portSpin", "usernameEdit", "passwordEdit", "keysTable",
            "testRecipientEdit", "testSenderEdit", "sendTestButton"]
    assert [n for n in names if n in form] == form


def test_ctrl_enter_sends_the_test_email(window, qtbot):
    from PySide6.QtGui import QKeySequence, QShortcut

    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    shortcuts = {s.key().toString(): s for s in window.findChildren(QShortcut)}
    assert {"Ctrl+Return", "Ctrl+Enter"} <= set(shortcuts)
    assert QKeySequence("Ctrl+Return").toString() in shortcuts
    clicked = []
    child(window, QPushButton, "sendTestButton").clicked.connect(lambda: clicked.append(1))
    with qtbot.waitSignal(window.check_finished, timeout=30_000):
        shortcuts["Ctrl+Return"].activated.emit()  # offscreen windows are never active
    assert clicked


@pytest.mark.parametrize("dark", [False, True])
def test_every_coloured_label_reads_at_wcag_aa_in_both_schemes(qapp, dark, restore_palette):
    from smtp_desktop.ui import application

    application._set_palette(qapp, Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    background = qapp.palette().color(QPalette.ColorRole.Window)
    for name in ("ERROR", "WARNING", "DANGER", "CAUTION", "NOTICE", "SUCCESS"):
        colour = tint.pick(getattr(tint, name), dark)
        assert tint.contrast(colour, background) >= 4.5, (name, colour, background.name())
    from smtp_desktop.ui.notices_panel import NOTICE_STYLES

    style = NOTICE_STYLES[dark]
    text = style.split("color: ")[1].split(";")[0]
    box = style.split("background: ")[1].split(";")[0]
    assert tint.contrast(text, box) >= 4.5


class BlockingKeyring:
    """A keyring whose writes wait until the test lets them go, as a slow D-Bus would."""

    priority = 1

    def __init__(self, inner):
        self.inner, self.release = inner, threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def set_password(self, service, account, password):
        assert self.release.wait(30)
        self.inner.set_password(service, account, password)


def test_a_blocking_keyring_never_blocks_the_window(qtbot, app_paths, memory_keyring):
    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.config.service import ConfigService
    from smtp_desktop.ui.main_window import SettingsWindow

    keyring = BlockingKeyring(memory_keyring)
    window = SettingsWindow(ConfigService(app_paths, SecretStore(keyring)))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.keyring_ready)
    load_into(window, SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com",
                                   port=587, username="me@example.com"), PASSWORD)
    child(window, QPushButton, "saveButton").click()  # the keyring write now hangs
    assert "Saving" in child(window, QLabel, "statusLabel").text()
    recipient = child(window, QLineEdit, "testRecipientEdit")
    qtbot.keyClicks(recipient, "qa@example.com")  # the window still answers
    assert recipient.text() == "qa@example.com"
    assert not child(window, QPushButton, "saveButton").isEnabled()
    with qtbot.waitSignal(window.saved, timeout=10_000):
        keyring.release.set()
    assert memory_keyring.entries


def test_the_close_question_gives_discard_a_mnemonic(window):
    from smtp_desktop.ui.close_question import _give_discard_a_mnemonic

    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes", "Save?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, window)
    box.setWindowModality(Qt.WindowModality.ApplicationModal)
    box.show()
    try:
        _give_discard_a_mnemonic()
        assert box.button(QMessageBox.StandardButton.Discard).text() == "&Discard"
    finally:
        box.close()


def test_the_window_title_is_said_once(tmp_path):
    """Qt appends an explicitly set display name to every title not ending in it, which read
    "SMTP Configuration* — SMTP Configuration"; the application sets none."""
    code = ("from smtp_desktop.ui.application import create_application;"
            "from PySide6.QtWidgets import QApplication;"
            "app = create_application([]); print(QApplication.applicationDisplayName())")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip() == "smtp-desktop", result.stderr  # the name, not a display name


def test_tables_show_local_short_times_with_the_full_time_in_a_tooltip():
    import datetime as dt

    from smtp_desktop.ui.outbox_panel import short_time

    now = dt.datetime.now(dt.timezone.utc)
    assert short_time(now.isoformat(timespec="milliseconds")) == now.astimezone().strftime(
        "%H:%M")
    assert short_time("2020-01-02T03:04:05.678+00:00") == dt.datetime(
        2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")


def test_the_off_state_is_said_once(window):
    assert child(window, QLabel, "smtpOffNote").isVisible()
    assert not child(window, QLabel, "securitySummaryLabel").isVisible()


class ThreadRecordingKeyring:
    """A keyring that notes which thread each call comes from."""

    priority = 1

    def __init__(self, inner):
        self.inner, self.threads = inner, []

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if name in ("get_password", "set_password", "delete_password"):
            def recorded(*args):
                self.threads.append(threading.current_thread() is threading.main_thread())
                return attribute(*args)
            return recorded
        return attribute


def test_the_keyring_is_never_asked_on_the_gui_thread(qtbot, app_paths, memory_keyring,
                                                       monkeypatch):
    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.config.service import ConfigService
    from smtp_desktop.ui.main_window import SettingsWindow

    keyring = ThreadRecordingKeyring(memory_keyring)
    window = SettingsWindow(ConfigService(app_paths, SecretStore(keyring)))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.keyring_ready)
    load_into(window, SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com",
                                   port=587, username="me@example.com"), PASSWORD)
    assert window.save()
    child(window, QLineEdit, "hostEdit").setText("mail.example.com")  # the password moves
    assert window.save()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    child(window, QPushButton, "forgetPasswordButton").click()
    qtbot.waitUntil(lambda: "removed" in child(window, QLabel, "statusLabel").text())
    assert keyring.threads and not any(keyring.threads)  # every call came from a worker
