"""The Outbox and History tabs: what the local outbox received, and the last tests run.

Both read through plain-Python services (`Outbox`, `HistoryLog`); nothing here touches files.
They load lazily, when first shown: the panels get the services through functions that the
window calls on first use, so neither the services' modules, the email parser nor the files
are on the start-up path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from smtp_desktop.history import HistoryLog
    from smtp_desktop.outbox import Outbox

log = logging.getLogger(__name__)

ID_ROLE = Qt.ItemDataRole.UserRole + 1


def _table(name: str, headers: list[str]) -> tuple[QTableView, QStandardItemModel]:
    model = QStandardItemModel(0, len(headers))
    model.setHorizontalHeaderLabels(headers)
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.setWordWrap(False)
    return view, model


def _item(text: str, message_id: str | None = None) -> QStandardItem:
    item = QStandardItem(text)
    item.setToolTip(text)
    if message_id is not None:
        item.setData(message_id, ID_ROLE)
    return item


class OutboxPanel(QWidget):
    """`outboxView` lists received messages; the selected one shows in `outboxMessageView`.

    What goes wrong (a message deleted meanwhile, a file that cannot be written, a message the
    email package cannot decode) is told in one sentence through `status_reported`.
    """

    status_reported = Signal(str)  # a sentence for the window's status line

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
        self.message_view = QPlainTextEdit()
        self.message_view.setObjectName("outboxMessageView")
        self.message_view.setAccessibleName("Selected message")
        self.message_view.setReadOnly(True)
        self.message_view.setPlaceholderText("Select a message to read it.")
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.setObjectName("outboxRefreshButton")
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setObjectName("outboxDeleteButton")
        self.save_button = QPushButton("Save as .&eml…")
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
            date = message.date[:16].replace("T", " ")
            self.model.appendRow([_item(date, message.id), _item(message.sender),
                                  _item(", ".join(message.recipients)), _item(message.subject)])
        self.view.resizeColumnsToContents()
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
        self._update_buttons()
        message_id = self.selected_id()
        if message_id is None:
            self.message_view.clear()
            return
        self.message_view.setPlainText(self._message_text(message_id))

    def _message_text(self, message_id: str) -> str:
        """The message's headers and text; as stored when the email package cannot decode it."""
        from smtp_desktop.outbox import OutboxError

        outbox = self._outbox()
        try:
            message = outbox.get(message_id)
            headers = "\n".join(f"{name}: {value}" for name, value in message.items())
            body = message.get_body(preferencelist=("plain", "html"))
            text = body.get_content() if body is not None else ""
            return f"{headers}\n\n{text}"
        except (OSError, OutboxError) as exc:  # before LookupError: UnknownMessageError is one
            self._report(f"The message could not be read: {exc}")
            return f"The message could not be read: {exc}"
        except LookupError as exc:  # a character set Python does not know
            reason = f"it uses a character set this computer does not know ({exc})"
        except (OverflowError, ValueError) as exc:  # e.g. a Date beyond the years datetime holds
            reason = f"a header cannot be read ({exc})"
        try:
            raw = outbox.raw(message_id)
        except (OSError, OutboxError) as exc:
            self._report(f"The message could not be read: {exc}")
            return f"The message could not be read: {exc}"
        self._report(f"The message is shown as stored: {reason}.")
        return (f"[Shown as stored: {reason}.]\n\n"
                + raw.decode("utf-8", "replace").replace("\r\n", "\n"))

    def _report(self, text: str) -> None:
        log.info("outbox: %s", text)
        self.status_reported.emit(text)

    def _on_delete_button_clicked(self) -> None:
        from smtp_desktop.outbox import OutboxError, UnknownMessageError

        message_id = self.selected_id()
        if message_id is None:
            return
        try:
            self._outbox().delete(message_id)
        except UnknownMessageError:
            self._report("That message was no longer in the outbox (deleted elsewhere); "
                         "the list is up to date now.")
        except (OSError, OutboxError) as exc:
            self._report(f"The message could not be deleted: {getattr(exc, 'strerror', None) or exc}")
        else:
            self._report("Message deleted from the local outbox.")
        self.refresh()

    def _on_save_button_clicked(self) -> None:
        message_id = self.selected_id()
        if message_id is None:
            return
        from PySide6.QtWidgets import QFileDialog, QMessageBox

        from smtp_desktop.outbox import OutboxError, UnknownMessageError

        path, _filter = QFileDialog.getSaveFileName(
            self, "Save message", str(Path.home() / "message.eml"), "Email message (*.eml)")
        if not path:
            return
        try:
            self._outbox().save_eml(message_id, Path(path))
        except UnknownMessageError:
            self._report("That message was no longer in the outbox (deleted elsewhere); "
                         "nothing was saved.")
            self.refresh()
        except (OSError, OutboxError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            self._report(f"The message was not saved to {path}: {reason}")
            QMessageBox.warning(self, "Message not saved",
                                f"The message could not be saved to {path}:\n{reason}")
        else:
            self._report(f"Message saved to {path}.")


class HistoryPanel(QWidget):
    """`historyView`: the last test sends and probes, newest first."""

    HEADERS = ("Time (UTC)", "Test", "Service", "Server", "Recipient", "Result", "ms")

    def __init__(self, history: Callable[[], HistoryLog], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history = history
        self.loaded = False
        self.view, self.model = _table("historyView", list(self.HEADERS))
        self.view.setAccessibleName("Test history")
        layout = QVBoxLayout(self)
        note = QLabel("The last 200 test sends and probes (never a password).")
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.view, 1)

    def refresh(self) -> None:
        try:
            records = self._history().records()
        except OSError as exc:
            log.warning("history unreadable: %s", exc)
            return
        self.loaded = True
        self.model.removeRows(0, self.model.rowCount())
        for record in reversed(records):
            result = "ok" if record.ok else (record.category or "failed")
            self.model.appendRow([
                _item(record.time.replace("T", " ").removesuffix("Z")), _item(record.kind),
                _item(record.service), _item(record.server), _item(record.recipient or ""),
                _item(result), _item(f"{record.elapsed_ms:.0f}")])
        self.view.resizeColumnsToContents()
