"""Small building blocks the panels share: a labelled form row, a message with a button, and
a field's error line that keeps its place."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from smtp_desktop.ui import tint
from smtp_desktop.ui.status_label import StatusLabel


def add_row(form: QFormLayout, text: str, field: QWidget, note: QWidget | None,
            accessible: str, buddy: QWidget | None = None) -> QLabel:
    """Add `field` (with `note` under it) to `form` behind a mnemonic label; returns the label."""
    label = QLabel(text)
    label.setBuddy(buddy or field)
    (buddy or field).setAccessibleName(accessible)
    if note is None:
        form.addRow(label, field)
        return label
    holder = QWidget()
    holder_layout = QVBoxLayout(holder)
    holder_layout.setContentsMargins(0, 0, 0, 0)
    holder_layout.setSpacing(2)
    holder_layout.addWidget(field)
    holder_layout.addWidget(note)
    form.addRow(label, holder)
    return label


def message_row(label_name: str, button_name: str) -> tuple[QWidget, QLabel, QPushButton]:
    """A word-wrapped message with an action button beside it (an offer, a fix)."""
    label = QLabel()
    label.setObjectName(label_name)
    label.setWordWrap(True)
    button = QPushButton()
    button.setObjectName(button_name)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(label, 1)
    layout.addWidget(button)
    return row, label, button


def keep_place(widget: QWidget) -> None:
    """Keep `widget`'s space in the layout while it is hidden, so nothing below it moves."""
    policy = widget.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    widget.setSizePolicy(policy)


class FieldError(StatusLabel):
    """A field's validation message on one reserved line.

    `text()` is set at once (scripts read it), but the line shows only once the field has been
    left (focus out) or the user asked for everything (`reveal()`: Save, a test): no red text
    while a user is still typing into an empty form. Its space is kept while hidden, so showing
    it never moves the widgets below (a long message ends in "…", the tooltip holds it all).
    """

    def __init__(self, name: str, field: QWidget) -> None:
        super().__init__()
        self.setObjectName(name)
        tint.track(self, tint.ERROR)
        keep_place(self)
        self.revealed = False
        self._field = field
        field.installEventFilter(self)
        self.setVisible(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusOut and not self.revealed:
            self.reveal()
        return False

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text) and self.revealed)

    def reveal(self) -> None:
        """Show the message (now and from now on)."""
        self.revealed = True
        self.setVisible(bool(self.text()))

    def conceal(self) -> None:
        """Back to a fresh field's state: hidden until left again (after a load or revert)."""
        self.revealed = False
        self.setVisible(False)
