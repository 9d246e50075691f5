"""Works out of the box: demo mode, the Outbox and History tabs."""

from __future__ import annotations

import json
import subprocess
import sys

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QWidget,
)
from support.qt import child

from smtp_desktop.demo import DEMO_USERNAME, start_demo
from smtp_desktop.ui.main_window import SettingsWindow

GENEROUS_MS = 20_000


@pytest.fixture
def demo(qtbot):
    session = start_demo()
    window = SettingsWindow(session.config, outbox=session.outbox, banner=session.banner)
    qtbot.addWidget(window)
    window.show()
    yield session, window
    window.close()
    session.close()


def send(qtbot, window):
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS) as blocker:
        qtbot.mouseClick(child(window, QPushButton, "sendTestButton"), Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_demo_send_succeeds_on_the_first_click_and_shows_in_the_outbox(demo, qtbot):
    session, window = demo
    assert "Demo mode" in child(window, QLabel, "loadNotice").text()
    outcome = send(qtbot, window)
    assert outcome.ok, outcome.message
    assert "C: AUTH" in "\n".join(outcome.transcript)  # the demo outbox requires a login
    messages = session.outbox.list()
    assert len(messages) == 1 and messages[0].recipients == (DEMO_USERNAME,)
    window.show_tab("outbox")
    view = child(window, QTableView, "outboxView")
    assert view.isVisible()
    qtbot.waitUntil(lambda: view.model().rowCount() == 1, timeout=GENEROUS_MS)  # read by a worker
    assert view.model().index(0, 3).data() == "smtp-desktop test email"
    message_view = child(window, QPlainTextEdit, "outboxMessageView")
    view.selectRow(0)
    qtbot.waitUntil(lambda: "Subject: smtp-desktop test email" in message_view.toPlainText(),
                    timeout=GENEROUS_MS)
    assert "outgoing mail from this computer works" in message_view.toPlainText()


def test_outbox_tab_refreshes_after_each_send_and_deletes(demo, qtbot):
    session, window = demo
    window.show_tab("outbox")
    view = child(window, QTableView, "outboxView")
    qtbot.waitUntil(lambda: window.findChild(QWidget, "outboxMoreButton").parent().loaded,
                    timeout=GENEROUS_MS)
    assert view.model().rowCount() == 0
    send(qtbot, window)
    send(qtbot, window)
    qtbot.waitUntil(lambda: view.model().rowCount() == 2, timeout=GENEROUS_MS)
    view.selectRow(0)
    qtbot.mouseClick(child(window, QPushButton, "outboxDeleteButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model().rowCount() == 1, timeout=GENEROUS_MS)
    assert len(session.outbox.list()) == 1


def test_a_message_can_be_saved_as_eml(demo, qtbot, tmp_path, monkeypatch):
    _session, window = demo
    send(qtbot, window)
    window.show_tab("outbox")
    view = child(window, QTableView, "outboxView")
    qtbot.waitUntil(lambda: view.model().rowCount() == 1, timeout=GENEROUS_MS)
    view.selectRow(0)
    target = tmp_path / "saved.eml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    qtbot.mouseClick(child(window, QPushButton, "outboxSaveButton"), Qt.MouseButton.LeftButton)
    assert b"Subject: smtp-desktop test email" in target.read_bytes()


def test_history_tab_lists_tests_newest_first_without_the_password(demo, qtbot):
    session, window = demo
    send(qtbot, window)
    child(window, QLineEdit, "passwordEdit").setText("wrong-password")
    outcome = send(qtbot, window)
    assert outcome.category.value == "auth"
    window.show_tab("history")
    view = child(window, QTableView, "historyView")
    model = view.model()
    assert model.rowCount() == 2
    from smtp_desktop.ui.history_panel import CATEGORY_ROLE

    results = [model.index(row, 5).data(CATEGORY_ROLE) for row in range(2)]
    assert results == ["auth", ""]
    assert model.index(0, 5).data() == "✖ Login refused"  # the title, not the slug (issue 15)
    assert model.index(0, 5).data(Qt.ItemDataRole.ForegroundRole) is not None  # coloured
    # The typed password made the second test one of unsaved settings; the first was saved.
    assert [model.index(row, 7).data() for row in range(2)] == ["unsaved", "saved"]
    assert model.index(0, 1).data() == "send-test"
    history_text = (session.config.paths.data_dir / "history.jsonl").read_text()
    assert "wrong-password" not in history_text


def test_demo_mode_leaves_the_real_config_folder_and_keyring_untouched(tmp_path, monkeypatch,
                                                                       memory_keyring):
    real_config = tmp_path / "real-config"
    monkeypatch.setenv("SMTP_DESKTOP_CONFIG_DIR", str(real_config))
    monkeypatch.setenv("SMTP_DESKTOP_DATA_DIR", str(tmp_path / "real-data"))
    keyring.set_keyring(memory_keyring)
    session = start_demo()
    try:
        assert session.config.load().settings.username == DEMO_USERNAME
        assert session.config.paths.config_dir != real_config
        demo_root = session.config.paths.config_dir.parent
    finally:
        session.close()
    assert not real_config.exists() and not (tmp_path / "real-data").exists()
    assert memory_keyring.entries == {}
    assert not demo_root.exists()  # the temporary folder is gone


def test_side_tabs_hold_help_outbox_and_history(window):
    tabs = child(window, QTabWidget, "sideTabs")
    assert [tabs.tabText(i).replace("&", "") for i in range(tabs.count())] == [
        "Help", "Outbox", "History"]


def test_demo_with_a_command_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "smtp_desktop", "--demo", "show"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--demo opens the window" in result.stderr


def test_outbox_list_json_after_a_demo_send(demo, qtbot, capsys):
    from smtp_desktop.app import main

    session, window = demo
    send(qtbot, window)
    assert main(["--data-dir", str(session.config.paths.data_dir), "outbox", "list",
                 "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["subject"] for m in listed] == ["smtp-desktop test email"]
