"""The Outbox tab as a viewer (issue 16): rendered HTML that loads nothing, links and codes that
agree with `outbox show`, and copying them."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication, QHelpEvent, QPalette, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QToolTip,
)
from support.qt import child

from smtp_desktop.outbox import Outbox
from smtp_desktop.outbox.mailbox import Mailbox
from smtp_desktop.ui.display_html import MAX_TEXT
from smtp_desktop.ui.main_window import SettingsWindow
from smtp_desktop.ui.message_viewer import IMAGE_STAND_IN, PAPER, InertHtmlView
from smtp_desktop.ui.outbox_panel import OutboxPanel

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


def hostile_html(folder: Path, web_server) -> tuple[str, list[str]]:
    """HTML naming a remote image, local images (file: URL, bare path, relative, @2x twin) and a
    local style sheet; every file is red, so drawing any of them shows."""
    for name in ("local.png", "local@2x.png"):
        (folder / name).write_bytes(png())
    (folder / "style.css").write_text("p { color: #ff0000 }")
    remote = f"http://127.0.0.1:{web_server.server_address[1]}/pixel.png?u=qa"
    image = folder / "local.png"
    local, sheet = QUrl.fromLocalFile(str(image)).toString(), QUrl.fromLocalFile(
        str(folder / "style.css")).toString()
    html = (f'<html><head><link rel="stylesheet" type="text/css" href="{sheet}"></head><body>'
            f'<p>Your code is <b>482913</b>.</p><img src="{remote}" width="40" height="40">'
            f'<img src="{local}" width="40" height="40"><img src="{image}"><img src="local.png">'
            f'<img src="cid:logo@acme.test"></body></html>')
    return html, [remote, local, sheet]


def red_pixels(widget) -> int:
    shot = widget.grab().toImage()
    return sum(shot.pixelColor(x, y).name() == "#ff0000"
               for x in range(0, shot.width(), 2) for y in range(0, shot.height(), 2))


def test_the_html_view_itself_loads_nothing_the_mail_names(tmp_path, web_server, qtbot):
    """The view's own guard, on HTML no worker has cleaned: images are stand-ins of their size,
    never asked for; the style sheet is asked for and refused."""
    html, (_remote, _local, sheet) = hostile_html(tmp_path, web_server)
    view = InertHtmlView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show_html(html)

    assert red_pixels(view.viewport()) == 0
    assert web_server.requests == []
    assert view.refused == [sheet]  # no image was even asked for


def test_images_are_drawn_as_stand_ins_of_the_size_the_mail_gives(qtbot, tmp_path):
    (tmp_path / "logo.png").write_bytes(png())
    view = InertHtmlView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show_html(f'<p>before</p><img src="{tmp_path / "logo.png"}" width="60" height="30">'
                   f'<img src="x.png" width="900000" height="900000">')
    shot = view.viewport().grab().toImage()
    grey = [(x, y) for x in range(0, 120) for y in range(0, 120)
            if shot.pixelColor(x, y).name() == IMAGE_STAND_IN.name()]
    assert grey and red_pixels(view.viewport()) == 0
    assert view.document().size().width() <= 2_100  # the huge one is held to 2000 px


def test_control_a_plain_text_browser_would_have_drawn_the_local_file(tmp_path, web_server, qtbot):
    """The checks above can fail: Qt's own browser opens a local image the mail names."""
    html, _addresses = hostile_html(tmp_path, web_server)
    plain = QTextBrowser()
    qtbot.addWidget(plain)
    plain.resize(400, 300)
    plain.setHtml(html)
    assert red_pixels(plain.viewport()) > 0


HIDPI_CHILD = """
import json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from smtp_desktop.ui.message_viewer import InertHtmlView
view = InertHtmlView()
view.resize(400, 300)
view.show_html(Path(sys.argv[1]).read_text())
shot = view.viewport().grab().toImage()
print(json.dumps({"ratio": shot.devicePixelRatio(), "refused": view.refused}))
"""


