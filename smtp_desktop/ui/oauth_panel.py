"""The login method and OAuth2 sign-in (issue 14): `authMethodCombo`, `oauthProviderCombo`,
`oauthClientIdEdit`, `oauthTenantEdit`, `oauthSignInButton`, `oauthCancelButton`,
`oauthSignOutButton`, `oauthAccountLabel`.

Sign-in uses the form's draft (gathered on the GUI thread) and runs in a worker; the system
browser opens through `QDesktopServices.openUrl` on the GUI thread. Tokens go to the keyring
through the config service, never through a widget. Tokens of a draft that was never saved are
removed again on Revert/Discard (`discard_unsaved_sign_in`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from smtp_desktop.config.model import AuthMethod, OAuth2Provider, SmtpSettings
from smtp_desktop.ui.form_rows import FieldError, add_row
from smtp_desktop.ui.worker import Worker, start_worker

if TYPE_CHECKING:
    from smtp_desktop.config.service import ConfigService

WAITING = "Waiting for the browser…"
_PROVIDERS = (("Microsoft 365 / Outlook.com", OAuth2Provider.MICROSOFT),
              ("Google", OAuth2Provider.GOOGLE), ("Custom", OAuth2Provider.CUSTOM))


class OAuthPanel(QWidget):
    """Rows added to the @own form by `add_rows`; `fields()` reads them, `apply()` fills them."""

    edited = Signal()
    message = Signal(str)
    _url_ready = Signal(str)  # from the sign-in worker: open it on the GUI thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("authMethodCombo")
        # Item data are the enums' values: Qt hands a str subclass back as a plain str.
        self.method_combo.addItem("Password", AuthMethod.PASSWORD.value)
        self.method_combo.addItem("OAuth2 (sign in with the provider)", AuthMethod.OAUTH2.value)
        self.provider_combo = QComboBox()
        self.provider_combo.setObjectName("oauthProviderCombo")
        for text, provider in _PROVIDERS:
            self.provider_combo.addItem(text, provider.value)
        self.client_id_edit = QLineEdit()
        self.client_id_edit.setObjectName("oauthClientIdEdit")
        self.client_id_edit.setPlaceholderText("the client ID of the app you registered")
        self.client_id_error = FieldError("oauthClientIdError", self.client_id_edit)
        self.tenant_edit = QLineEdit()
        self.tenant_edit.setObjectName("oauthTenantEdit")
        self.tenant_edit.setPlaceholderText("organizations (Outlook.com: consumers)")
        self.tenant_error = FieldError("oauthTenantError", self.tenant_edit)
        self.sign_in_button = QPushButton("Sign in…")
        self.sign_in_button.setObjectName("oauthSignInButton")
        self.cancel_button = QPushButton("Cancel sign-in")
        self.cancel_button.setObjectName("oauthCancelButton")
        self.cancel_button.setVisible(False)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setObjectName("oauthSignOutButton")
        self.account_label = QLabel("Not signed in.")
        self.account_label.setObjectName("oauthAccountLabel")
        self.account_label.setWordWrap(True)
        self.buttons = QWidget()
        row = QHBoxLayout(self.buttons)
        row.setContentsMargins(0, 0, 0, 0)
        for button in (self.sign_in_button, self.cancel_button, self.sign_out_button):
            row.addWidget(button)
        row.addStretch(1)
        self._form: QFormLayout | None = None
        self._rows: list[tuple[int, QWidget]] = []  # (form row, field) of the OAuth2 rows
        self.errors = {"oauth2.client_id": self.client_id_error,
                       "oauth2.tenant": self.tenant_error}

        self._config: ConfigService | None = None
        self._draft: Callable[[], SmtpSettings] | None = None
        self._cancel: threading.Event | None = None
        self._worker: Worker | None = None
        self._unsaved: list[SmtpSettings] = []  # signed in with drafts that were never saved
        for signal in (self.method_combo.currentIndexChanged,
                       self.provider_combo.currentIndexChanged,
                       self.client_id_edit.textChanged, self.tenant_edit.textChanged):
            signal.connect(self._on_field_changed)
        self.sign_in_button.clicked.connect(self._on_sign_in_button_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.sign_out_button.clicked.connect(self._on_sign_out_button_clicked)
        self._url_ready.connect(self._on_url_ready)
        self._show_visibility()

    def add_rows(self, form: QFormLayout) -> None:
        add_row(form, "Login:", self.method_combo, None, "Login method")
        for label, field, note, name in (
                ("OAuth2 provider:", self.provider_combo, None, "OAuth2 provider"),
                ("Client ID:", self.client_id_edit, self.client_id_error, "OAuth2 client ID"),
                ("Tenant:", self.tenant_edit, self.tenant_error, "Microsoft tenant"),
                ("Account:", self.account_label, self.buttons, "Signed-in account")):
            add_row(form, label, field, note, name)
            self._rows.append((form.rowCount() - 1, field))
        self._form = form
        self._show_visibility()

    def bind(self, config: ConfigService, draft: Callable[[], SmtpSettings]) -> None:
        """Where sign-ins go (the config service) and how to read the form's draft (a bound
        method of the window, held weakly: the window must stay free of reference cycles)."""
        import weakref

        self._config = config
        method = weakref.WeakMethod(draft)  # type: ignore[arg-type]
        self._draft = lambda: method()()  # type: ignore[misc]

    # ------------------------------------------------------------ the form

    @property
    def method(self) -> AuthMethod:
        return AuthMethod(self.method_combo.currentData() or AuthMethod.PASSWORD.value)

    @property
    def provider(self) -> OAuth2Provider:
        return OAuth2Provider(self.provider_combo.currentData() or OAuth2Provider.MICROSOFT.value)

    def fields(self, base: SmtpSettings) -> SmtpSettings:
        """`base` with the login method and the client this panel shows; the endpoints and
        scopes (no widgets) stay as `base` has them."""
        provider = self.provider
        tenant = self.tenant_edit.text() if provider is OAuth2Provider.MICROSOFT else \
            base.oauth2.tenant
        oauth2 = base.oauth2.with_changes(provider=provider, client_id=self.client_id_edit.text(),
                                          tenant=tenant)
        return base.with_changes(auth=self.method, oauth2=oauth2)

    def apply(self, settings: SmtpSettings) -> None:
        for widget in (self.method_combo, self.provider_combo, self.client_id_edit,
                       self.tenant_edit):
            widget.blockSignals(True)
        self.method_combo.setCurrentIndex(self.method_combo.findData(settings.auth.value))
        self.provider_combo.setCurrentIndex(
            self.provider_combo.findData(settings.oauth2.provider.value))
        self.client_id_edit.setText(settings.oauth2.client_id)
        self.tenant_edit.setText(settings.oauth2.tenant or "")
        for widget in (self.method_combo, self.provider_combo, self.client_id_edit,
                       self.tenant_edit):
            widget.blockSignals(False)
        self._show_visibility()
        self.refresh_account(settings)

    def _on_field_changed(self) -> None:
        self._show_visibility()
        self.edited.emit()

    def _show_visibility(self) -> None:
        oauth = self.method is AuthMethod.OAUTH2
        microsoft = self.provider is OAuth2Provider.MICROSOFT
        if self._form is not None:
            for row, widget in self._rows:
                self._form.setRowVisible(row, oauth and (widget is not self.tenant_edit
                                                         or microsoft))
        self.sign_out_button.setEnabled(oauth and self._cancel is None)
        self.sign_in_button.setEnabled(oauth and self._cancel is None)

    # ------------------------------------------------------------ sign-in

    def refresh_account(self, settings: SmtpSettings) -> None:
        """Show who is signed in for `settings` (read in a worker)."""
        config = self._config
        if config is None or not settings.password_account:
            self.account_label.setText("Not signed in.")
            return

        def read() -> object:
            return config.tokens.get(settings)

        worker = Worker(read)
        worker.signals.succeeded.connect(self._show_tokens)
        worker.signals.errored.connect(lambda exc: self.account_label.setText(str(exc)))
        start_worker(worker)

    def _show_tokens(self, tokens: object) -> None:
        if self._cancel is not None:
            return
        account = getattr(tokens, "account", None)
        self.account_label.setText(f"Signed in as {account}." if account else
                                   "Signed in." if tokens else "Not signed in.")

    def _on_sign_in_button_clicked(self) -> None:
        from smtp_desktop.oauth2.flows import browser_sign_in

        if self._config is None or self._draft is None or self._cancel is not None:
            return
        draft = self._draft()  # gathered here, on the GUI thread
        config, cancel = self._config, threading.Event()
        self._cancel = cancel

        def sign_in() -> object:
            secret = config.tokens.client_secret(draft.oauth2.client_id)
            result = browser_sign_in(draft, self._url_ready.emit, client_secret=secret,
                                     cancel=cancel)
            config.tokens.set(draft, result.tokens)
            return draft, result

        self.account_label.setText(WAITING)
        self.cancel_button.setVisible(True)
        self._show_visibility()
        self._worker = Worker(sign_in)
        self._worker.signals.succeeded.connect(self._on_signed_in)
        self._worker.signals.errored.connect(self._on_sign_in_failed)
        self._worker.signals.finished.connect(self._on_sign_in_finished)
        start_worker(self._worker)

    def _on_url_ready(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    def _on_cancel_button_clicked(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _on_signed_in(self, result: tuple[SmtpSettings, object]) -> None:
        draft, sign_in = result
        self._unsaved.append(draft)
        account = getattr(sign_in.tokens, "account", None) or draft.username  # type: ignore[attr-defined]
        warning = getattr(sign_in, "warning", None)
        self.account_label.setText(f"Signed in as {account}." + (f" {warning}" if warning else ""))
        self.message.emit(f"Signed in as {account}; the tokens are in the keyring.")

    def _on_sign_in_failed(self, exc: object) -> None:
        text = getattr(exc, "message", None) or str(exc)
        self.account_label.setText(f"Not signed in: {text}")
        self.message.emit(f"Sign-in failed: {text}")

    def _on_sign_in_finished(self) -> None:
        self._cancel = None
        self._worker = None
        self.cancel_button.setVisible(False)
        self._show_visibility()

    def _on_sign_out_button_clicked(self) -> None:
        if self._config is None or self._draft is None:
            return
        draft, config = self._draft(), self._config
        worker = Worker(partial(config.tokens.delete, draft))
        worker.signals.finished.connect(lambda: self.account_label.setText("Not signed in."))
        start_worker(worker)
        self.message.emit("Signed out: the tokens were removed from the keyring.")

    def saved(self, settings: SmtpSettings) -> None:
        """The draft was saved: its sign-in is the saved one's now."""
        self._unsaved = [d for d in self._unsaved if d.password_account != settings.password_account]

    def discard_unsaved_sign_in(self, saved: SmtpSettings) -> None:
        """Revert/Discard: remove tokens signed in for drafts that were never saved."""
        config, drafts = self._config, [d for d in self._unsaved
                                        if d.password_account != saved.password_account]
        self._unsaved = []
        if config is None or not drafts:
            return
        worker = Worker(lambda: [config.tokens.delete(d) for d in drafts])
        start_worker(worker)

