"""The help pane (`helpPane`): generating a Google app password, and the prerequisites."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QTextBrowser, QWidget

log = logging.getLogger(__name__)


class HelpPane(QTextBrowser):
    """Its text goes in on `fill()`: when the window first shows, or the help tab is asked for.

    Set while building, the document would be laid out for the hidden pane's default width,
    then again at the real one: about a third of what the help page costs at start-up.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpPane")
        self.setAccessibleName("Help")
        self.setOpenExternalLinks(True)
        self.setMinimumWidth(260)

    def fill(self) -> None:
        if self.document().isEmpty():
            self.setHtml(help_html())

    def show_anchor(self, anchor: str) -> None:
        self.fill()
        self.scrollToAnchor(anchor)
        self.setFocus()


def help_html() -> str:
    from smtp_desktop.resource_files import resource_path

    try:
        body = resource_path("help/app-password.html").read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("help page missing: %s", exc)
        body = "<p>Help is not available: the help page is missing from this installation.</p>"
    return f"<a name='app-password'></a>{body}"
