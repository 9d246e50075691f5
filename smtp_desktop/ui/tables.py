"""Read-only tables the side tabs share: one row selected at a time, columns sized to content."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from smtp_desktop.ui.tooltips import PlainToolTips

ID_ROLE = Qt.ItemDataRole.UserRole + 1


def table(name: str, headers: list[str]) -> tuple[QTableView, QStandardItemModel]:
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
    view.setItemDelegate(PlainToolTips(view))  # cells quote mail and servers
    return view, model


def item(text: str, message_id: str | None = None, tooltip: str | None = None) -> QStandardItem:
    cell = QStandardItem(text)
    cell.setToolTip(tooltip if tooltip is not None else text)
    if message_id is not None:
        cell.setData(message_id, ID_ROLE)
    return cell


def order_columns(view: QTableView, visual: list[int]) -> None:
    """Show the model's columns in the order `visual` (model indexes stay as they are)."""
    header = view.horizontalHeader()
    for position, logical in enumerate(visual):
        header.moveSection(header.visualIndex(logical), position)


def fit_columns(view: QTableView, cap: int = 260) -> None:
    """Size columns to their content, none wider than `cap` pixels (the last one stretches)."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    for column in range(header.count()):
        if header.sectionSize(column) > cap:
            header.resizeSection(column, cap)
