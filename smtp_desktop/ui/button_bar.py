"""The fixed button bar under the form: the status line, Revert and Save, always visible."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from smtp_desktop.ui.status_label import StatusLabel


class ButtonBar(QWidget):
    """`statusLabel`, `revertButton` and `saveButton` (the default button; Ctrl+S too)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        outer.addWidget(line)
        row = QHBoxLayout()
        row.setContentsMargins(9, 6, 9, 6)
        outer.addLayout(row)
        self.status_label = StatusLabel()
        self.status_label.setObjectName("statusLabel")
        self.status_label.setAccessibleName("Status")
        row.addWidget(self.status_label, 1)
        self.revert_button = QPushButton("&Revert")
        self.revert_button.setObjectName("revertButton")
        self.save_button = QPushButton("&Save")
        self.save_button.setObjectName("saveButton")
        self.save_button.setToolTip("Save (Ctrl+S)")
        self.save_button.setDefault(True)
        row.addWidget(self.revert_button)
        row.addWidget(self.save_button)

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)
