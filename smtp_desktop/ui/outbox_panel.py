"""The Outbox tab: what the local outbox received.

It reads through the plain-Python `Outbox`; nothing here touches files. It loads lazily, when
first shown: the panel gets the service through a function that the window calls on first use,
so neither its module, the email parser nor the files are on the start-up path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.ui.fault_selector import FaultSelector
from smtp_desktop.ui.message_viewer import MessageViewer
from smtp_desktop.ui.tables import ID_ROLE, fit_columns, order_columns
from smtp_desktop.ui.tables import item as _item
from smtp_desktop.ui.tables import table as _table

if TYPE_CHECKING:
    from smtp_desktop.outbox import Outbox
    from smtp_desktop.ui.outbox_reading import SelectedMessage

log = logging.getLogger(__name__)

CELL_SHOWN = 200  # characters of a list cell
PAGE_ROWS_MEASURED = 30  # rows measured to size the columns
# The Outbox's visible column order: what a reader scans first (model columns stay as they are:
# date, from, to, subject).
VISUAL_ORDER = [3, 1, 0, 2]


class OutboxPanel(QWidget):
    """`outboxView` lists received messages; the selected one shows in the `MessageViewer`
    (text, HTML, links and codes). `outboxFaultCombo` chooses how the window's own outbox
    answers (`fault_rules_changed`), and `outboxLimitsButton` opens the limits of outbox.json.

    The list comes from the outbox's index one page at a time (`PAGE_SIZE` newest first,
    `outboxMoreButton` for the next), and both the pages and the selected message are read by a
    worker: the GUI thread never waits for the disk, however many messages are stored.

    What goes wrong (a message deleted meanwhile, a file that cannot be written, a message the
    email package cannot decode) is told in one sentence through `status_reported`.
    """

    PAGE_SIZE = 200
    refreshed = Signal()  # a page of the list arrived and is shown
    message_loaded = Signal(str)  # the selected message's text is shown (its id)
    status_reported = Signal(str)  # a sentence for the window's status line
    fault_rules_changed = Signal(object)  # tuple[FaultRule, ...]: how the own outbox answers

    def __init__(self, outbox: Callable[[], Outbox], folder: Path,
                 config_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._outbox = outbox
        self._config_dir = config_dir
        self.loaded = False
        self._generation = 0  # pages of an older refresh are dropped
        self._cursor: str | None = None  # the oldest id shown: the next page starts after it
        self._keep_selected: str | None = None
        self._info = QLabel(f"Mail kept by the local outbox (nothing leaves this computer), in "
                            f"{folder}.")
        self._info.setObjectName("outboxInfoLabel")
        self._info.setWordWrap(True)
        self._info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view, self.model = _table("outboxView", ["Date", "From", "To", "Subject"])
        self.view.setAccessibleName("Outbox messages")
        # Column widths from the first rows only: measuring every row costs a stall per page.
        self.view.horizontalHeader().setResizeContentsPrecision(PAGE_ROWS_MEASURED)
        order_columns(self.view, VISUAL_ORDER)
        self.viewer = MessageViewer()
        self.message_view = self.viewer.message_view
        self.faults = FaultSelector()
        self.limits_button = QPushButton("Limits…")
        self.limits_button.setObjectName("outboxLimitsButton")
        self.limits_button.setToolTip("What the local outbox accepts (outbox.json)")
        self.limits_button.setEnabled(config_dir is not None)
        self.faults.add_to_row(self.limits_button)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("outboxRefreshButton")
        self.more_button = QPushButton("More")
        self.more_button.setObjectName("outboxMoreButton")
        self.more_button.setToolTip(f"Show the next {self.PAGE_SIZE} older messages")
        self.more_button.setEnabled(False)
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setObjectName("outboxDeleteButton")
        self.save_button = QPushButton("Save as .eml…")
        self.save_button.setObjectName("outboxSaveButton")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.viewer)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.more_button, self.delete_button, self.save_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self._info)
        layout.addWidget(self.faults)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        self.refresh_button.clicked.connect(self.refresh)
        self.more_button.clicked.connect(self.load_more)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.limits_button.clicked.connect(self._on_limits_button_clicked)
        self.faults.rules_changed.connect(self.fault_rules_changed)
        self.viewer.copied.connect(self._on_viewer_copied)
        self.viewer.link_clicked.connect(self._on_viewer_link_clicked)
        self._update_buttons()

    def refresh(self) -> None:
        """Re-read the newest page (in a worker), keeping the selected message selected when it
        is still among them; `refreshed` is emitted once it is shown."""
        self._generation += 1
        self._keep_selected = self.selected_id()
        self.faults.load()
        self._load_page(None)

    def load_more(self) -> None:
        """Append the next page of older messages (in a worker)."""
        if self._cursor is not None:
            self.more_button.setEnabled(False)
            self._load_page(self._cursor)

    def _load_page(self, before: str | None) -> None:
        from smtp_desktop.ui.worker import Worker, start_worker

        outbox, generation, size = self._outbox(), self._generation, self.PAGE_SIZE
        worker = Worker(lambda: (generation, before, outbox.page(limit=size, before=before)))
        worker.signals.succeeded.connect(self._on_page_worker_succeeded)
        worker.signals.errored.connect(self._on_page_worker_errored)
        start_worker(worker)

    def _on_page_worker_succeeded(self, result: tuple[int, str | None, list[Any]]) -> None:
        generation, before, messages = result
        if generation != self._generation:
            return  # a newer refresh is on its way
        if before is None:
            self.model.removeRows(0, self.model.rowCount())
        for message in messages:
            self.model.appendRow([_item(short_time(message.date), message.id, message.date),
                                  _item(_short(message.sender)),
                                  _item(_short(", ".join(message.recipients))),
                                  _item(_short(message.subject))])
        if messages:
            self._cursor = messages[-1].id
        self.more_button.setEnabled(len(messages) == self.PAGE_SIZE)
        if before is None:
            self.loaded = True
            fit_columns(self.view)
            selected, self._keep_selected = self._keep_selected, None
            for row in range(self.model.rowCount()):
                if self.model.item(row, 0).data(ID_ROLE) == selected:
                    self.view.selectRow(row)
                    break
            else:
                self.viewer.clear()
        self._update_buttons()
        self.refreshed.emit()

    def _on_page_worker_errored(self, exc: Exception) -> None:
        self.viewer.show_error(f"The outbox could not be read: {exc}")
        self.refreshed.emit()

    def selected_id(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.item(rows[0].row(), 0).data(ID_ROLE) if rows else None

    def _update_buttons(self) -> None:
        chosen = self.selected_id() is not None
        self.delete_button.setEnabled(chosen)
        self.save_button.setEnabled(chosen)

    def _on_selection_changed(self, *_args: Any) -> None:
        from smtp_desktop.ui.worker import Worker, start_worker

        self._update_buttons()
        message_id = self.selected_id()
        # Nothing of the previous message stays while the next one is read: a Copy code then
        # would copy the wrong code.
        self.viewer.clear()
        if message_id is None:
            return
        from smtp_desktop.ui.outbox_reading import read_selected

        outbox = self._outbox()
        worker = Worker(lambda: read_selected(outbox, message_id))
        worker.signals.succeeded.connect(self._on_message_worker_succeeded)
        worker.signals.errored.connect(partial(self._on_message_worker_errored, message_id))
        start_worker(worker)

    def _on_message_worker_succeeded(self, message: SelectedMessage) -> None:
        if message.id == self.selected_id():
            self.viewer.show_message(message)
            if message.note:
                self._report(message.note)
            self.message_loaded.emit(message.id)

    def _on_message_worker_errored(self, message_id: str, exc: Exception) -> None:
        if message_id != self.selected_id():
            return  # about a message no longer selected
        self.viewer.show_error(f"The message could not be read: {exc}")
        self._report(f"The message could not be read: {exc}")

    def _on_viewer_copied(self, what: str, value: str) -> None:
        self._report(f"{what.capitalize()} copied to the clipboard: {value}")

    def _on_viewer_link_clicked(self, address: str) -> None:
        self._report(f"Link (not opened; Copy link copies it): {address}")

    def _on_limits_button_clicked(self) -> None:
        if self._config_dir is None:
            return
        from smtp_desktop.ui.outbox_limits_dialog import OutboxLimitsDialog

        dialog = OutboxLimitsDialog(self._config_dir, self)
        dialog.saved.connect(self._on_limits_dialog_saved)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _on_limits_dialog_saved(self, _limits: object) -> None:
        self._report("Outbox limits saved to outbox.json; the next test send uses them.")

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


def _short(text: str, limit: int = CELL_SHOWN) -> str:
    """A cell's text: a 20,000-recipient list would cost the view seconds to measure and draw."""
    return text if len(text) <= limit else text[:limit] + "…"


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
