"""The "SMTP Configuration" window: the seed's settings page, a test-send panel and a help pane.

Widgets carry public objectNames (the automation contract in the README). Data flows one way:
widgets -> collected settings -> config service / checks -> result -> widgets. The window never
reads files or the keyring itself, and every network operation runs in a worker.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.config.errors import (
    ConfigError,
    InvalidSettingsError,
    Problem,
    SecretStoreError,
    SettingsChangedError,
)
from smtp_desktop.config.model import DEFAULT_PORT, Service, SmtpSettings, normalize_password
from smtp_desktop.config.secrets import install_advice
from smtp_desktop.config.service import ConfigService, DefaultServiceStatus, PasswordStatus
from smtp_desktop.config.validation import validate
from smtp_desktop.ui import tint
from smtp_desktop.ui.keys_editor import KeysEditor
from smtp_desktop.ui.outbox_panel import HistoryPanel, OutboxPanel
from smtp_desktop.ui.status_label import StatusLabel
from smtp_desktop.ui.worker import Worker, start_worker

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent, QShowEvent

    from smtp_desktop.checks import CheckKind
    from smtp_desktop.config.consistency import Finding
    from smtp_desktop.config.paths import AppPaths
    from smtp_desktop.config.presets import Preset
    from smtp_desktop.history import HistoryLog
    from smtp_desktop.outbox import Outbox

log = logging.getLogger(__name__)

WINDOW_TITLE = "SMTP Configuration"
KEYRING_CHECK_DELAY_MS = 150
OFF_NOTE = "SMTP is off: no emails will be sent. You will stop getting emails."
APP_PASSWORD_NOTE = ("Removed the spaces Google shows in app passwords: they are not part of "
                     "the password.")


@dataclass
class _ActiveCheck:
    worker: Worker
    cancel: Any  # smtp_desktop.mail.CancelToken, imported lazily


LOAD_NOTICE_STYLE = "background: #fff4e5; color: #5f3b00; border: 1px solid #f0b44c; padding: 6px;"


def _message_row(label_name: str, button_name: str) -> tuple[QWidget, QLabel, QPushButton]:
    """A word-wrapped message with an action button beside it (an offer, a fix)."""
    label = QLabel()
    label.setObjectName(label_name)
    label.setWordWrap(True)
    button = QPushButton()
    button.setObjectName(button_name)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(label, 1)
    layout.addWidget(button)
    return row, label, button


class SettingsWindow(QMainWindow):
    """Edits SMTP settings through `ConfigService`; `saved` fires after every successful save."""

    saved = Signal()
    keyring_checked = Signal()  # the keyring was asked (after the first paint)
    check_finished = Signal(object)  # the Outcome of a send or probe that was shown
    transport_warmed = Signal()  # what a first check needs is loaded (checks.warm_up)

    def __init__(self, config: ConfigService, parent: QWidget | None = None, *,
                 outbox: Outbox | None = None, history: HistoryLog | None = None,
                 banner: str | None = None) -> None:
        super().__init__(parent)
        self._config = config
        self._outbox = outbox
        self._history = history
        self._banner = banner
        self._saved_settings = SmtpSettings()
        self._revision: str | None = None
        self._read_only = False
        self._password_stored = False
        self._keyring_secure: bool | None = None  # asked after the first paint
        self._password_generation = 0
        self._port_notice = ""
        self.keyring_ready = False
        self._active: _ActiveCheck | None = None
        self._closing_without_asking = False
        self._default_service: DefaultServiceStatus | None = None
        self._finding: Finding | None = None
        self._tints: dict[QWidget, tuple[tint.Tint, bool]] = {}
        self.setObjectName("settingsWindow")
        self.setWindowTitle(f"{WINDOW_TITLE}[*]")
        self._build()
        self._connect()
        self._load()

    # ================================================================ building

    def _tint(self, widget: QWidget, colours: tint.Tint, bold: bool = False) -> None:
        """Colour `widget`'s text, again whenever the palette switches between light and dark."""
        self._tints[widget] = (colours, bold)
        tint.apply_tint(widget, colours, bold, dark=tint.is_dark(self.palette()))

    def _error_label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        self._tint(label, tint.ERROR)
        label.setVisible(False)
        return label

    def _build(self) -> None:
        form = QWidget()
        column = QVBoxLayout(form)

        self._load_notice = QLabel()
        self._load_notice.setObjectName("loadNotice")
        self._load_notice.setWordWrap(True)
        self._load_notice.setVisible(False)
        column.addWidget(self._load_notice)
        # A known-bad Qt binding for this Python, found after the first paint (environment.py).
        self._environment_warning = QLabel()
        self._environment_warning.setObjectName("environmentWarning")
        self._environment_warning.setWordWrap(True)
        self._tint(self._environment_warning, tint.ERROR, bold=True)
        self._environment_warning.setVisible(False)
        column.addWidget(self._environment_warning)

        self._enabled_toggle = QCheckBox("SMTP Configuration")
        self._enabled_toggle.setObjectName("smtpEnabledToggle")
        self._enabled_toggle.setAccessibleName("SMTP Configuration enabled")
        toggle_font = self._enabled_toggle.font()
        toggle_font.setBold(True)
        self._enabled_toggle.setFont(toggle_font)
        column.addWidget(self._enabled_toggle)
        self._off_note = QLabel(OFF_NOTE)
        self._off_note.setObjectName("smtpOffNote")
        self._off_note.setWordWrap(True)
        self._tint(self._off_note, tint.WARNING)
        column.addWidget(self._off_note)

        service_box = QGroupBox("Email service")
        service_layout = QVBoxLayout(service_box)
        self._testsigma_radio = QRadioButton("Testsigma")
        self._testsigma_radio.setObjectName("serviceTestsigmaRadio")
        self._testsigma_radio.setToolTip("Mail goes out through the default email service, "
                                         "with the default sender.")
        self._own_radio = QRadioButton("@own")
        self._own_radio.setObjectName("serviceOwnRadio")
        self._own_radio.setToolTip("Mail goes out through your own SMTP server.")
        self._service_group = QButtonGroup(self)
        self._service_group.addButton(self._testsigma_radio)
        self._service_group.addButton(self._own_radio)
        radios = QHBoxLayout()
        radios.addWidget(self._testsigma_radio)
        radios.addWidget(self._own_radio)
        radios.addStretch(1)
        service_layout.addLayout(radios)
        self._default_service_label = QLabel()
        self._default_service_label.setObjectName("defaultServiceLabel")
        self._default_service_label.setWordWrap(True)
        self._default_service_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        service_layout.addWidget(self._default_service_label)
        column.addWidget(service_box)

        self._own_box = QGroupBox("Your SMTP server (@own)")
        own_form = QFormLayout(self._own_box)
        own_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self._presets = _load_presets()
        self._preset_combo = QComboBox()
        self._preset_combo.setObjectName("presetCombo")
        for preset in self._presets:
            self._preset_combo.addItem(preset.name, preset.id)
        self._region_combo = QComboBox()
        self._region_combo.setObjectName("regionCombo")
        self._region_combo.setAccessibleName("Region")
        self._region_combo.setVisible(False)
        preset_row = QWidget()
        preset_layout = QHBoxLayout(preset_row)
        preset_layout.setContentsMargins(0, 0, 0, 0)
        preset_layout.addWidget(self._preset_combo, 2)
        preset_layout.addWidget(self._region_combo, 1)
        self._preset_info = QLabel()
        self._preset_info.setObjectName("presetInfoLabel")
        self._preset_info.setWordWrap(True)
        self._preset_info.setOpenExternalLinks(True)
        self._preset_info.setVisible(False)
        self._add_row(own_form, "Pro&vider:", preset_row, self._preset_info, "Provider preset",
                      buddy=self._preset_combo)

        self._host_edit = QLineEdit()
        self._host_edit.setObjectName("hostEdit")
        self._host_edit.setPlaceholderText("smtp.gmail.com")
        self._host_error = self._error_label("hostError")
        self._add_row(own_form, "&Host:", self._host_edit, self._host_error, "SMTP server host")

        self._port_spin = QSpinBox()
        self._port_spin.setObjectName("portSpin")
        self._port_spin.setRange(1, 65535)
        self._port_spin.setValue(DEFAULT_PORT)
        self._port_spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._port_error = self._error_label("portError")
        self._add_row(own_form, "&Port:", self._port_spin, self._port_error, "SMTP server port")

        self._username_edit = QLineEdit()
        self._username_edit.setObjectName("usernameEdit")
        self._username_edit.setPlaceholderText("me@gmail.com")
        self._username_error = self._error_label("usernameError")
        self._add_row(own_form, "&Username:", self._username_edit, self._username_error,
                      "Username")
        self._preset_offer_row, self._preset_offer_label, self._preset_offer_button = (
            _message_row("presetOfferLabel", "presetOfferButton"))
        self._preset_offer_row.setVisible(False)
        self._offered_preset: Preset | None = None
        own_form.addRow(self._preset_offer_row)

        self._password_edit = QLineEdit()
        self._password_edit.setObjectName("passwordEdit")
        self._password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self._show_password_action = QAction("Show password", self._password_edit)
        self._show_password_action.setObjectName("showPasswordAction")
        self._show_password_action.setCheckable(True)
        self._show_password_action.setIcon(QIcon.fromTheme("view-reveal-symbolic"))
        self._password_edit.addAction(self._show_password_action,
                                      QLineEdit.ActionPosition.TrailingPosition)
        self._show_password_button = QToolButton()
        self._show_password_button.setObjectName("showPasswordButton")
        self._show_password_button.setDefaultAction(self._show_password_action)
        self._show_password_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._forget_button = QPushButton("Forget stored password")
        self._forget_button.setObjectName("forgetPasswordButton")
        password_row = QWidget()
        password_layout = QHBoxLayout(password_row)
        password_layout.setContentsMargins(0, 0, 0, 0)
        password_layout.addWidget(self._password_edit, 1)
        password_layout.addWidget(self._show_password_button)
        password_layout.addWidget(self._forget_button)
        self._keyring_warning = QLabel(
            f"No secure keyring was found, so passwords cannot be stored. {install_advice()}")
        self._keyring_warning.setObjectName("keyringWarning")
        self._keyring_warning.setWordWrap(True)
        self._tint(self._keyring_warning, tint.WARNING)
        self._keyring_warning.setVisible(False)
        self._password_note = QLabel()
        self._password_note.setObjectName("passwordNote")
        self._password_note.setWordWrap(True)
        self._password_note.setVisible(False)
        password_notes = QWidget()
        notes_layout = QVBoxLayout(password_notes)
        notes_layout.setContentsMargins(0, 0, 0, 0)
        notes_layout.addWidget(self._password_note)
        notes_layout.addWidget(self._keyring_warning)
        self._add_row(own_form, "Pass&word:", password_row, password_notes,
                      "Password or app password", buddy=self._password_edit)

        self._keys_editor = KeysEditor()
        self._keys_model = self._keys_editor.model
        self._keys_table = self._keys_editor.table
        self._keys_table.setAccessibleName("Additional keys")
        self._keys_table.setMaximumHeight(170)
        self._keys_error = self._error_label("keysError")
        self._add_row(own_form, "&Keys:", self._keys_editor, self._keys_error, "Additional keys",
                      buddy=self._keys_table)

        self._consistency_row, self._consistency_warning, self._consistency_fix_button = (
            _message_row("consistencyWarning", "consistencyFixButton"))
        own_form.addRow(self._consistency_row)
        column.addWidget(self._own_box)
        self._security_summary = QLabel()
        self._security_summary.setObjectName("securitySummaryLabel")
        self._security_summary.setWordWrap(True)
        self._security_summary.setAccessibleName("Security summary")
        column.addWidget(self._security_summary)
        self._unencrypted_login_warning = QLabel(
            "⚠ smtp-desktop.allow-unencrypted-login is true: the password may be sent "
            "unencrypted to a server that is not on this computer.")
        self._unencrypted_login_warning.setObjectName("unencryptedLoginWarning")
        self._unencrypted_login_warning.setWordWrap(True)
        self._tint(self._unencrypted_login_warning, tint.DANGER, bold=True)
        self._unencrypted_login_warning.setVisible(False)
        column.addWidget(self._unencrypted_login_warning)

        column.addWidget(self._build_test_box())

        buttons = QHBoxLayout()
        self._status_label = StatusLabel()
        self._status_label.setObjectName("statusLabel")
        self._status_label.setAccessibleName("Status")
        buttons.addWidget(self._status_label, 1)
        self._revert_button = QPushButton("Re&vert")
        self._revert_button.setObjectName("revertButton")
        self._save_button = QPushButton("&Save")
        self._save_button.setObjectName("saveButton")
        self._save_button.setToolTip("Save (Ctrl+S)")
        self._save_button.setDefault(True)
        buttons.addWidget(self._revert_button)
        buttons.addWidget(self._save_button)
        column.addLayout(buttons)
        column.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(form)

        self._help_pane = QTextBrowser()
        self._help_pane.setObjectName("helpPane")
        self._help_pane.setAccessibleName("Help")
        self._help_pane.setOpenExternalLinks(True)
        self._help_pane.setMinimumWidth(260)  # its text goes in when the window shows

        self._side_tabs = QTabWidget()
        self._side_tabs.setObjectName("sideTabs")
        self._side_tabs.addTab(self._help_pane, "&Help")
        # The outbox and history modules load when their tab is first shown, not at start-up.
        paths = self._config.paths
        outbox_folder = self._outbox.folder if self._outbox is not None else paths.outbox_folder
        self._outbox_panel = OutboxPanel(_outbox_on_first_use(paths, self._outbox), outbox_folder)
        self._history_panel = HistoryPanel(_history_on_first_use(paths, self._history))
        self._side_tabs.addTab(self._outbox_panel, "&Outbox")
        self._side_tabs.addTab(self._history_panel, "Histor&y")
        self._side_tabs.currentChanged.connect(self._on_side_tabs_current_changed)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self._side_tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([640, 460])
        self.setCentralWidget(splitter)
        self.resize(1100, 820)

        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)

    def _build_test_box(self) -> QGroupBox:
        box = QGroupBox("Test")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self._recipient_edit = QLineEdit()
        self._recipient_edit.setObjectName("testRecipientEdit")
        self._recipient_edit.setPlaceholderText("Recipient (default: the From address)")
        self._add_row(form, "Send &to:", self._recipient_edit, None, "Test recipient")
        self._sender_edit = QLineEdit()
        self._sender_edit.setObjectName("testSenderEdit")
        self._sender_edit.setPlaceholderText("Only needed when the username is not an email")
        self._add_row(form, "&From:", self._sender_edit, None, "Test sender")
        layout.addLayout(form)

        row = QHBoxLayout()
        self._send_button = QPushButton("Send &test email")
        self._send_button.setObjectName("sendTestButton")
        self._probe_button = QPushButton("Test &connection")
        self._probe_button.setObjectName("probeButton")
        self._cancel_button = QPushButton("&Cancel test")
        self._cancel_button.setObjectName("cancelTestButton")
        self._cancel_button.setEnabled(False)
        self._busy = QProgressBar()
        self._busy.setObjectName("testBusyIndicator")
        self._busy.setRange(0, 0)
        self._busy.setMaximumWidth(120)
        self._busy.setTextVisible(False)
        self._busy.setVisible(False)
        for widget in (self._send_button, self._probe_button, self._cancel_button, self._busy):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)

        self._result_view = QTextBrowser()
        self._result_view.setObjectName("testResultView")
        self._result_view.setAccessibleName("Test result")
        self._result_view.setOpenLinks(False)
        self._result_view.anchorClicked.connect(self._on_result_view_anchor_clicked)
        self._result_view.setMaximumHeight(130)
        self._result_view.setPlaceholderText("Send a test email or test the connection to see "
                                             "the result here.")
        layout.addWidget(self._result_view)

        transcript_row = QHBoxLayout()
        self._transcript_toggle = QToolButton()
        self._transcript_toggle.setObjectName("transcriptToggle")
        self._transcript_toggle.setText("Show transcript")
        self._transcript_toggle.setCheckable(True)
        self._transcript_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self._transcript_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._copy_transcript_button = QPushButton("Cop&y transcript")
        self._copy_transcript_button.setObjectName("copyTranscriptButton")
        self._copy_transcript_button.setEnabled(False)
        transcript_row.addWidget(self._transcript_toggle)
        transcript_row.addStretch(1)
        transcript_row.addWidget(self._copy_transcript_button)
        layout.addLayout(transcript_row)
        self._transcript_view = QPlainTextEdit()
        self._transcript_view.setObjectName("transcriptView")
        self._transcript_view.setAccessibleName("Transcript")
        self._transcript_view.setReadOnly(True)
        self._transcript_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._transcript_view.setVisible(False)
        self._transcript_view.setMinimumHeight(160)
        layout.addWidget(self._transcript_view)
        return box

    @staticmethod
    def _add_row(form: QFormLayout, text: str, field: QWidget, note: QWidget | None,
                 accessible: str, buddy: QWidget | None = None) -> None:
        label = QLabel(text)
        label.setBuddy(buddy or field)
        (buddy or field).setAccessibleName(accessible)
        if note is None:
            form.addRow(label, field)
            return
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.setSpacing(2)
        holder_layout.addWidget(field)
        holder_layout.addWidget(note)
        form.addRow(label, holder)

    def _connect(self) -> None:
        self._enabled_toggle.toggled.connect(self._update_state)
        self._own_radio.toggled.connect(self._update_state)
        self._host_edit.textChanged.connect(self._update_state)
        self._port_spin.valueChanged.connect(self._update_state)
        self._username_edit.textChanged.connect(self._update_state)
        self._password_edit.textChanged.connect(self._update_state)
        self._password_edit.textEdited.connect(self._on_password_edit_text_edited)
        self._show_password_action.toggled.connect(self._on_show_password_toggled)
        self._keys_model.edited.connect(self._update_state)
        self._keys_model.modelReset.connect(self._update_state)
        self._keys_editor.message.connect(self._set_status)
        self._outbox_panel.status_reported.connect(self._set_status)
        self._preset_combo.activated.connect(self._on_preset_combo_activated)
        self._region_combo.activated.connect(self._on_region_combo_activated)
        self._host_edit.textEdited.connect(self._sync_preset_to_host)
        self._port_spin.valueChanged.connect(self._sync_preset_to_host)
        self._preset_offer_button.clicked.connect(self._on_preset_offer_button_clicked)
        self._consistency_fix_button.clicked.connect(self._on_consistency_fix_button_clicked)
        self._forget_button.clicked.connect(self._on_forget_button_clicked)
        self._save_button.clicked.connect(self.save)
        self._revert_button.clicked.connect(self.revert)
        self._send_button.clicked.connect(self._on_send_button_clicked)
        self._probe_button.clicked.connect(self._on_probe_button_clicked)
        self._cancel_button.clicked.connect(self.cancel_check)
        self._transcript_toggle.toggled.connect(self._on_transcript_toggle_toggled)
        self._copy_transcript_button.clicked.connect(self._on_copy_transcript_clicked)

    # ================================================================ loading and state

    def _on_side_tabs_current_changed(self, _index: int) -> None:
        current = self._side_tabs.currentWidget()
        if current in (self._outbox_panel, self._history_panel) and not current.loaded:
            current.refresh()

    def show_tab(self, name: str) -> None:
        """Bring the "help", "outbox" or "history" tab to the front."""
        panel = {"help": self._help_pane, "outbox": self._outbox_panel,
                 "history": self._history_panel}[name]
        if panel is self._help_pane:
            self._fill_help_pane()
        self._side_tabs.setCurrentWidget(panel)

    def _load(self) -> None:
        if self._banner:
            self._show_notice(self._banner)
        self._password_edit.setPlaceholderText("Checking the system keyring…")
        # Asking the keyring loads its backends (~100 ms of imports) and may talk to D-Bus: it
        # waits until the window has painted and settled, then runs in a worker.
        QTimer.singleShot(KEYRING_CHECK_DELAY_MS, self._check_keyring)
        try:
            result = self._config.load()
        except ConfigError as exc:
            self._show_notice(str(exc))
            self._read_only = True
            self._apply(SmtpSettings())
            self._update_state()
            return
        self._read_only = result.read_only
        if result.notice:
            self._show_notice(result.notice)
        self._saved_settings = result.settings
        self._revision = result.revision
        self._apply(result.settings)
        problems = validate(result.settings)
        if result.exists and problems:
            self._set_status("The saved settings have problems; they are marked below.")
        elif result.notice:
            self._set_status(result.notice.splitlines()[0])
        self._refresh_default_service()
        self._update_state()

    def _show_notice(self, text: str) -> None:
        # Styled only when a notice shows: a style sheet costs start-up time (see ui.tint).
        self._load_notice.setStyleSheet(LOAD_NOTICE_STYLE)
        self._load_notice.setText(text)
        self._load_notice.setVisible(True)

    def _apply(self, settings: SmtpSettings) -> None:
        """Show `settings` in the widgets."""
        self._enabled_toggle.setChecked(settings.enabled)
        (self._own_radio if settings.service is Service.OWN
         else self._testsigma_radio).setChecked(True)
        self._host_edit.setText(settings.host)
        in_range = 1 <= settings.port <= 65535
        self._port_spin.setValue(settings.port if in_range else DEFAULT_PORT)
        self._port_notice = "" if in_range else (
            f"The saved port {settings.port} is out of range (1 to 65535); {DEFAULT_PORT} is "
            "shown instead and will be saved.")
        self._username_edit.setText(settings.username)
        self._password_edit.clear()
        self._password_note.setVisible(False)
        self._keys_model.set_keys(settings.keys)
        self._sync_preset_to_host()

    def collected_settings(self) -> SmtpSettings:
        """The settings as the widgets show them now (possibly unsaved and invalid)."""
        return SmtpSettings(
            enabled=self._enabled_toggle.isChecked(),
            service=Service.OWN if self._own_radio.isChecked() else Service.TESTSIGMA,
            host=self._host_edit.text(),
            port=self._port_spin.value(),
            username=self._username_edit.text(),
            keys=self._keys_model.keys(),
        )

    def _refresh_default_service(self) -> None:
        status = self._config.default_service()
        self._default_service = status
        if status.service is not None:
            service = status.service
            text = (f"Default service: {service.host}:{service.port}, "
                    f"sender {service.sender}.")
        elif status.problem:
            text = f"Default service unusable: {status.problem}"
        else:
            text = ("Default service: local outbox (nothing leaves this computer). No default "
                    "email service is provisioned here; test emails land in the Outbox tab.")
        self._default_service_label.setText(text)

    def _check_keyring(self) -> None:
        config, saved = self._config, self._saved_settings
        generation = self._password_generation
        worker = Worker(lambda: (generation, config.keyring_is_secure,
                                 config.password_status(saved)))
        worker.signals.succeeded.connect(self._on_keyring_worker_succeeded)
        worker.signals.errored.connect(self._on_keyring_worker_errored)
        start_worker(worker)

    def _on_keyring_worker_succeeded(self, result: tuple[int, bool, PasswordStatus]) -> None:
        generation, secure, status = result
        self._keyring_secure = secure
        if generation == self._password_generation:  # else a Save or Forget has shown newer
            self._show_password_state(status)
        self._mark_keyring_ready()

    def _on_keyring_worker_errored(self, exc: object) -> None:
        self._keyring_secure = False
        self._show_password_state(PasswordStatus(None, str(exc)))
        self._mark_keyring_ready()

    def _mark_keyring_ready(self) -> None:
        first = not self.keyring_ready
        self.keyring_ready = True
        self._update_state()
        self.keyring_checked.emit()
        if first:
            self._warm_up_transport()

    def _warm_up_transport(self) -> None:
        """Load the transport in a worker now, so the first check does not wait for imports."""
        worker = Worker(_warm_up_transport)
        worker.signals.succeeded.connect(self._on_transport_warmed)
        start_worker(worker)

    def _on_transport_warmed(self, environment_warnings: list[str]) -> None:
        if environment_warnings:
            for warning in environment_warnings:
                print(f"Warning: {warning}", file=sys.stderr)
            self._environment_warning.setText("\n".join(environment_warnings))
            self._environment_warning.setVisible(True)
        self.transport_warmed.emit()

    def _refresh_password_state(self) -> None:
        """Re-read whether a password is stored (after Save or Forget)."""
        self._password_generation += 1  # a keyring check still under way is now stale
        if self._keyring_secure is None:
            self._keyring_secure = self._config.keyring_is_secure
        self._show_password_state(self._config.password_status(self._saved_settings)
                                  if self._keyring_secure else PasswordStatus(False))

    def _show_password_state(self, status: PasswordStatus) -> None:
        account = self._saved_settings.password_account
        self._keyring_warning.setVisible(not self._keyring_secure)
        if not self._keyring_secure:
            self._password_stored = False
            placeholder = "No secure keyring: the password cannot be stored"
            self._password_edit.setToolTip(
                f"No secure keyring is available. {install_advice()} You can still type a "
                "password to test with; it is not stored.")
        else:
            self._password_stored = bool(status.stored)
            if status.stored is None:
                placeholder = "The keyring could not be read: unlock it, then reopen"
            elif status.stored:
                placeholder = "Stored in the keyring (leave empty to keep it)"
            elif account:
                placeholder = "Not stored yet: paste the (app) password"
            else:
                placeholder = "App password (stored in the system keyring on Save)"
            self._password_edit.setToolTip(
                status.problem or "The password is kept in the system keyring, never in the "
                "settings file.")
        self._password_edit.setPlaceholderText(placeholder)

    def _update_state(self) -> None:
        enabled = self._enabled_toggle.isChecked()
        own = self._own_radio.isChecked()
        busy = self._active is not None
        self._off_note.setVisible(not enabled)
        for radio in (self._testsigma_radio, self._own_radio):
            radio.setEnabled(enabled)
        self._default_service_label.setEnabled(enabled and not own)
        self._own_box.setEnabled(enabled and own)
        self._forget_button.setEnabled(self._password_stored)

        settings = self.collected_settings()
        problems = validate(settings)
        self._show_problems(problems)
        self._update_preset_offer(settings)
        self._update_consistency(settings, enabled and own)
        self._update_security_summary(settings)
        dirty = settings != self._saved_settings or bool(self._password_edit.text())
        self.setWindowModified(dirty)
        self._save_button.setEnabled(dirty and not problems and not self._read_only)
        self._revert_button.setEnabled(dirty)

        why_off = "SMTP is turned off: no email is sent." if not enabled else ""
        for button in (self._send_button, self._probe_button):
            button.setEnabled(enabled and not busy)
            button.setToolTip(why_off)
        self._recipient_edit.setEnabled(enabled)
        self._sender_edit.setEnabled(enabled)
        self._cancel_button.setEnabled(busy)
        self._busy.setVisible(busy)

    def _show_problems(self, problems: list[Problem]) -> None:
        by_field: dict[str, str] = {}
        for problem in problems:
            by_field.setdefault(problem.field, str(problem) if problem.row is not None
                                else problem.message)
        if self._port_notice and self._port_spin.value() == DEFAULT_PORT:
            by_field.setdefault("port", self._port_notice)
        for field, label in (("host", self._host_error), ("port", self._port_error),
                             ("username", self._username_error), ("keys", self._keys_error)):
            message = by_field.get(field, "")
            label.setText(message)
            label.setVisible(bool(message))

    def _set_status(self, text: str) -> None:
        self._status_label.setText(text)

    # ================================================================ actions

    def save(self) -> bool:
        """Save when something changed and everything is valid; True when saved."""
        if self._read_only:
            self._set_status("Not saved: settings.json is from a newer version of smtp-desktop.")
            return False
        settings = self.collected_settings()
        password = self._password_edit.text()
        try:
            try:
                result = self._config.save(settings, password or None,
                                           previous=self._saved_settings,
                                           expected_revision=self._revision)
            except SettingsChangedError as exc:
                if not self._resolve_changed_underneath(str(exc)):
                    return False
                # The password must follow the account named on disk now, not the one loaded.
                on_disk = self._config.load().settings
                result = self._config.save(settings, password or None, previous=on_disk)
        except InvalidSettingsError as exc:
            self._show_problems(list(exc.problems))
            self._set_status("Not saved: correct the marked fields first.")
            return False
        except ConfigError as exc:
            self._set_status(f"Not saved: {exc}")
            return False
        self._saved_settings = settings
        self._revision = result.revision
        self._port_notice = ""
        if not result.password_error:
            self._password_edit.clear()  # a password that was not stored stays in the field
        self._password_note.setVisible(False)
        self._refresh_password_state()
        self._set_status(result.message)
        self._update_state()
        self.saved.emit()
        return True

    def _resolve_changed_underneath(self, reason: str) -> bool:
        """Ask whether to overwrite a settings file changed underneath; True means overwrite."""
        from PySide6.QtWidgets import QMessageBox  # dialogs are not on the start-up path

        answer = QMessageBox.question(
            self, "Settings changed elsewhere",
            f"{reason}\n\nSave: overwrite it with the settings in this window.\n"
            "Discard: drop your changes here and reload the file.\nCancel: keep editing.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return True
        if answer == QMessageBox.StandardButton.Discard:
            self._load_notice.setVisible(False)
            self._load()
            self._set_status("Reloaded the settings saved elsewhere; your changes were dropped.")
        else:
            self._set_status("Not saved: the settings file changed elsewhere.")
        return False

    def revert(self) -> None:
        self._apply(self._saved_settings)
        self._set_status("Reverted to the last saved settings.")
        self._update_state()

    def _on_forget_button_clicked(self) -> None:
        try:
            removed = self._config.forget_password(self._saved_settings)
        except SecretStoreError as exc:
            self._set_status(str(exc))
            return
        self._refresh_password_state()
        self._set_status("The stored password was removed from the keyring." if removed
                         else "No password was stored.")
        self._update_state()

    def _on_password_edit_text_edited(self, text: str) -> None:
        normalized = normalize_password(text)
        if normalized.regrouped:
            self._password_edit.setText(normalized.value)
            self._password_note.setText(APP_PASSWORD_NOTE)
            self._password_note.setVisible(True)

    def _on_show_password_toggled(self, shown: bool) -> None:
        self._password_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self._show_password_action.setText("Hide password" if shown else "Show password")

    # ================================================================ presets and consistency

    def _preset(self) -> Preset | None:
        preset_id = self._preset_combo.currentData()
        return next((p for p in self._presets if p.id == preset_id), None)

    def select_preset(self, preset_id: str, region_id: str | None = None) -> None:
        """Choose a preset as a user would: fills host, port and keys."""
        index = self._preset_combo.findData(preset_id)
        if index < 0:
            raise KeyError(preset_id)
        self._preset_combo.setCurrentIndex(index)
        self._on_preset_combo_activated(index, region_id)

    def _on_preset_combo_activated(self, _index: int, region_id: str | None = None) -> None:
        preset = self._preset()
        if preset is None:
            return
        self._fill_regions(preset)
        if region_id is not None:
            self._region_combo.setCurrentIndex(max(0, self._region_combo.findData(region_id)))
        self._apply_preset(preset)

    def _on_region_combo_activated(self, _index: int) -> None:
        preset = self._preset()
        if preset is not None:
            self._apply_preset(preset)

    def _apply_preset(self, preset: Preset) -> None:
        from smtp_desktop.config.presets import apply_preset

        region = self._region_combo.currentData() if preset.regions else None
        settings = apply_preset(self.collected_settings(), preset, region)
        self._host_edit.setText(settings.host)
        self._port_spin.setValue(settings.port)
        self._keys_model.set_keys(settings.keys)
        self._show_preset_info(preset)
        self._set_status(f"Filled in the {preset.name} settings.")
        self._update_state()

    def _fill_regions(self, preset: Preset) -> None:
        self._region_combo.clear()
        for region in preset.regions:
            self._region_combo.addItem(region.name, region.id)
        self._region_combo.setVisible(bool(preset.regions))

    def _show_preset_info(self, preset: Preset | None) -> None:
        if preset is None or preset.id == "custom":
            self._preset_info.setVisible(False)
            return
        parts = []
        if preset.notice:
            colours = tint.WARNING if preset.auth.value == "oauth2-only" else tint.NOTICE
            colour = tint.pick(colours, tint.is_dark(self.palette()))
            parts.append(f"<p style='color:{colour}'><b>{_escape(preset.notice)}</b></p>")
        parts.append(f"<p><b>Username:</b> {_escape(preset.username_hint)}</p>")
        parts.append(f"<p>{_escape(preset.help)} <a href='{_escape(preset.docs)}'>"
                     "Provider documentation</a></p>")
        self._preset_info.setText("".join(parts))
        self._preset_info.setVisible(True)

    def _sync_preset_to_host(self) -> None:
        """Show which preset the host and port match; Custom when none does."""
        host, port = self._host_edit.text().strip().lower(), self._port_spin.value()
        match = _preset_for_host(self._presets, host, port)
        current = self._preset()
        if current is not None and match is not None and current.id == match[0].id:
            self._show_preset_info(current)
            return
        preset = match[0] if match else next(
            (p for p in self._presets if p.id == "custom"), None)
        if preset is None:
            return
        self._preset_combo.setCurrentIndex(self._preset_combo.findData(preset.id))
        self._fill_regions(preset)
        if match and match[1] is not None:
            self._region_combo.setCurrentIndex(self._region_combo.findData(match[1]))
        self._show_preset_info(preset if match else None)

    def _update_preset_offer(self, settings: SmtpSettings) -> None:
        from smtp_desktop.config.presets import detect_preset

        preset = detect_preset(settings.username) if "@" in settings.username else None
        current = self._preset()
        show = (preset is not None and (current is None or current.id != preset.id)
                and settings.host.strip().lower() != preset.host)
        self._offered_preset = preset if show else None
        if show and preset is not None:
            self._preset_offer_label.setText(
                f"This looks like a {preset.name} address. Use its server settings?")
            self._preset_offer_button.setText(f"Use {preset.name.split(' /')[0]} settings")
        self._preset_offer_row.setVisible(show)

    def _on_preset_offer_button_clicked(self) -> None:
        preset = self._offered_preset
        if preset is None:
            return
        from smtp_desktop.config.presets import detect_region

        region = detect_region(self._username_edit.text(), preset)
        self.select_preset(preset.id, region.id if region else None)

    def _update_consistency(self, settings: SmtpSettings, active: bool) -> None:
        from smtp_desktop.config.consistency import check_consistency

        findings = check_consistency(settings) if active else []
        self._finding = findings[0] if findings else None
        self._consistency_row.setVisible(self._finding is not None)
        if self._finding is None:
            return
        danger = self._finding.severity.value == "danger"
        self._tint(self._consistency_warning, tint.DANGER if danger else tint.CAUTION, bold=danger)
        more = f" ({len(findings) - 1} more after this)" if len(findings) > 1 else ""
        self._consistency_warning.setText(("⚠ " if danger else "") + self._finding.message + more)
        self._consistency_fix_button.setText(self._finding.fix_label)

    def _on_consistency_fix_button_clicked(self) -> None:
        finding = self._finding
        if finding is None:
            return
        fixed = finding.fix(self.collected_settings())
        self._keys_model.set_keys(fixed.keys)  # re-checks consistency, replacing self._finding
        self._set_status(f"Fixed: {finding.fix_label}.")
        self._update_state()

    def _update_security_summary(self, settings: SmtpSettings) -> None:
        from smtp_desktop.config.consistency import security_summary

        if not settings.enabled:
            text = "No email is sent while SMTP Configuration is off."
        elif settings.service is Service.TESTSIGMA:
            status = self._default_service
            text = (security_summary(status.service.as_settings(), True) + " (default service)"
                    if status is not None and status.service is not None
                    else "Mail goes out through the default email service.")
        elif not settings.host:
            text = ""
        else:
            text = security_summary(settings, self._password_stored)
        self._security_summary.setText(text)
        self._security_summary.setVisible(bool(text))
        self._update_unencrypted_login_warning(settings)

    def _update_unencrypted_login_warning(self, settings: SmtpSettings) -> None:
        """Shown while the settings in use allow a login over an unencrypted connection."""
        from smtp_desktop.config.policy import connection_policy

        used = None
        if settings.enabled and settings.service is Service.OWN:
            used = settings
        elif settings.enabled and self._default_service and self._default_service.service:
            used = self._default_service.service.as_settings()
        self._unencrypted_login_warning.setVisible(
            used is not None and connection_policy(used).allow_unencrypted_login)

    # ================================================================ test send and probe

    def _on_send_button_clicked(self) -> None:
        from smtp_desktop.checks import CheckKind

        self.start_check(CheckKind.SEND_TEST)

    def _on_probe_button_clicked(self) -> None:
        from smtp_desktop.checks import CheckKind

        self.start_check(CheckKind.PROBE)

    def start_check(self, kind: CheckKind) -> None:
        """Start a test send or probe in a worker with the form's current (unsaved) values."""
        if self._active is not None:
            return
        from smtp_desktop.checks import CheckKind, CheckRequest, run_check
        from smtp_desktop.mail import CancelToken

        request = CheckRequest(
            kind, self.collected_settings(),
            password=self._password_edit.text() or None,
            recipient=self._recipient_edit.text().strip() or None,
            sender=self._sender_edit.text().strip() or None,
        )
        token = CancelToken()
        worker = Worker(partial(run_check, self._config, request, token))
        worker.signals.succeeded.connect(self._on_worker_succeeded)
        worker.signals.errored.connect(self._on_worker_errored)
        self._active = _ActiveCheck(worker, token)
        what = "Sending a test email" if kind is CheckKind.SEND_TEST else "Testing the connection"
        self._set_status(f"{what}…")
        self._result_view.setHtml(f"<p>{what}…</p>")
        self._update_state()
        # Start once the busy state has been painted: a worker starting mid-repaint competes
        # with it for the GIL and stalls the window (measured: ~20 ms worst tick vs ~5 ms). The
        # repaint is itself posted, so one zero timer is not enough; the second runs after it.
        QTimer.singleShot(0, lambda: QTimer.singleShot(0, partial(start_worker, worker)))

    def cancel_check(self) -> None:
        """Abandon the running check at once; a result that still arrives is ignored."""
        if self._active is None:
            return
        self._active.cancel.cancel()
        self._active = None
        self._result_view.setHtml("<p><b>Cancelled.</b> The attempt was abandoned.</p>")
        self._set_status("Test cancelled.")
        self._update_state()

    @property
    def check_running(self) -> bool:
        return self._active is not None

    def _is_current(self) -> bool:
        sender = self.sender()
        return self._active is not None and sender is self._active.worker.signals

    def _on_worker_succeeded(self, outcome: Any) -> None:
        if not self._is_current():
            return
        self._active = None
        self._show_outcome(outcome)
        for panel in (self._outbox_panel, self._history_panel):
            if panel.loaded or panel.isVisible():
                panel.refresh()
        self._update_state()
        self.check_finished.emit(outcome)

    def _on_worker_errored(self, exc: object) -> None:
        if not self._is_current():
            return
        self._active = None
        self._result_view.setHtml(f"<p><b>Unexpected error:</b> {_escape(str(exc))}</p>")
        self._set_status("The test failed with an unexpected error.")
        self._update_state()

    def _show_outcome(self, outcome: Any) -> None:
        dark = tint.is_dark(self.palette())
        if outcome.ok:
            headline = ("Test email sent" if outcome.probe is None
                        else "Connection works")
            parts = [f"<p><b style='color:{tint.pick(tint.SUCCESS, dark)}'>✔ {headline}</b> via "
                     f"{_escape(outcome.server)}"
                     f" ({_escape(outcome.security)}) in {outcome.elapsed_ms:.0f} ms.</p>",
                     f"<p>{_escape(outcome.message)}</p>"]
            self._set_status(f"{headline}: {outcome.message}")
        else:
            category = outcome.category.value if outcome.category else "error"
            parts = [f"<p><b style='color:{tint.pick(tint.ERROR, dark)}'>✖ {_escape(category)}</b>: "
                     f"{_escape(outcome.message)}</p>"]
            if outcome.advice:
                parts.append(f"<p><b>Next step:</b> {_escape(outcome.advice)}</p>")
            if category == "auth":
                parts.append("<p><a href='help:app-password'>How to create an app password"
                             "</a></p>")
            self._set_status(f"Test failed ({category}): {outcome.message}")
        if outcome.unused_keys:
            parts.append("<p>Keys not used by this app: "
                         f"{_escape(', '.join(outcome.unused_keys))}</p>")
        self._result_view.setHtml("".join(parts))
        self._transcript_view.setPlainText("\n".join(outcome.transcript))
        self._copy_transcript_button.setEnabled(bool(outcome.transcript))

    def _on_result_view_anchor_clicked(self, url: Any) -> None:
        if url.scheme() == "help":
            self.show_tab("help")
            self._help_pane.scrollToAnchor("app-password")
            self._help_pane.setFocus()

    def _on_transcript_toggle_toggled(self, shown: bool) -> None:
        self._transcript_view.setVisible(shown)
        self._transcript_toggle.setText("Hide transcript" if shown else "Show transcript")
        self._transcript_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _on_copy_transcript_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self._transcript_view.toPlainText())
        self._set_status("Transcript copied to the clipboard.")

    # ================================================================ closing

    def showEvent(self, event: QShowEvent) -> None:
        self._fill_help_pane()
        super().showEvent(event)

    def _fill_help_pane(self) -> None:
        # The help text goes in when the window first shows, once the pane's width is known
        # (or earlier, when something asks for the help tab). Set while building, the document
        # would be laid out for the hidden pane's default width, then again at the real one:
        # about a third of what the help page costs at start-up.
        if self._help_pane.document().isEmpty():
            self._help_pane.setHtml(_help_html())

    def changeEvent(self, event: QEvent) -> None:
        # A switch between light and dark reaches the window, which sets no palette of its own,
        # as a palette change (posted: it arrives once the event loop runs).
        if event.type() == QEvent.Type.PaletteChange:
            dark = tint.is_dark(self.palette())
            for widget, (colours, bold) in self._tints.items():
                tint.apply_tint(widget, colours, bold, dark=dark)
        super().changeEvent(event)

    def close_without_asking(self) -> None:
        """Close now, discarding unsaved changes and cancelling a running check (a stop
        signal: there may be nobody at the screen to answer a question)."""
        self._closing_without_asking = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.isWindowModified() and not self._closing_without_asking:
            from PySide6.QtWidgets import QMessageBox

            answer = QMessageBox.question(
                self, "Unsaved changes", "Save the changes to the SMTP configuration?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save)
            if self._closing_without_asking:  # a stop signal came while the question was open
                answer = QMessageBox.StandardButton.Discard
            if answer == QMessageBox.StandardButton.Cancel or (
                    answer == QMessageBox.StandardButton.Save and not self.save()):
                event.ignore()
                return
        self.cancel_check()
        event.accept()


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


def _escape(text: str) -> str:
    from html import escape  # html.entities is not needed for the first paint

    return escape(text)


def _warm_up_transport() -> list[str]:
    """Load what a first check needs; return the environment's warnings (importlib.metadata
    loads `email`, which the first paint does not need either)."""
    # Looked up here, on the worker's thread: even naming mail.warm_up imports the transport.
    from smtp_desktop import checks
    from smtp_desktop.environment import environment_warnings

    checks.warm_up()
    _escape("")  # the outcome's rendering (html) is not on the start-up path either
    return environment_warnings()


def _help_html() -> str:
    from smtp_desktop.resource_files import resource_path

    try:
        body = resource_path("help/app-password.html").read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("help page missing: %s", exc)
        body = "<p>Help is not available: the help page is missing from this installation.</p>"
    return f"<a name='app-password'></a>{body}"


def _load_presets() -> tuple[Preset, ...]:
    from smtp_desktop.config.presets import bundled_presets

    try:
        return bundled_presets()
    except ConfigError as exc:  # a broken data file must not keep the window from opening
        log.error("presets unavailable: %s", exc)
        return ()


def _preset_for_host(presets: tuple[Preset, ...], host: str,
                     port: int) -> tuple[Preset, str | None] | None:
    """The preset (and region) whose server is `host`, preferring one on the same port."""
    matches: list[tuple[Preset, str | None]] = []
    for preset in presets:
        if preset.host and preset.host == host:
            matches.append((preset, None))
        matches.extend((preset, region.id) for region in preset.regions if region.host == host)
    if not host or not matches:
        return None
    return next((m for m in matches if m[0].port == port), matches[0])
