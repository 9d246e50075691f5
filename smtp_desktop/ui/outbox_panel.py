"""The Outbox tab: what the local outbox received.

It reads through the plain-Python `Outbox`; nothing here touches files. It loads lazily, when
first shown: the panel gets the service through a function that the window calls on first use,
so neither its module, the email parser nor the files are on the start-up path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.ui.tables import ID_ROLE, fit_columns, order_columns
from smtp_desktop.ui.tables import item as _item
from smtp_desktop.ui.tables import table as _table

if TYPE_CHECKING:
    from smtp_desktop.outbox import Outbox

log = logging.getLogger(__name__)

# The Outbox's visible column order: what a reader scans first (model columns stay as they are:
# date, from, to, subject).
VISUAL_ORDER = [3, 1, 0, 2]


class OutboxPanel(QWidget):
    """`outboxView` lists received messages; the selected one shows in `outboxMessageView`."""

    def __init__(self, outbox: Callable[[], Outbox], folder: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._outbox = outbox
        self.loaded = False
        self._info = QLabel(f"Mail kept by the local outbox (nothing leaves this computer), in "
                            f"{folder}.")
        self._info.setObjectName("outboxInfoLabel")
        self._info.setWordWrap(True)
        self._info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view, self.model = _table("outboxView", ["Date", "From", "To", "Subject"])
        self.view.setAccessibleName("Outbox messages")
        order_columns(self.view, VISUAL_ORDER)
        self.message_view = QPlainTextEdit()
        self.message_view.setObjectName("outboxMessageView")
        self.message_view.setAccessibleName("Selected message")
        self.message_view.setReadOnly(True)
        self.message_view.setPlaceholderText("Select a message to read it.")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("outboxRefreshButton")
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setObjectName("outboxDeleteButton")
        self.save_button = QPushButton("Save as .eml…")
        self.save_button.setObjectName("outboxSaveButton")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.message_view)
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.delete_button, self.save_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self._info)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        self.refresh_button.clicked.connect(self.refresh)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._update_buttons()

    def refresh(self) -> None:
        """Re-read the outbox, keeping the selected message selected when it still exists."""
        from smtp_desktop.outbox import OutboxError

        selected = self.selected_id()
        try:
            messages = self._outbox().list()
        except (OSError, OutboxError) as exc:
            self.message_view.setPlainText(f"The outbox could not be read: {exc}")
            return
        self.loaded = True
        self.model.removeRows(0, self.model.rowCount())
        for message in messages:
            self.model.appendRow([_item(short_time(message.date), message.id, message.date),
                                  _item(message.sender),
                                  _item(", ".join(message.recipients)), _item(message.subject)])
        fit_columns(self.view)
        for row in range(self.model.rowCount()):
            if self.model.item(row, 0).data(ID_ROLE) == selected:
                self.view.selectRow(row)
                break
        else:
            self.message_view.clear()
        self._update_buttons()

    def selected_id(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.item(rows[0].row(), 0).data(ID_ROLE) if rows else None

    def _update_buttons(self) -> None:
        chosen = self.selected_id() is not None
        self.delete_button.setEnabled(chosen)
        self.save_button.setEnabled(chosen)

    def _on_selection_changed(self, *_args: Any) -> None:
        from smtp_desktop.outbox import OutboxError

        self._update_buttons()
        message_id = self.selected_id()
        if message_id is None:
            self.message_view.clear()
            return
        try:
            message = self._outbox().get(message_id)
        except (OSError, OutboxError) as exc:
            self.message_view.setPlainText(f"The message could not be read: {exc}")
            return
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        self.message_view.setPlainText(f"{headers}\n\n{text}")

    def _on_delete_button_clicked(self) -> None:
        message_id = self.selected_id()
        if message_id is not None:
            self._outbox().delete(message_id)
            self.refresh()

    def _on_save_button_clicked(self) -> None:
        message_id = self.selected_id()
        if message_id is None:
            return
        from PySide6.QtWidgets import QFileDialog

        path, _filter = QFileDialog.getSaveFileName(
            self, "Save message", str(Path.home() / "message.eml"), "Email message (*.eml)")
        if path:
            self._outbox().save_eml(message_id, Path(path))


def short_time(iso: str) -> str:
    """`iso` (ISO 8601) in local time, short: "14:05" today, else "2026-12-01 14:05"."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso[:16].replace("T", " ")
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    today = dt.datetime.now(moment.tzinfo).date()
    return moment.strftime("%H:%M" if moment.date() == today else "%Y-%m-%d %H:%M")
