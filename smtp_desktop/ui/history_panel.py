"""The History tab (`historyView`): the last test sends and probes, newest first.

It reads through the plain-Python `HistoryLog`, got through a function the window calls on first
use, so neither its module nor the file is on the start-up path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from smtp_desktop.ui import tint
from smtp_desktop.ui.outbox_panel import short_time
from smtp_desktop.ui.tables import fit_columns, item, order_columns, table

if TYPE_CHECKING:
    from smtp_desktop.history import HistoryLog

log = logging.getLogger(__name__)

CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 2  # the Result cell's failure slug ("auth"; "" if ok)
# Model columns stay as they were (time, test, service, server, recipient, result, ms); the view
# shows what matters first: the result, when, what and where.
VISUAL_ORDER = [5, 0, 1, 3, 4, 6, 2, 7]


class HistoryPanel(QWidget):
    """`historyView`: one row per check; failures coloured, times local and short."""

    HEADERS = ("Time", "Test", "Service", "Server", "Recipient", "Result", "ms", "Settings")

    def __init__(self, history: Callable[[], HistoryLog], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history = history
        self.loaded = False
        self.view, self.model = table("historyView", list(self.HEADERS))
        self.view.setAccessibleName("Test history")
        order_columns(self.view, VISUAL_ORDER)
        layout = QVBoxLayout(self)
        note = QLabel("The last 200 test sends and probes (never a password). Hover a time for "
                      "the full time.")
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.view, 1)

    def refresh(self) -> None:
        from smtp_desktop.mail.errors import Category, title_of

        try:
            records = self._history().records()
        except OSError as exc:
            log.warning("history unreadable: %s", exc)
            return
        self.loaded = True
        self.model.removeRows(0, self.model.rowCount())
        failed = QBrush(QColor(tint.pick(tint.ERROR, tint.is_dark(self.palette()))))
        for record in reversed(records):
            if record.ok:
                result = item("✔ ok")
            else:
                try:
                    title = title_of(Category(record.category))
                except ValueError:
                    title = record.category or "failed"
                result = item(f"✖ {title}", tooltip=f"{title} [{record.category}]")
                result.setForeground(failed)
            result.setData(record.category or "", CATEGORY_ROLE)
            self.model.appendRow([
                item(short_time(record.time), tooltip=record.time), item(record.kind),
                item(record.service_text), item(record.server), item(record.recipient or ""),
                result, item(f"{record.elapsed_ms:.0f}"), item(record.settings)])
        fit_columns(self.view)
