"""The status line: one line whatever the message, so a new status never re-lays out the form."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from smtp_desktop.ui.tooltips import show_plain_tooltip


class StatusLabel(QLabel):
    """A one-line QLabel that shows as much of its text as fits, ending in "…".

    `text()`, the tooltip and the accessible description keep the whole message. A word-wrapped
    label grows and shrinks with its message, and each change of height re-lays out and repaints
    the whole form (measured: 8-10 ms on the GUI thread as a check starts or ends).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.setAccessibleDescription(text)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            show_plain_tooltip(event.globalPos(), self.toolTip(), self)  # it may quote mail
            return True
        return super().event(event)

    def clear(self) -> None:
        self.setText("")

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._line_height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._line_height())

    def _line_height(self) -> int:
        """One line, even for a message holding line breaks."""
        margins = self.contentsMargins()
        return self.fontMetrics().height() + margins.top() + margins.bottom() + 2 * self.margin()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.text():
            return  # nothing to draw (and the style's enums stay unloaded until there is)
        area = self.contentsRect()
        one_line = " ".join(self.text().split())
        shown = self.fontMetrics().elidedText(one_line, Qt.TextElideMode.ElideRight,
                                              area.width())
        painter = QPainter(self)
        self.style().drawItemText(painter, area, int(self.alignment()), self.palette(),
                                  self.isEnabled(), shown, self.foregroundRole())
