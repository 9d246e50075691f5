"""The Key / Value table model: ordered rows, problems flagged in place, catalogue tooltips."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from smtp_desktop.config.errors import Problem
from smtp_desktop.config.keys import spec_for
from smtp_desktop.config.model import Keys
from smtp_desktop.config.validation import key_problems

_Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Key", "Value")
KEY_COLUMN, VALUE_COLUMN = 0, 1


class KeysTableModel(QAbstractTableModel):
    """Rows of [key, value]; duplicates and empty keys stay representable so they can be flagged."""

    edited = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[list[str]] = []
        self._problems: dict[int, str] = {}

    # ---------------------------------------------------------------- data access

    def keys(self) -> Keys:
        return tuple((key, value) for key, value in self._rows)

    def set_keys(self, keys: Keys) -> None:
        self.beginResetModel()
        self._rows = [[key, value] for key, value in keys]
        self._refresh_problems()
        self.endResetModel()

    def problems(self) -> list[Problem]:
        return [Problem("keys", message, row) for row, message in sorted(self._problems.items())]

    def add_row(self, key: str = "", value: str = "") -> int:
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append([key, value])
        self.endInsertRows()
        self._changed()
        return row

    def remove_rows(self, rows: list[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._rows):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        self._changed()

    def _refresh_problems(self) -> None:
        self._problems = {p.row: p.message for p in key_problems(self.keys()) if p.row is not None}

    def _changed(self) -> None:
        self._refresh_problems()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 1))
        self.edited.emit()

    # ---------------------------------------------------------------- Qt model API

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEditable)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        key = self._rows[row][KEY_COLUMN]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._rows[row][column]
        problem = self._problems.get(row)
        spec = spec_for(key.strip())
        if role == Qt.ItemDataRole.ToolTipRole:
            if problem:
                return problem
            if spec is None:
                return f"{key}: not used by this app (unknown key)." if key else None
            used = "" if spec.used else " Not used by this app."
            return f"{spec.description} ({spec.type.value}; default {spec.default or 'none'}).{used}"
        if role == Qt.ItemDataRole.BackgroundRole and problem:
            return QBrush(QColor(255, 80, 80, 70))
        if role == Qt.ItemDataRole.FontRole and column == KEY_COLUMN and key and (
                spec is None or not spec.used):
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return problem
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        text = "" if value is None else str(value)
        if self._rows[index.row()][index.column()] == text:
            return False
        self._rows[index.row()][index.column()] = text
        self._changed()
        return True
