"""The "SMTP Configuration" window: panels over an `EditSession`, with side tabs and a button bar.

The window assembles one panel per concern (see the README's Layout table), renders the
session's state into them and forwards the user's intent to the session. Work that may block,
the keyring (D-Bus) and the settings lock (up to 5 s), runs in workers, never on the GUI thread;
so does every network operation. Widgets carry the public objectNames of the README's contract.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.config.edit_session import EditSession, PasswordState
from smtp_desktop.config.errors import ConfigError, InvalidSettingsError, SettingsChangedError
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.service import ConfigService, DefaultServiceStatus, SaveResult
from smtp_desktop.config.validation import validate
from smtp_desktop.ui import tint
from smtp_desktop.ui.button_bar import ButtonBar
from smtp_desktop.ui.notices_panel import NoticesPanel
from smtp_desktop.ui.own_server_panel import OwnServerPanel
from smtp_desktop.ui.service_panel import ServicePanel
from smtp_desktop.ui.side_pane import SidePane
from smtp_desktop.ui.test_panel import TestPanel
from smtp_desktop.ui.worker import Worker, start_worker

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent, QShowEvent

    from smtp_desktop.checks import CheckKind
    from smtp_desktop.config.edit_session import ForgetResult
    from smtp_desktop.history import HistoryLog
    from smtp_desktop.outbox import Outbox, OutboxServer

log = logging.getLogger(__name__)

WINDOW_TITLE = "SMTP Configuration"
KEYRING_CHECK_DELAY_MS = 150
DEFAULT_SIZE = (1100, 820)
SCREEN_SHARE = 0.9  # open at most this share of the available screen
SIDE_PANE_MIN_SCREEN = 1024  # narrower screens start with the side pane collapsed


@dataclass
class _ActiveCheck:
    worker: Worker
    cancel: Any  # smtp_desktop.mail.CancelToken, imported lazily
    settings: str  # "saved" or "unsaved": what the check ran on


class SettingsWindow(QMainWindow):
    """Edits SMTP settings through an `EditSession`; `saved` fires after every successful save."""

    saved = Signal()
    save_finished = Signal(bool)  # a save started by the button, save() or Ctrl+S has ended
    keyring_checked = Signal()  # the keyring was asked (after the first paint)
    check_finished = Signal(object)  # the Outcome of a send or probe that was shown
    transport_warmed = Signal()  # what a first check needs is loaded (checks.warm_up)

    def __init__(self, config: ConfigService, parent: QWidget | None = None, *,
                 outbox: Outbox | None = None, history: HistoryLog | None = None,
                 banner: str | None = None, outbox_server: OutboxServer | None = None) -> None:
        super().__init__(parent)
        self._config = config
        self.session = EditSession(config)
        self._outbox, self._outbox_server = outbox, outbox_server
        self._history = history
        self._banner = banner
        self.keyring_ready = False
        self._active: _ActiveCheck | None = None
        self._saving = False
        self._closing_without_asking = False
        self._last_save_ok = False
        self._password_being_saved = ""
        self._default_service: DefaultServiceStatus | None = None
        self._rendering = False
        self.setObjectName("settingsWindow")
        self.setWindowTitle(f"{WINDOW_TITLE}[*]")
        self._build()
        self._connect()
        self._fit_to_screen()
        self._load()

    # ================================================================ building

    def _build(self) -> None:
        form = QWidget()
        column = QVBoxLayout(form)
        self._notices = NoticesPanel()
        column.addWidget(self._notices)
        self._service = ServicePanel()
        column.addWidget(self._service)
        self._own = OwnServerPanel()
        column.addWidget(self._own)
        column.addWidget(self._own.consistency.summary)
        self._test = TestPanel()
        column.addWidget(self._test)
        column.addStretch(1)

        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidget(form)
        # The width the form needs without scrolling sideways: the splitter gives it that much.
        # A vertical scroll bar is about one line of text wide; asking QStyle or the scroll bar
        # would load all of their enums, several M instructions of start-up.
        scrollbar = self.fontMetrics().height()
        self._form_width = form.minimumSizeHint().width() + scrollbar + 4

        self._side_tabs = SidePane(self._config.paths, self._outbox, self._history)
        self._help_pane = self._side_tabs.help_pane

        self._splitter = QSplitter(Qt.Orientation.Horizontal)
        self._splitter.setObjectName("mainSplitter")
        self._splitter.addWidget(self._scroll)
        self._splitter.addWidget(self._side_tabs)
        self._splitter.setCollapsible(0, False)
        self._splitter.setStretchFactor(0, 3)
        self._splitter.setStretchFactor(1, 2)

        self._buttons = ButtonBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._splitter, 1)
        layout.addWidget(self._buttons)
        self.setCentralWidget(central)

        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.start_save)
        self._test.add_send_shortcuts(self)

    def _connect(self) -> None:
        self._service.changed.connect(self._on_form_edited)
        self._own.edited.connect(self._on_form_edited)
        self._own.message.connect(self._set_status)
        self._own.password.edit.textChanged.connect(self._on_form_edited)
        self._own.password.forget_requested.connect(self._on_password_forget_requested)
        self._own.oauth.bind(self._config, self.collected_settings)
        self._buttons.save_button.clicked.connect(self.start_save)
        self._buttons.revert_button.clicked.connect(self.revert)
        self._test.send_requested.connect(self._on_test_send_requested)
        self._test.probe_requested.connect(self._on_test_probe_requested)
        self._test.cancel_requested.connect(self.cancel_check)
        self._test.help_requested.connect(self._on_test_help_requested)
        self._test.message.connect(self._set_status)
        self._side_tabs.outbox_panel.status_reported.connect(self._set_status)
        self._side_tabs.outbox_panel.fault_rules_changed.connect(self._on_outbox_fault_rules_changed)

    # ================================================================ size and side pane

    def _fit_to_screen(self) -> None:
        """Open at min(1100x820, 90 % of the available screen), or the remembered size."""
        from smtp_desktop.config.window_state import load_window_state

        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry()
        most_w, most_h = int(available.width() * SCREEN_SHARE), int(
            available.height() * SCREEN_SHARE)
        remembered = load_window_state(self._config.paths.window_state_file)
        width, height = (remembered.width, remembered.height) if remembered else DEFAULT_SIZE
        width, height = min(width, most_w), min(height, most_h)
        self.resize(width, height)
        self.move(available.x() + (available.width() - width) // 2,
                  available.y() + (available.height() - height) // 2)
        if available.width() < SIDE_PANE_MIN_SCREEN:
            self._splitter.setSizes([width, 0])  # collapsed; show_tab() opens it
        elif remembered and len(remembered.splitter) == 2:
            self._splitter.setSizes(list(remembered.splitter))
        else:
            form = min(max(self._form_width, width * 3 // 5), width)
            self._splitter.setSizes([form, width - form])

    @property
    def side_pane_open(self) -> bool:
        sizes = self._splitter.sizes()
        return len(sizes) == 2 and sizes[1] > 0

    def show_tab(self, name: str) -> None:
        """Bring the "help", "outbox" or "history" tab to the front (opening a collapsed pane)."""
        self._side_tabs.show_panel(name)
        if not self.side_pane_open:
            total = sum(self._splitter.sizes()) or self.width()
            side = max(self._side_tabs.minimumSizeHint().width(), total * 2 // 5)
            self._splitter.setSizes([max(total - side, 1), side])

    def _remember_size(self) -> None:
        from smtp_desktop.config.window_state import WindowState, save_window_state

        size = self.normalGeometry().size() if self.isMaximized() else self.size()
        save_window_state(self._config.paths.window_state_file,
                          WindowState(size.width(), size.height(),
                                      tuple(self._splitter.sizes())))

    # ================================================================ loading and rendering

    def _load(self) -> None:
        if self._banner:
            self._notices.show_notice(self._banner)
        self._own.password.show_checking()
        # Asking the keyring loads its backends (~100 ms of imports) and may talk to D-Bus: it
        # waits until the window has painted and settled, then runs in a worker.
        QTimer.singleShot(KEYRING_CHECK_DELAY_MS, self._check_keyring)
        self._reload()

    def _reload(self) -> None:
        outcome = self.session.load()
        if outcome.notice:
            self._notices.show_notice(outcome.notice)
        self._show_draft()
        if outcome.status:
            self._set_status(outcome.status)
        if self.session.saved != SmtpSettings() and validate(self.session.saved):
            self._own.reveal_problems()  # a saved file with problems: marked at once
        self._refresh_default_service()
        self._render()

    def _show_draft(self) -> None:
        """Put the session's draft into the widgets (after a load or a revert)."""
        self._rendering = True
        try:
            draft = self.session.draft
            self._service.apply(draft.enabled, draft.service)
            self._own.apply(draft)
        finally:
            self._rendering = False

    def collected_settings(self) -> SmtpSettings:
        """The settings as the widgets show them now (possibly unsaved and invalid)."""
        # The login method and OAuth2 client have no widgets here: they are carried over from
        # the draft, so a save from the window never drops them.
        draft = self.session.draft
        base = SmtpSettings(enabled=self._service.enabled, service=self._service.service,
                            auth=draft.auth, oauth2=draft.oauth2)
        return self._own.fields(base)

    def _on_form_edited(self) -> None:
        if self._rendering:
            return
        self._render()

    def _render(self) -> None:
        """Show the session's state: problems, dirty, what is enabled and visible."""
        session = self.session
        session.set_draft(self.collected_settings())
        session.set_password(self._own.password.text)
        draft = session.draft
        enabled, own = draft.enabled, session.active_own
        busy = self._active is not None

        self._service.render()
        # Testsigma hides the @own fields (they still exist for scripts); SMTP off keeps them
        # visible and disabled.
        self._own.setVisible(draft.service.value == "own")
        self._own.setEnabled(own)
        self._own.show_problems(session.problems)
        self._own.presets.update_offer(draft)
        self._own.consistency.render(draft, session.password_state, bool(session.password),
                                     self._default_service)
        self.setWindowModified(session.dirty)
        self._buttons.save_button.setEnabled(session.can_save and not self._saving)
        self._buttons.revert_button.setEnabled(session.dirty and not self._saving)
        self._test.render(enabled, busy)
        self._notices.render_unencrypted_login(draft, self._default_service)

    def _refresh_default_service(self) -> None:
        status = self._config.default_service()
        self._default_service = status
        self._service.show_default_service(status)

    def _set_status(self, text: str) -> None:
        self._buttons.set_status(" ".join(text.split()))

    # ================================================================ the keyring, in workers

    def _check_keyring(self) -> None:
        worker = Worker(self.session.password_state_job())
        worker.signals.succeeded.connect(self._on_keyring_worker_succeeded)
        worker.signals.errored.connect(self._on_keyring_worker_errored)
        start_worker(worker)

    def _on_keyring_worker_succeeded(self, state: PasswordState) -> None:
        self._show_password_state(state)
        self._mark_keyring_ready()

    def _on_keyring_worker_errored(self, exc: object) -> None:
        self.session.password_state_failed(str(exc))
        self._show_password_state(self.session.password_state)
        self._mark_keyring_ready()

    def _show_password_state(self, state: PasswordState) -> None:
        if self.session.set_password_state(state):  # else a newer answer is on its way
            self._own.password.show_state(self.session.password_state,
                                          self.session.saved.password_account or "")
            self._render()

    def _mark_keyring_ready(self) -> None:
        first = not self.keyring_ready
        self.keyring_ready = True
        self._render()
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
            label = self._notices.environment_warning
            label.setText("\n".join(environment_warnings))
            label.setVisible(True)
        self._side_tabs.outbox_panel.faults.load()  # outboxFaultCombo usable before its tab shows
        self.transport_warmed.emit()

    def _on_password_forget_requested(self) -> None:
        forget, ask = self.session.forget_job(), self.session.password_state_job()
        worker = Worker(lambda: (forget(), ask()))
        worker.signals.succeeded.connect(self._on_forget_worker_succeeded)
        worker.signals.errored.connect(self._on_keyring_worker_errored)
        self._own.password.forget_button.setEnabled(False)
        self._set_status("Removing the stored password…")
        start_worker(worker)

    def _on_forget_worker_succeeded(self, result: tuple[ForgetResult, PasswordState]) -> None:
        forgotten, state = result
        self._show_password_state(state)
        self._set_status(forgotten.message)

    # ================================================================ saving, in a worker

    def start_save(self) -> bool:
        """Start saving the form in a worker; False when nothing was started (the reason is in
        the status line). `save_finished(ok)` follows, and `saved` on success."""
        if self._saving:
            return False
        if self.session.read_only:
            self._set_status("Not saved: settings.json is from a newer version of smtp-desktop.")
            return False
        self._render()
        if validate(self.session.draft):
            self._own.reveal_problems()
            self._set_status("Not saved: correct the marked fields first.")
            return False
        self._run_save(overwrite=False)
        return True

    def _run_save(self, *, overwrite: bool) -> None:
        save = self.session.save_job(overwrite=overwrite)
        ask = self.session.password_state_job(self.session.draft)
        self._password_being_saved = self.session.password
        worker = Worker(lambda: (save(), ask()))
        worker.signals.succeeded.connect(self._on_save_worker_succeeded)
        worker.signals.errored.connect(self._on_save_worker_errored)
        self._saving = True
        self._set_status("Saving…")
        self._render()
        start_worker(worker)

    def save(self) -> bool:
        """Save and wait for the result; True when saved.

        The save runs in a worker while a local event loop keeps the window answering (as a
        dialog's would). The Save button and Ctrl+S use `start_save()`, which does not wait. A
        save already under way is waited for rather than started again.
        """
        if not self._saving and not self.start_save():
            return False
        if self._saving:
            from PySide6.QtCore import QEventLoop  # not needed for the first paint

            loop = QEventLoop()
            self.save_finished.connect(loop.quit)
            loop.exec()
            self.save_finished.disconnect(loop.quit)
        return self._last_save_ok

    def _on_save_worker_succeeded(self, result: tuple[SaveResult, PasswordState]) -> None:
        saved, state = result
        self.session.finish_save(saved)
        self._own.oauth.saved(saved.settings)
        # A password that was not stored stays in the field, and so does one typed since.
        if not self.session.password and self._own.password.text == self._password_being_saved:
            self._own.password.clear()
        self._show_password_state(state)
        self._set_status(saved.message)
        self._finish_save(True)
        self.saved.emit()

    def _on_save_worker_errored(self, exc: object) -> None:
        if isinstance(exc, SettingsChangedError):
            self._saving = False
            if self._resolve_changed_underneath(str(exc)):
                self._run_save(overwrite=True)
                return
        elif isinstance(exc, InvalidSettingsError):
            self._own.show_problems(list(exc.problems))
            self._own.reveal_problems()
            self._set_status("Not saved: correct the marked fields first.")
        elif isinstance(exc, ConfigError):
            self._set_status(f"Not saved: {exc}")
        else:
            self._set_status(f"Not saved: an unexpected error ({type(exc).__name__}).")
        self._finish_save(False)

    def _finish_save(self, ok: bool) -> None:
        self._saving = False
        self._closing_without_asking = False
        self._last_save_ok = ok
        self._render()
        self.save_finished.emit(ok)

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
            self._notices.hide_notice()
            self._reload()
            self._check_keyring()
            self._set_status("Reloaded the settings saved elsewhere; your changes were dropped.")
        else:
            self._set_status("Not saved: the settings file changed elsewhere.")
        return False

    def revert(self) -> None:
        self._own.oauth.discard_unsaved_sign_in(self.session.saved)
        self.session.revert()
        self._show_draft()
        self._set_status("Reverted to the last saved settings.")
        self._render()

    def select_preset(self, preset_id: str, region_id: str | None = None) -> None:
        """Choose a preset as a user would: fills host, port and keys."""
        self._own.presets.select(preset_id, region_id)

    # ================================================================ test send and probe

    def _on_test_send_requested(self) -> None:
        from smtp_desktop.checks import CheckKind

        self.start_check(CheckKind.SEND_TEST)

    def _on_test_probe_requested(self) -> None:
        from smtp_desktop.checks import CheckKind

        self.start_check(CheckKind.PROBE)

    def start_check(self, kind: CheckKind) -> None:
        """Start a test send or probe in a worker on what the form shows (possibly unsaved)."""
        if self._active is not None:
            return
        from smtp_desktop.checks import CheckKind, run_check
        from smtp_desktop.mail import CancelToken

        self._render()
        self._own.reveal_problems()
        request = self.session.check_request(kind, self._test.recipient, self._test.sender)
        token = CancelToken()
        worker = Worker(partial(run_check, self._config, request, token))
        worker.signals.succeeded.connect(self._on_worker_succeeded)
        worker.signals.errored.connect(self._on_worker_errored)
        self._active = _ActiveCheck(worker, token, request.settings_state)
        what = "Sending a test email" if kind is CheckKind.SEND_TEST else "Testing the connection"
        self._set_status(f"{what}…")
        self._test.show_html(f"<p>{what}…</p>")
        self._render()
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
        self._test.show_html("<p><b>Cancelled.</b> The attempt was abandoned.</p>", "cancelled")
        self._set_status("Test cancelled.")
        self._render()

    @property
    def check_running(self) -> bool:
        return self._active is not None

    def _is_current(self) -> bool:
        sender = self.sender()
        return self._active is not None and sender is self._active.worker.signals

    def _on_worker_succeeded(self, outcome: Any) -> None:
        if not self._is_current() or self._active is None:
            return
        settings = self._active.settings
        self._active = None
        from smtp_desktop.ui.outcome_view import render_outcome

        rendered = render_outcome(outcome, dark=tint.is_dark(self.palette()), settings=settings)
        self._test.show_html(rendered.html, rendered.category)
        self._test.show_transcript(outcome.transcript)
        self._set_status(rendered.status)
        self._side_tabs.refresh_loaded()
        self._render()
        self.check_finished.emit(outcome)

    def _on_worker_errored(self, exc: object) -> None:
        if not self._is_current():
            return
        self._active = None
        from html import escape

        self._test.show_html(f"<p><b>Unexpected error:</b> {escape(str(exc))}</p>", "error")
        self._set_status("The test failed with an unexpected error.")
        self._render()

    def _on_outbox_fault_rules_changed(self, rules: tuple[Any, ...]) -> None:
        """The rules go to the checks' embedded outbox and to the demo's (thread-safe)."""
        self.session.outbox_faults = rules
        if self._outbox_server is not None:
            self._outbox_server.set_fault_rules(rules)

    def _on_test_help_requested(self, anchor: str) -> None:
        self.show_tab("help")
        self._help_pane.show_anchor(anchor)

    # ================================================================ events

    def showEvent(self, event: QShowEvent) -> None:
        self._help_pane.fill()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        # A switch between light and dark reaches the window, which sets no palette of its own,
        # as a palette change (posted: it arrives once the event loop runs).
        if event.type() == QEvent.Type.PaletteChange:
            tint.retint(self)
        super().changeEvent(event)

    def close_without_asking(self) -> None:
        """Close now, discarding unsaved changes and cancelling a running check (a stop
        signal: there may be nobody at the screen to answer a question)."""
        self._closing_without_asking = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        from smtp_desktop.ui.close_question import confirm_close

        if (self.isWindowModified() and not self._closing_without_asking
                and not confirm_close(self, self.save, lambda: self._closing_without_asking)):
            event.ignore()
            return
        self.cancel_check()
        self._remember_size()
        event.accept()


def _warm_up_transport() -> list[str]:
    """Load what a first check needs; return the environment's warnings (importlib.metadata
    loads `email`, which the first paint does not need either)."""
    # Looked up here, on the worker's thread: even naming mail.warm_up imports the transport.
    import smtp_desktop.ui.outcome_view  # noqa: F401  (html: not on the start-up path either)
    from smtp_desktop import checks
    from smtp_desktop.environment import environment_warnings

    checks.warm_up()
    return environment_warnings()
