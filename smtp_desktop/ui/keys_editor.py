"""The keys table with add, remove, paste and completion from the JavaMail catalogue."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.config.keys import CATALOGUE
from smtp_desktop.ui.keys_model import KEY_COLUMN, KeysTableModel


class KeyNameDelegate(QStyledItemDelegate):
    """Edits key names with completion over the known keys; descriptions as tooltips."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        editor = QLineEdit(parent)
        if index.column() == KEY_COLUMN:
            editor.setObjectName("keyNameEditor")
            completer = QCompleter([spec.name for spec in CATALOGUE], editor)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            editor.setCompleter(completer)
        return editor


class _KeysTableView(QTableView):
    pasted = Signal()

    def keyPressEvent(self, event: Any) -> None:
        if event.matches(QKeySequence.StandardKey.Paste) and self.state() != (
                QAbstractItemView.State.EditingState):
            self.pasted.emit()
            return
        super().keyPressEvent(event)


class KeysEditor(QWidget):
    """`keysTable` plus `addKeyButton`, `removeKeyButton` and `pasteKeysButton`.

    `message` reports the outcome of a paste in one sentence, for the window's status line.
    """

    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = KeysTableModel(self)
        self.table = _KeysTableView()
        self.table.setObjectName("keysTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(KeyNameDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(130)
        self.table.setToolTip("Extra JavaMail properties, e.g. mail.smtp.auth: true. Paste a "
                              "block such as { mail.smtp.auth: true } with Ctrl+V.")

        self.add_button = QPushButton("&Add key")
        self.add_button.setObjectName("addKeyButton")
        self.remove_button = QPushButton("Re&move key")
        self.remove_button.setObjectName("removeKeyButton")
        self.paste_button = QPushButton("Paste ke&ys")
        self.paste_button.setObjectName("pasteKeysButton")
        self.paste_button.setToolTip("Add or update rows from the clipboard: "
                                     "{ key: value, ... }, JSON, or key=value lines.")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.paste_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.paste_button.clicked.connect(self.paste_from_clipboard)
        self.table.pasted.connect(self.paste_from_clipboard)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.table.selectionModel().hasSelection())

    def _on_add_button_clicked(self) -> None:
        row = self.model.add_row()
        index = self.model.index(row, KEY_COLUMN)
        self.table.setCurrentIndex(index)
        self.table.edit(index)

    def _on_remove_button_clicked(self) -> None:
        rows = [index.row() for index in self.table.selectionModel().selectedRows()]
        self.model.remove_rows(rows)
        self._update_buttons()

    def paste_from_clipboard(self) -> None:
        self.paste_text(QGuiApplication.clipboard().text())

    def paste_text(self, text: str) -> bool:
        """Add or update rows from `text`; conflicting values are replaced only after asking."""
        from PySide6.QtWidgets import QMessageBox  # pasting is not on the start-up path

        from smtp_desktop.config.keys_text import KeysTextError, merge_keys, parse_keys_text

        try:
            pasted = parse_keys_text(text)
        except KeysTextError as exc:
            self.message.emit(f"Nothing pasted: {exc}")
            return False
        plan = merge_keys(self.model.keys(), pasted)
        overwrite = False
        if plan.conflicts:
            listed = "\n".join(f"{c.key}: {c.current} → {c.pasted}" for c in plan.conflicts)
            answer = QMessageBox.question(
                self, "Replace existing keys?",
                f"The pasted keys change {len(plan.conflicts)} existing value(s):\n\n{listed}\n\n"
                "Replace them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No)
            overwrite = answer == QMessageBox.StandardButton.Yes
        merged = plan.apply(overwrite=overwrite)
        if merged == self.model.keys():
            self.message.emit("Nothing changed: the table already has these keys"
                              + (" (existing values kept)." if plan.conflicts else "."))
            return False
        self.model.set_keys(merged)
        self.model.edited.emit()
        kept = "" if overwrite or not plan.conflicts else (
            f"; kept {len(plan.conflicts)} existing value(s)")
        self.message.emit(f"Pasted {len(plan.add)} new and {len(plan.update)} updated key(s)"
                          f"{kept}.")
        return True
