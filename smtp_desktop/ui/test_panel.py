"""The test panel: recipient and sender, Send test email / Test connection / Cancel, the result
(`testResultView`, with the failure's slug in its dynamic property `category`) and the
collapsible transcript. The window runs the checks; this panel only shows them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.ui.form_rows import add_row


class TestPanel(QGroupBox):
    """`send_requested`, `probe_requested`, `cancel_requested`; `help_requested` for a help link."""

    __test__ = False  # not a pytest class, despite its name

    send_requested = Signal()
    probe_requested = Signal()
    cancel_requested = Signal()
    help_requested = Signal(str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Test", parent)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.recipient_edit = QLineEdit()
        self.recipient_edit.setObjectName("testRecipientEdit")
        self.recipient_edit.setPlaceholderText("Default: the From address")
        self.recipient_edit.setMinimumWidth(200)
        add_row(form, "Send t&o:", self.recipient_edit, None, "Test recipient")
        self.sender_edit = QLineEdit()
        self.sender_edit.setObjectName("testSenderEdit")
        self.sender_edit.setPlaceholderText("Only when the username is no email")
        self.sender_edit.setToolTip("Needed only when the username is not an email address "
                                    "and no mail.from key is set.")
        self.sender_edit.setMinimumWidth(200)
        add_row(form, "&From:", self.sender_edit, None, "Test sender")
        layout.addLayout(form)

        row = QHBoxLayout()
        self.send_button = QPushButton("Send t&est email")
        self.send_button.setObjectName("sendTestButton")
        self.send_button.setToolTip("Send a test email (Ctrl+Enter)")
        self.probe_button = QPushButton("Test &connection")
        self.probe_button.setObjectName("probeButton")
        self.cancel_button = QPushButton("Cance&l test")
        self.cancel_button.setObjectName("cancelTestButton")
        self.cancel_button.setEnabled(False)
        self.busy = QProgressBar()
        self.busy.setObjectName("testBusyIndicator")
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        for widget in (self.send_button, self.probe_button, self.cancel_button, self.busy):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)

        self.result_view = QTextBrowser()
        self.result_view.setObjectName("testResultView")
        self.result_view.setAccessibleName("Test result")
        self.result_view.setOpenLinks(False)
        self.result_view.setMaximumHeight(130)
        self.result_view.setPlaceholderText("Send a test email or test the connection to see "
                                            "the result here.")
        self.result_view.setProperty("category", "")
        layout.addWidget(self.result_view)

        transcript_row = QHBoxLayout()
        self.transcript_toggle = QToolButton()
        self.transcript_toggle.setObjectName("transcriptToggle")
        self.transcript_toggle.setText("Show transcript")
        self.transcript_toggle.setCheckable(True)
        self.transcript_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.transcript_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_transcript_button = QPushButton("Copy tra&nscript")
        self.copy_transcript_button.setObjectName("copyTranscriptButton")
        self.copy_transcript_button.setEnabled(False)
        transcript_row.addWidget(self.transcript_toggle)
        transcript_row.addStretch(1)
        transcript_row.addWidget(self.copy_transcript_button)
        layout.addLayout(transcript_row)
        self.transcript_view = QPlainTextEdit()
        self.transcript_view.setObjectName("transcriptView")
        self.transcript_view.setAccessibleName("Transcript")
        self.transcript_view.setReadOnly(True)
        self.transcript_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.transcript_view.setVisible(False)
        self.transcript_view.setMinimumHeight(160)
        layout.addWidget(self.transcript_view)

        self.send_button.clicked.connect(self.send_requested)
        self.probe_button.clicked.connect(self.probe_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.result_view.anchorClicked.connect(self._on_result_view_anchor_clicked)
        self.transcript_toggle.toggled.connect(self._on_transcript_toggle_toggled)
        self.copy_transcript_button.clicked.connect(self._on_copy_transcript_clicked)

    def add_send_shortcuts(self, window: QWidget) -> None:
        """Ctrl+Enter (and Ctrl+Return) in `window` sends the test email."""
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), window, activated=self._on_send_shortcut)

    def _on_send_shortcut(self) -> None:
        if self.send_button.isEnabled():
            self.send_button.click()

    @property
    def recipient(self) -> str:
        return self.recipient_edit.text().strip()

    @property
    def sender(self) -> str:
        return self.sender_edit.text().strip()

    def render(self, enabled: bool, busy: bool) -> None:
        why_off = "SMTP is turned off: no email is sent." if not enabled else ""
        self.send_button.setEnabled(enabled and not busy)
        self.send_button.setToolTip(why_off or "Send a test email (Ctrl+Enter)")
        self.probe_button.setEnabled(enabled and not busy)
        self.probe_button.setToolTip(why_off)
        self.recipient_edit.setEnabled(enabled)
        self.sender_edit.setEnabled(enabled)
        self.cancel_button.setEnabled(busy)
        self.busy.setVisible(busy)

    def show_html(self, html: str, category: str = "") -> None:
        self.result_view.setProperty("category", category)
        self.result_view.setHtml(html)

    def show_transcript(self, lines: tuple[str, ...]) -> None:
        self.transcript_view.setPlainText("\n".join(lines))
        self.copy_transcript_button.setEnabled(bool(lines))

    def _on_result_view_anchor_clicked(self, url: Any) -> None:
        if url.scheme() == "help":
            self.help_requested.emit(url.path() or "app-password")

    def _on_transcript_toggle_toggled(self, shown: bool) -> None:
        self.transcript_view.setVisible(shown)
        self.transcript_toggle.setText("Hide transcript" if shown else "Show transcript")
        self.transcript_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _on_copy_transcript_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.transcript_view.toPlainText())
        self.message.emit("Transcript copied to the clipboard.")
