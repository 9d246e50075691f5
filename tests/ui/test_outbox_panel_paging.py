"""The Outbox tab pages through the outbox's index from a worker: the GUI thread never waits."""

from __future__ import annotations

import threading
from email.message import EmailMessage

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QPushButton

from smtp_desktop.outbox import Outbox
from smtp_desktop.ui.outbox_panel import ID_ROLE, OutboxPanel

WAIT_MS = 20_000


def mail(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "sender@example.test"
    message["To"] = "friend@example.test"
    message["Subject"] = subject
    message.set_content("body\n")
    return message.as_bytes()


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(tmp_path / "outbox")


@pytest.fixture
def panel(qtbot, outbox):
    widget = OutboxPanel(lambda: outbox, outbox.folder)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def subjects(panel: OutboxPanel) -> list[str]:
    return [panel.model.item(row, 3).text() for row in range(panel.model.rowCount())]


def test_a_slow_index_read_does_not_block_the_gui_thread(qtbot, panel, outbox, monkeypatch):
    outbox.add(mail("only"), "s@example.test", ["r@example.test"])
    released = threading.Event()
    real_page = Outbox.page

    def blocked_page(self, *args, **kwargs):
        # Released by a GUI timer: if the read ran on the GUI thread, the timer could never fire.
        assert released.wait(10), "the GUI thread was blocked while the outbox was read"
        return real_page(self, *args, **kwargs)

    monkeypatch.setattr(Outbox, "page", blocked_page)
    monkeypatch.setattr(Outbox, "list", lambda self: blocked_page(self))
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(released.set)
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh()
        assert panel.model.rowCount() == 0 and not panel.loaded  # still being read
        timer.start(1)
    assert released.is_set()
    assert subjects(panel) == ["only"]


def test_pages_come_newest_first_and_more_appends_older_ones(qtbot, panel, outbox, monkeypatch):
    monkeypatch.setattr(OutboxPanel, "PAGE_SIZE", 5)
    for n in range(12):
        outbox.add(mail(f"m{n:02}"), "s@example.test", ["r@example.test"])
    more = panel.findChild(QPushButton, "outboxMoreButton")
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh()
    assert subjects(panel) == ["m11", "m10", "m09", "m08", "m07"]
    assert more.isEnabled()
    outbox.add(mail("newer"), "s@example.test", ["r@example.test"])  # arrives meanwhile
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        more.click()
    assert subjects(panel)[5:] == ["m06", "m05", "m04", "m03", "m02"]  # no shift, no repeat
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        more.click()
    assert subjects(panel)[10:] == ["m01", "m00"]
    assert not more.isEnabled()
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh()  # back to the newest page
    assert subjects(panel)[0] == "newer" and panel.model.rowCount() == 5


def test_the_selection_survives_a_refresh_and_the_message_is_read_in_a_worker(qtbot, panel,
                                                                              outbox):
    first = outbox.add(mail("first"), "s@example.test", ["r@example.test"])
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh()
    with qtbot.waitSignal(panel.message_loaded, timeout=WAIT_MS) as loaded:
        panel.view.selectRow(0)
    assert loaded.args == [first]
    assert "Subject: first" in panel.message_view.toPlainText()
    outbox.add(mail("second"), "s@example.test", ["r@example.test"])
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh()
    assert subjects(panel) == ["second", "first"]
    assert panel.selected_id() == first
    assert panel.model.item(1, 0).data(ID_ROLE) == first
