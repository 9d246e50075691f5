"""Tooltips that show text literally.

Qt shows a tooltip as rich text when it looks like HTML, and rich text loads the images it
names: a message's subject, a link or a server's reply in a tooltip could make the app open a
local file (`<img src="/home/...">`). The text a tooltip holds stays as it is (scripts read it);
only what is shown on screen is escaped, by `PlainToolTips` for item views and by
`show_plain_tooltip` in a widget's `event()`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate, QStyleOptionViewItem, QToolTip, QWidget


def plain_tooltip(text: str) -> str:
    """`text` as rich text that reads as written, line breaks kept ("" stays "")."""
    if not text:
        return ""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<p style='white-space:pre-wrap'>{escaped}</p>"


def show_plain_tooltip(position: QPoint, text: str, widget: QWidget) -> None:
    if text:
        QToolTip.showText(position, plain_tooltip(text), widget)
    else:
        QToolTip.hideText()


class PlainToolTips(QStyledItemDelegate):
    """An item delegate whose tooltips show their text literally."""

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView,
                  option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        if event.type() != QEvent.Type.ToolTip:
            return super().helpEvent(event, view, option, index)
        text = index.data(Qt.ItemDataRole.ToolTipRole) if index.isValid() else None
        show_plain_tooltip(event.globalPos(), str(text or ""), view)
        return True
