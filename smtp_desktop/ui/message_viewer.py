"""The Outbox tab's reader: one message as text, as rendered HTML, its links and its codes.

`outboxCodesView` (with `outboxCopyCodeButton`) sits above three tabs: Text
(`outboxMessageView`: headers and text), HTML (`outboxHtmlView`) and Links (`outboxLinksView`
with `outboxCopyLinkButton`). The HTML view never loads anything a message refers to: no remote
image, no local file, no style sheet; see `InertHtmlView`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QRectF, QSizeF, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QPainter,
    QPalette,
    QPyTextObject,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.ui.tooltips import PlainToolTips

if TYPE_CHECKING:
    from smtp_desktop.ui.outbox_reading import SelectedMessage

REFUSED_KEPT = 100  # resource addresses remembered per message (what the mail asked for)
# Mail is designed for a light page: it is shown on one in the dark theme too, with its colours.
PAPER, INK, LINK, VISITED = QColor("#ffffff"), QColor("#1a1a1a"), QColor("#0645ad"), QColor("#6a1b9a")
IMAGE_STAND_IN = QColor("#e8e8e8")  # every image is drawn as a box of this colour
IMAGE_SIDE_DEFAULT, IMAGE_SIDE_MAX = 16.0, 2_000.0  # pixels, when the mail gives none / at most


class _InertDocument(QTextDocument):
    """A document that loads no resource. QTextDocument's own `loadResource` reads local files
    (a relative or `file:` style sheet or image) when its view returns nothing, so the view's
    override alone would not do: this one never calls its base."""

    def __init__(self, parent: QTextBrowser) -> None:
        super().__init__(parent)
        self.refused: list[str] = []
        self._blank = QImage(1, 1, QImage.Format.Format_ARGB32)
        self._blank.fill(0)

    def loadResource(self, type_: int, name: QUrl) -> Any:
        address = name.toString()
        if address not in self.refused and len(self.refused) < REFUSED_KEPT:
            self.refused.append(address)
        return self._blank if type_ == QTextDocument.ResourceType.ImageResource else None


class _StandInImages(QPyTextObject):
    """Draws every image as a grey box of the size the mail gives it (bounded). It replaces Qt's
    image handler, which opens the file an image names itself (and, on a HiDPI screen, probes
    for `name@2x` files) whatever the document answers."""

    def intrinsicSize(self, document: QTextDocument, position: int,
                      text_format: QTextFormat) -> QSizeF:
        image = text_format.toImageFormat()

        def side(value: float) -> float:
            return min(value, IMAGE_SIDE_MAX) if value > 0 else IMAGE_SIDE_DEFAULT

        return QSizeF(side(image.width()), side(image.height()))

    def drawObject(self, painter: QPainter, rect: QRectF,
                   document: QTextDocument, position: int, text_format: QTextFormat) -> None:
        painter.fillRect(rect, IMAGE_STAND_IN)


class InertHtmlView(QTextBrowser):
    """Rendered HTML mail that never loads remote images, local files or style sheets, and never
    follows a link: a click emits `link_clicked` with the address, nothing else."""

    link_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._document = _InertDocument(self)
        self.setDocument(self._document)
        self._images = _StandInImages(self)
        self._document.documentLayout().registerHandler(
            QTextFormat.ObjectTypes.ImageObject.value, self._images)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setSearchPaths([])
        palette = self.palette()
        for role, colour in ((QPalette.ColorRole.Base, PAPER), (QPalette.ColorRole.Text, INK),
                             (QPalette.ColorRole.Link, LINK),
                             (QPalette.ColorRole.LinkVisited, VISITED)):
            palette.setColor(role, colour)
        self.setPalette(palette)
        self.anchorClicked.connect(self._on_anchor_clicked)

    @property
    def refused(self) -> list[str]:
        """The addresses the shown message asked to load (none was loaded)."""
        return self._document.refused

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:  # a `title` would be shown as rich text
            event.accept()
            return True
        return super().event(event)

    def show_html(self, html: str) -> None:
        self._document.refused.clear()
        self.setHtml(html)

    def _on_anchor_clicked(self, url: QUrl) -> None:
        self.link_clicked.emit(url.toString())


class MessageViewer(QWidget):
    """Shows a `SelectedMessage`; `copied(what, value)` after a copy to the clipboard and
    `link_clicked(address)` after a click on a link in the HTML view."""

    copied = Signal(str, str)  # "code" or "link", and what was copied
    link_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message_view = QPlainTextEdit()
        self.message_view.setObjectName("outboxMessageView")
        self.message_view.setAccessibleName("Selected message")
        self.message_view.setReadOnly(True)
        self.message_view.setPlaceholderText("Select a message to read it.")
        self.html_view = InertHtmlView()
        self.html_view.setObjectName("outboxHtmlView")
        self.html_view.setAccessibleName("Selected message as HTML")
        self.html_view.setPlaceholderText("Select a message to see its HTML.")
        self.links_view = QListWidget()
        self.links_view.setObjectName("outboxLinksView")
        self.links_view.setAccessibleName("Links in the selected message")
        self.copy_link_button = QPushButton("Copy link")
        self.copy_link_button.setObjectName("outboxCopyLinkButton")
        self.copy_link_button.setToolTip("Copy the selected link (or the first) to the clipboard")
        self.codes_label = QLabel("Codes:")
        self.codes_view = QListWidget()
        self.codes_view.setObjectName("outboxCodesView")
        self.codes_view.setAccessibleName("One-time codes in the selected message")
        self.codes_view.setFlow(QListView.Flow.LeftToRight)
        self.codes_view.setWrapping(False)
        self.codes_view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.codes_view.setToolTip("Runs of 4 to 8 digits that read as a code (as `outbox show` "
                                   "finds them); dates, prices and phone numbers are left out")
        self.codes_label.setBuddy(self.codes_view)
        self.copy_code_button = QPushButton("Copy code")
        self.copy_code_button.setObjectName("outboxCopyCodeButton")
        self.copy_code_button.setToolTip("Copy the selected code (or the first) to the clipboard")
        row_height = self.codes_view.fontMetrics().height() + 10
        self.codes_view.setFixedHeight(row_height + 2 * self.codes_view.frameWidth())

        codes = QHBoxLayout()
        codes.setContentsMargins(0, 0, 0, 0)
        codes.addWidget(self.codes_label)
        codes.addWidget(self.codes_view, 1)
        codes.addWidget(self.copy_code_button)
        links_page = QWidget()
        links = QVBoxLayout(links_page)
        links.addWidget(self.links_view, 1)
        links_buttons = QHBoxLayout()
        links_buttons.addWidget(self.copy_link_button)
        links_buttons.addStretch(1)
        links.addLayout(links_buttons)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("outboxMessageTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.message_view, "Text")
        self.tabs.addTab(self.html_view, "HTML")
        self.tabs.addTab(links_page, "Links")
        self._links_tab = self.tabs.indexOf(links_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(codes)
        layout.addWidget(self.tabs, 1)

        for view in (self.codes_view, self.links_view):
            view.setItemDelegate(PlainToolTips(view))  # a link may hold "<img src=...>"
        self.copy_code_button.clicked.connect(self._on_copy_code_button_clicked)
        self.copy_link_button.clicked.connect(self._on_copy_link_button_clicked)
        # Enter or a double-click on an entry copies it, like its button.
        self.codes_view.itemActivated.connect(self._on_copy_code_button_clicked)
        self.links_view.itemActivated.connect(self._on_copy_link_button_clicked)
        self.html_view.link_clicked.connect(self._on_html_view_link_clicked)
        self.clear()

    # ------------------------------------------------------------ showing

    def show_message(self, message: SelectedMessage) -> None:
        self.message_view.setPlainText(message.text)
        if message.html is None:
            self.html_view.show_html(
                "<p><i>This message has no HTML part; its text is on the Text tab.</i></p>")
        elif message.html_notes:  # said first: the mail's own markup cannot swallow it
            notes = "; ".join(message.html_notes)
            self.html_view.show_html(f"<p><i>[Shown simplified: {notes}. Save as .eml for all of "
                                     f"it.]</i></p>{message.html}")
        else:
            self.html_view.show_html(message.html)
        self._fill(self.links_view, message.links)
        self._fill(self.codes_view, message.codes)
        listed = len(message.links)
        more = f" of {message.links_total}" if message.links_total > listed else ""
        self.tabs.setTabText(self._links_tab, f"Links ({listed}{more})")
        self.codes_label.setText(f"Codes ({len(message.codes)}):" if message.codes
                                 else "Codes: none found")
        self._update_buttons()

    def show_error(self, text: str) -> None:
        self.clear()
        self.message_view.setPlainText(text)

    def clear(self) -> None:
        self.message_view.clear()
        self.html_view.show_html("")
        self.links_view.clear()
        self.codes_view.clear()
        self.tabs.setTabText(self._links_tab, "Links")
        self.codes_label.setText("Codes:")
        self._update_buttons()

    def _fill(self, view: QListWidget, values: list[str]) -> None:
        view.clear()
        for value in values:
            item = QListWidgetItem(value)
            item.setToolTip(value)  # links are long; the list may cut them (shown escaped)
            view.addItem(item)

    def _update_buttons(self) -> None:
        self.copy_code_button.setEnabled(self.codes_view.count() > 0)
        self.copy_link_button.setEnabled(self.links_view.count() > 0)

    # ------------------------------------------------------------ copying

    def _on_copy_code_button_clicked(self, *_args: Any) -> None:
        self._copy("code", self.codes_view)

    def _on_copy_link_button_clicked(self, *_args: Any) -> None:
        self._copy("link", self.links_view)

    def _copy(self, what: str, view: QListWidget) -> None:
        item = view.currentItem() if view.currentItem() is not None else view.item(0)
        if item is None:
            return
        QGuiApplication.clipboard().setText(item.text())
        self.copied.emit(what, item.text())

    def _on_html_view_link_clicked(self, address: str) -> None:
        """A click on a link selects it in the Links list (nothing is opened). Qt hands over the
        address normalised (host in lower case, %7e as ~), so the list's are compared as URLs."""
        clicked = QUrl(address)
        for row in range(self.links_view.count()):
            item = self.links_view.item(row)
            if QUrl(item.text()) == clicked:
                self.links_view.setCurrentItem(item)
                address = item.text()  # as the mail wrote it, like the list and `outbox show`
                break
        self.link_clicked.emit(address)

