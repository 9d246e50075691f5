"""The Outbox tab as a viewer (issue 16): rendered HTML that loads nothing, links and codes that
agree with `outbox show`, and copying them."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPalette, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QTextBrowser,
)
from support.qt import child

from smtp_desktop.outbox import Outbox
from smtp_desktop.outbox.mailbox import Mailbox
from smtp_desktop.ui.main_window import SettingsWindow
from smtp_desktop.ui.message_viewer import PAPER
from smtp_desktop.ui.outbox_panel import OutboxPanel
from smtp_desktop.ui.outbox_reading import HTML_SHOWN

MAILS = Path(__file__).parents[1] / "data" / "mails"


def png(size: int = 40) -> bytes:
    """A real PNG: what a tracking pixel or a logo would be."""
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QImage

    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(0xFF0000)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def html_mail(html: str, subject: str = "html") -> bytes:
    return (f"From: shop@example.test\nTo: qa@example.test\nSubject: {subject}\nMIME-Version: 1.0\n"
            f"Content-Type: text/html; charset=utf-8\n\n{html}\n").encode()


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(tmp_path / "outbox")


@pytest.fixture
def open_message(qtbot, config_service, outbox):
    """A window on `outbox` holding `raw`, with that message selected and shown."""

    def open_(raw: bytes) -> SettingsWindow:
        outbox.add(raw, "shop@example.test", ["qa@example.test"])
        window = SettingsWindow(config_service, outbox=outbox)
        qtbot.addWidget(window)
        window.show()
        window.show_tab("outbox")
        view = child(window, QTableView, "outboxView")
        qtbot.waitUntil(lambda: view.model().rowCount() == 1)
        with qtbot.waitSignal(window.findChild(OutboxPanel).message_loaded):
            view.selectRow(0)
        return window

    return open_


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(png())

    def log_message(self, *_args):
        pass


@pytest.fixture
def web_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def hostile_html(tmp_path: Path, web_server) -> tuple[str, list[str]]:
    image = tmp_path / "local.png"
    image.write_bytes(png())
    (tmp_path / "style.css").write_text("p { color: #ff0000 }")
    remote = f"http://127.0.0.1:{web_server.server_address[1]}/pixel.png?u=qa"
    local, sheet = QUrl.fromLocalFile(str(image)).toString(), QUrl.fromLocalFile(
        str(tmp_path / "style.css")).toString()
    html = (f'<html><head><link rel="stylesheet" type="text/css" href="{sheet}"></head><body>'
            f'<p>Your code is <b>482913</b>.</p><img src="{remote}" width="40" height="40">'
            f'<img src="{local}" width="40" height="40"><img src="{image}">'
            f'<img src="cid:logo@acme.test"></body></html>')
    return html, [remote, local, sheet]


def test_the_html_view_loads_no_remote_image_no_local_file_and_no_style_sheet(
        open_message, tmp_path, web_server, qtbot):
    html, addresses = hostile_html(tmp_path, web_server)
    window = open_message(html_mail(html))
    view = child(window, QTextBrowser, "outboxHtmlView")
    child(window, QTabWidget, "outboxMessageTabs").setCurrentWidget(view)
    view.grab()  # lay out and paint: images and style sheets are asked for now

    assert "Your code is 482913." in view.toPlainText()
    assert web_server.requests == []
    for address in addresses:
        assert address in view.refused
    assert str(tmp_path / "local.png") in view.refused  # a bare path, which Qt opens itself
    # Every image is the blank stand-in: nothing red (the files' colour) was drawn.
    shot = view.viewport().grab().toImage()
    assert not any(shot.pixelColor(x, y).name() == "#ff0000"
                   for x in range(0, shot.width(), 2) for y in range(0, shot.height(), 2))
    document = view.document()
    image = document.resource(QTextDocument.ResourceType.ImageResource, QUrl(addresses[1]))
    assert image.width() == 1  # the blank stand-in, not the 40x40 file


def test_control_a_plain_text_browser_would_have_read_the_local_file(tmp_path, web_server, qtbot):
    """The check above can fail: Qt's own browser reads a local image the mail names."""
    html, addresses = hostile_html(tmp_path, web_server)
    plain = QTextBrowser()
    qtbot.addWidget(plain)
    plain.setHtml(html)
    loaded = plain.document().resource(QTextDocument.ResourceType.ImageResource,
                                       QUrl(addresses[1]))
    assert loaded is not None
    plain.resize(300, 300)
    shot = plain.viewport().grab().toImage()
    assert any(shot.pixelColor(x, y).name() == "#ff0000"
               for x in range(0, shot.width(), 2) for y in range(0, shot.height(), 2))


