"""The side pane (`sideTabs`): Help, Outbox and History. The Outbox and History load when
their tab is first shown, not at start-up."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QTabWidget, QWidget

from smtp_desktop.ui.help_pane import HelpPane
from smtp_desktop.ui.history_panel import HistoryPanel
from smtp_desktop.ui.outbox_panel import OutboxPanel

if TYPE_CHECKING:
    from smtp_desktop.config.paths import AppPaths
    from smtp_desktop.history import HistoryLog
    from smtp_desktop.outbox import Outbox


class SidePane(QTabWidget):
    """The three tabs; `show_panel(name)` brings "help", "outbox" or "history" to the front."""

    def __init__(self, paths: AppPaths, outbox: Outbox | None = None,
                 history: HistoryLog | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sideTabs")
        self.help_pane = HelpPane()
        self.addTab(self.help_pane, "&Help")
        folder = outbox.folder if outbox is not None else paths.outbox_folder
        self.outbox_panel = OutboxPanel(_outbox_on_first_use(paths, outbox), folder,
                                        paths.config_dir)
        self.history_panel = HistoryPanel(_history_on_first_use(paths, history))
        self.addTab(self.outbox_panel, "Out&box")
        self.addTab(self.history_panel, "H&istory")
        self.currentChanged.connect(self._on_current_changed)

    def show_panel(self, name: str) -> None:
        panel = {"help": self.help_pane, "outbox": self.outbox_panel,
                 "history": self.history_panel}[name]
        if panel is self.help_pane:
            self.help_pane.fill()
        self.setCurrentWidget(panel)

    def refresh_loaded(self) -> None:
        """Re-read the outbox and history where they are shown or were loaded (after a check)."""
        for panel in (self.outbox_panel, self.history_panel):
            if panel.loaded or panel.isVisible():
                panel.refresh()

    def _on_current_changed(self, _index: int) -> None:
        current = self.currentWidget()
        if current in (self.outbox_panel, self.history_panel) and not current.loaded:
            current.refresh()


# The tabs' services are made by functions that refer to no widget. A bound method of the
# window would put the window in a reference cycle (window -> panel -> method -> window), and
# the cyclic garbage collector, which runs in whichever thread allocates at the time, could then
# destroy the window's Qt objects from a worker or server thread.


def _outbox_on_first_use(paths: AppPaths, given: Outbox | None) -> Callable[[], Outbox]:
    @functools.cache
    def outbox() -> Outbox:
        from smtp_desktop.outbox import Outbox

        return given if given is not None else Outbox(paths.outbox_folder)

    return outbox


def _history_on_first_use(paths: AppPaths, given: HistoryLog | None) -> Callable[[], HistoryLog]:
    @functools.cache
    def history() -> HistoryLog:
        from smtp_desktop.history import HistoryLog

        return given if given is not None else HistoryLog(paths.history_file)

    return history