def test_on_a_hidpi_screen_no_image_is_asked_for_either(tmp_path, web_server):
    """At device pixel ratio 2 Qt's image handler asked for `local@2x.png` and probed the disk."""
    html, _addresses = hostile_html(tmp_path, web_server)
    page = tmp_path / "page.html"
    page.write_text(html)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"}
    result = subprocess.run([sys.executable, "-c", HIDPI_CHILD, str(page)], env=env,
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ratio"] == 2
    assert not [name for name in report["refused"] if ".png" in name or "cid:" in name]


def test_the_window_shows_mail_html_without_loading_anything(open_message, tmp_path, web_server,
                                                             qtbot):
    html, _addresses = hostile_html(tmp_path, web_server)
    window = open_message(html_mail(html))
    view = child(window, QTextBrowser, "outboxHtmlView")
    child(window, QTabWidget, "outboxMessageTabs").setCurrentWidget(view)

    assert "Your code is 482913." in view.toPlainText()
    assert red_pixels(view.viewport()) == 0
    assert view.refused == []  # the worker took the style sheet and every address out
    assert web_server.requests == []


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


class _Recorder(QObject):
    """A URL handler for QDesktopServices: what Qt (C++ included) would have opened."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def browser():
    recorder = _Recorder()
    for scheme in ("http", "https", "file", "mailto"):
        QDesktopServices.setUrlHandler(scheme, recorder, "open")
    yield recorder
    for scheme in ("http", "https", "file", "mailto"):
        QDesktopServices.unsetUrlHandler(scheme)


def click_text(qtbot, view: QTextBrowser, text: str) -> None:
    found = view.document().find(text)
    cursor = QTextCursor(view.document())
    cursor.setPosition(found.selectionStart() + 3)
    point = view.cursorRect(cursor).center() + QPoint(1, 0)
    with qtbot.waitSignal(view.anchorClicked):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)


# Qt hands a clicked address over normalised: host in lower case, %7e as ~.
ADDRESS = "https://Shop.Example.test/%7ebob/verify?token=ab12cd34"


def test_a_click_on_a_link_opens_nothing_and_selects_it_as_written(open_message, qtbot, browser):
    window = open_message(html_mail(f'<p>First <a href="https://other.example.test/">other</a></p>'
                                    f'<p>Please <a href="{ADDRESS}">confirm your address</a>.</p>'))
    view = child(window, QTextBrowser, "outboxHtmlView")
    child(window, QTabWidget, "outboxMessageTabs").setCurrentWidget(view)

    click_text(qtbot, view, "confirm your address")

    assert browser.opened == []
    assert view.source().isEmpty() and "confirm your address" in view.toPlainText()
    assert child(window, QListWidget, "outboxLinksView").currentItem().text() == ADDRESS
    status = child(window, QLabel, "statusLabel").text()
    assert "not opened" in status and ADDRESS in status


def test_the_copy_buttons_never_copy_the_previous_messages_code(open_message, outbox, qtbot):
    window = open_message(b"Subject: old\n\nYour code is 222222.\n")
    outbox.add(b"Subject: new\n\nYour code is 111111.\n", "a@example.test", ["b@example.test"])
    panel = window.findChild(OutboxPanel)
    view = child(window, QTableView, "outboxView")
    with qtbot.waitSignal(panel.refreshed):
        panel.refresh()
    QGuiApplication.clipboard().setText("before")
    copy = child(window, QPushButton, "outboxCopyCodeButton")
    with qtbot.waitSignal(panel.message_loaded):
        view.selectRow([view.model().index(r, 3).data() for r in range(2)].index("new"))
        assert not copy.isEnabled()  # until the new message is read
        qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
        assert QGuiApplication.clipboard().text() == "before"
    qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "111111"


def test_enter_on_a_code_copies_it(open_message, qtbot):
    window = open_message(b"Subject: code\n\nYour code is 482913.\n")
    codes = child(window, QListWidget, "outboxCodesView")
    codes.setCurrentRow(0)
    QGuiApplication.clipboard().setText("before")
    qtbot.keyClick(codes, Qt.Key.Key_Return)
    assert QGuiApplication.clipboard().text() == "482913"


def tooltip_shown_for(qtbot, widget, point: QPoint) -> str:
    """Ask `widget` for its tooltip at `point` as the mouse would, and return what Qt shows."""
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible())
    event = QHelpEvent(QEvent.Type.ToolTip, point, widget.mapToGlobal(point))
    QApplication.sendEvent(widget, event)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_tooltips_show_mail_text_literally(open_message, tmp_path, qtbot):
    """A tooltip that looks like HTML is rich text to Qt, and rich text loads the images it names."""
    image = tmp_path / "secret.png"
    image.write_bytes(png())
    trap = f'<img src="{image}">'
    link = f"https://shop.example.test/t?x={trap}"
    window = open_message(html_mail(f'<p><span title=\'{trap}\'>hover me</span> '
                                    f'<a href=\'{link}\'>the link</a></p>', subject=trap))
    links = child(window, QListWidget, "outboxLinksView")
    child(window, QTabWidget, "outboxMessageTabs").setCurrentIndex(2)
    assert links.item(0).text() == link

    shown = tooltip_shown_for(qtbot, links.viewport(), links.visualItemRect(links.item(0)).center())
    assert "&lt;img" in shown and "<img" not in shown
    table = child(window, QTableView, "outboxView")
    subject = table.visualRect(table.model().index(0, 3)).center()
    assert table.model().index(0, 3).data(Qt.ItemDataRole.ToolTipRole) == trap  # kept as written
    shown = tooltip_shown_for(qtbot, table.viewport(), subject)
    assert "&lt;img" in shown and "<img" not in shown

    view = child(window, QTextBrowser, "outboxHtmlView")
    child(window, QTabWidget, "outboxMessageTabs").setCurrentWidget(view)
    found = view.document().find("hover me")
    point = view.cursorRect(found).center()
    assert tooltip_shown_for(qtbot, view.viewport(), point) == ""
    assert "title" not in view.document().toHtml().split("<body", 1)[1]


def test_a_huge_html_part_is_shown_simplified_with_the_note_first(open_message):
    """The note comes first: after HTML cut inside a comment it was swallowed."""
    rows = "".join(f"<p>row {i:06d} {'x' * 100}</p>" for i in range(MAX_TEXT // 80))
    window = open_message(html_mail(f"<div>{rows}</div><!-- an unterminated comment"))

    shown = child(window, QTextBrowser, "outboxHtmlView").toPlainText()
    assert shown.startswith("[Shown simplified: only the first 200,000 characters of text")
    assert "row 000000" in shown and f"row {MAX_TEXT // 80 - 1:06d}" not in shown


def test_tables_nested_thirty_deep_are_shown_at_once(open_message):
    """Qt's layout doubles its time with each level: 22 levels (727 bytes) blocked it for 92 s."""
    nested = "<table><tr><td>" * 30 + "deep inside" + "</td></tr></table>" * 30
    window = open_message(html_mail(nested + "<img src=x>" * 18_000))

    shown = child(window, QTextBrowser, "outboxHtmlView").toPlainText()
    assert "deep inside" in shown
    assert "tables nested more than 3 deep" in shown and "first 100 images" in shown


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