def test_links_and_codes_are_those_outbox_show_reads(open_message, outbox, qtbot):
    raw = (MAILS / "password-reset-html.eml").read_bytes()
    window = open_message(raw)
    shown = Mailbox(outbox).show(outbox.list()[0].id)
    links = child(window, QListWidget, "outboxLinksView")
    codes = child(window, QListWidget, "outboxCodesView")

    assert shown["links"] and [links.item(i).text() for i in range(links.count())] == shown["links"]
    assert [codes.item(i).text() for i in range(codes.count())] == shown["codes"]
    assert shown["html"] is not None
    assert child(window, QTextBrowser, "outboxHtmlView").toPlainText().strip()
    assert child(window, QPushButton, "outboxCopyLinkButton").isEnabled()
    tabs = child(window, QTabWidget, "outboxMessageTabs")
    assert f"({len(shown['links'])})" in tabs.tabText(2)


def test_copy_code_and_copy_link_put_them_on_the_clipboard(open_message, qtbot):
    window = open_message((MAILS / "2fa-security-code-html.eml").read_bytes())
    codes = child(window, QListWidget, "outboxCodesView")
    assert codes.count() >= 1
    qtbot.mouseClick(child(window, QPushButton, "outboxCopyCodeButton"), Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == codes.item(0).text()
    assert codes.item(0).text() in child(window, QLabel, "statusLabel").text()

    links = child(window, QListWidget, "outboxLinksView")
    links.setCurrentRow(links.count() - 1)  # the selected one, not the first
    qtbot.mouseClick(child(window, QPushButton, "outboxCopyLinkButton"), Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == links.item(links.count() - 1).text()


def test_a_text_only_message_has_no_codes_to_copy_and_says_it_has_no_html(open_message):
    window = open_message(b"From: a@example.test\nTo: b@example.test\nSubject: hi\n\nNo code here.\n")

    assert not child(window, QPushButton, "outboxCopyCodeButton").isEnabled()
    assert not child(window, QPushButton, "outboxCopyLinkButton").isEnabled()
    assert "no HTML part" in child(window, QTextBrowser, "outboxHtmlView").toPlainText()
    assert "No code here." in child(window, QPlainTextEdit, "outboxMessageView").toPlainText()


def test_an_html_only_message_reads_as_text_in_the_text_view(open_message):
    window = open_message(html_mail("<p>Use <b>48</b><b>2913</b> to sign in.</p>"))

    text = child(window, QPlainTextEdit, "outboxMessageView").toPlainText()
    assert "Use 482913 to sign in." in text and "<b>" not in text
    assert child(window, QListWidget, "outboxCodesView").item(0).text() == "482913"


def test_a_click_on_a_link_opens_nothing_and_selects_it(open_message, qtbot, monkeypatch):
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    address = "https://shop.example.test/verify?token=ab12cd34"
    window = open_message(html_mail(f'<p>First <a href="https://other.example.test/">other</a></p>'
                                    f'<p>Please <a href="{address}">confirm your address</a>.</p>'))
    view = child(window, QTextBrowser, "outboxHtmlView")
    tabs = child(window, QTabWidget, "outboxMessageTabs")
    tabs.setCurrentWidget(view)
    found = view.document().find("confirm your address")
    cursor = QTextCursor(view.document())
    cursor.setPosition(found.selectionStart() + 3)
    point = view.cursorRect(cursor).center() + QPoint(1, 0)

    with qtbot.waitSignal(view.anchorClicked):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)

    assert opened == []
    assert view.source().isEmpty() and "confirm your address" in view.toPlainText()
    assert child(window, QListWidget, "outboxLinksView").currentItem().text() == address
    assert "not opened" in child(window, QLabel, "statusLabel").text()


def test_a_huge_html_part_is_cut_with_a_note(open_message):
    rows = "".join(f"<p>row {i}</p>" for i in range(HTML_SHOWN // 10))
    window = open_message(html_mail(f"<div>{rows}</div>"))

    shown = child(window, QTextBrowser, "outboxHtmlView").toPlainText()
    assert "more characters of HTML are not shown" in shown
    assert "row 0" in shown and f"row {HTML_SHOWN // 10 - 1}" not in shown


def test_mail_is_shown_on_a_light_page_in_the_dark_theme_too(open_message, qapp):
    from smtp_desktop.ui.application import dark_palette, light_palette

    qapp.setPalette(dark_palette())
    try:
        window = open_message(html_mail("<p>Hello</p>"))
        view = child(window, QTextBrowser, "outboxHtmlView")
        assert view.palette().color(QPalette.ColorRole.Base) == PAPER
        assert view.palette().color(QPalette.ColorRole.Text).lightness() < 64
    finally:
        qapp.setPalette(light_palette())
