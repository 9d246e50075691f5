"""The Outbox tab says what went wrong instead of raising in a slot (pytest-qt fails on that)."""

from __future__ import annotations

import errno

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QPlainTextEdit, QPushButton, QTableView
from support.qt import child

from smtp_desktop.outbox import Outbox
from smtp_desktop.ui.main_window import SettingsWindow
from smtp_desktop.ui.outbox_panel import OutboxPanel

PLAIN = b"From: a@example.com\nTo: b@example.com\nSubject: hello\n\nplain text\n"
UNKNOWN_CHARSET = (b"From: a@example.com\nTo: b@example.com\nSubject: odd charset\n"
                   b"Content-Type: text/plain; charset=x-no-such-charset\n\nbody in odd charset\n")
HUGE_YEAR = (b"From: a@example.com\nTo: b@example.com\nSubject: far future\n"
             b"Date: Mon, 1 Jan 99999999999 00:00:00 +0000\n\nbody from the future\n")


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "outbox")


@pytest.fixture
def outbox_window(qtbot, config_service, outbox):
    def make(*messages: bytes) -> SettingsWindow:
        for raw in messages:
            outbox.add(raw, "a@example.com", ["b@example.com"])
        window = SettingsWindow(config_service, outbox=outbox)
        qtbot.addWidget(window)
        window.show()
        window.show_tab("outbox")
        # The list and the selected message are read by workers (the tab never waits for disk).
        qtbot.waitUntil(lambda: rows(window) == len(messages))
        with qtbot.waitSignal(window.findChild(OutboxPanel).message_loaded):
            child(window, QTableView, "outboxView").selectRow(0)
        return window

    return make


def click(qtbot, window, name):
    qtbot.mouseClick(child(window, QPushButton, name), Qt.MouseButton.LeftButton)


def status(window) -> str:
    return child(window, QLabel, "statusLabel").text()


def rows(window) -> int:
    return child(window, QTableView, "outboxView").model().rowCount()


def test_deleting_a_message_that_vanished_says_so_and_refreshes(outbox_window, outbox, qtbot):
    window = outbox_window(PLAIN)
    Outbox(outbox.folder).clear()  # deleted elsewhere: `outbox clear`, another window

    click(qtbot, window, "outboxDeleteButton")

    assert "no longer in the outbox" in status(window)
    qtbot.waitUntil(lambda: rows(window) == 0)


def test_a_delete_that_fails_says_why_and_keeps_the_message(outbox_window, outbox, qtbot,
                                                            monkeypatch):
    window = outbox_window(PLAIN)

    def refuse(message_id):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(outbox, "delete", refuse)  # root ignores modes: the refusal is simulated
    click(qtbot, window, "outboxDeleteButton")

    assert status(window) == "The message could not be deleted: Permission denied"
    assert rows(window) == 1


def test_saving_a_message_that_vanished_says_so_and_writes_nothing(outbox_window, outbox, qtbot,
                                                                   tmp_path, monkeypatch):
    window = outbox_window(PLAIN)
    target = tmp_path / "saved.eml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    Outbox(outbox.folder).clear()

    click(qtbot, window, "outboxSaveButton")

    assert "no longer in the outbox" in status(window) and "nothing was saved" in status(window)
    assert not target.exists()
    qtbot.waitUntil(lambda: rows(window) == 0)


def test_a_save_that_cannot_write_warns_and_says_why(outbox_window, qtbot, tmp_path, monkeypatch):
    window = outbox_window(PLAIN)
    target = tmp_path / "no-such-folder" / "saved.eml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[1:3]))

    click(qtbot, window, "outboxSaveButton")

    assert f"was not saved to {target}: No such file or directory" in status(window)
    assert len(warnings) == 1 and warnings[0][0] == "Message not saved"
    assert str(target) in warnings[0][1]
    assert rows(window) == 1  # the message is still there


def test_a_successful_save_says_where(outbox_window, qtbot, tmp_path, monkeypatch):
    window = outbox_window(PLAIN)
    target = tmp_path / "saved.eml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))

    click(qtbot, window, "outboxSaveButton")

    assert status(window) == f"Message saved to {target}."
    assert b"plain text" in target.read_bytes()


def test_a_message_in_an_unknown_charset_is_shown_as_stored(outbox_window):
    window = outbox_window(UNKNOWN_CHARSET)

    text = child(window, QPlainTextEdit, "outboxMessageView").toPlainText()

    reason = "character set this computer does not know"
    assert text.startswith("[Shown as stored:")
    assert reason in text and "body in odd charset" in text
    assert "Subject:" in text  # the headers are there too, as stored
    assert reason in status(window)


def test_a_date_with_a_huge_year_is_stored_listed_and_shown(outbox_window):
    window = outbox_window(HUGE_YEAR)  # storing it once raised OverflowError in the index

    text = child(window, QPlainTextEdit, "outboxMessageView").toPlainText()

    assert "Date: Mon, 1 Jan 99999999999 00:00:00 +0000" in text
    assert "body from the future" in text
    assert rows(window) == 1
