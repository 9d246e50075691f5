"""The @own server fields: host, port, username, the password field, the keys table and their
error lines, with the presets row, the offer and the consistency row placed among them.

`QGroupBox` "Your SMTP server (@own)"; its sub-panels own their widgets and objectNames.
`edited` fires on any change a user (or a preset, or a fix) makes.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLineEdit, QSizePolicy, QSpinBox, QWidget

from smtp_desktop.config.errors import Problem
from smtp_desktop.config.model import DEFAULT_PORT, SmtpSettings
from smtp_desktop.ui.consistency_panel import ConsistencyPanel
from smtp_desktop.ui.form_rows import FieldError, add_row
from smtp_desktop.ui.keys_editor import KeysEditor
from smtp_desktop.ui.oauth_panel import OAuthPanel
from smtp_desktop.ui.password_panel import PasswordPanel
from smtp_desktop.ui.presets_panel import PresetsPanel

FIELD_MIN_WIDTH = 200  # at 1024x768 every line edit stays at least this wide


class OwnServerPanel(QGroupBox):
    """The @own form; `fields()` reads it, `apply()` fills it, `show_problems()` marks it."""

    edited = Signal()
    message = Signal(str)  # a line for the status bar (a preset filled in, keys pasted)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Your SMTP server (@own)", parent)
        self.setObjectName("ownServerBox")
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)

        self.presets = PresetsPanel(self)
        add_row(form, "Pro&vider:", self.presets.row, self.presets.info, "Provider preset",
                buddy=self.presets.combo)

        self.host_edit = QLineEdit()
        self.host_edit.setObjectName("hostEdit")
        self.host_edit.setPlaceholderText("smtp.gmail.com")
        self.host_edit.setMinimumWidth(FIELD_MIN_WIDTH)
        self.host_error = FieldError("hostError", self.host_edit)
        add_row(form, "Hos&t:", self.host_edit, self.host_error, "SMTP server host")

        self.port_spin = QSpinBox()
        self.port_spin.setObjectName("portSpin")
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(DEFAULT_PORT)
        self.port_spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.port_error = FieldError("portError", self.port_spin)
        add_row(form, "&Port:", self.port_spin, self.port_error, "SMTP server port")

        self.username_edit = QLineEdit()
        self.username_edit.setObjectName("usernameEdit")
        self.username_edit.setPlaceholderText("me@gmail.com")
        self.username_edit.setMinimumWidth(FIELD_MIN_WIDTH)
        self.username_error = FieldError("usernameError", self.username_edit)
        add_row(form, "&Username:", self.username_edit, self.username_error, "Username")
        form.addRow(self.presets.offer_row)

        self.oauth = OAuthPanel(self)
        self.oauth.setVisible(False)  # its widgets live in this form's rows
        self.oauth.add_rows(form)

        self.password = PasswordPanel(self)
        add_row(form, "Pass&word:", self.password.row, self.password.notes,
                "Password or app password", buddy=self.password.edit)

        self.keys_editor = KeysEditor()
        self.keys_model = self.keys_editor.model
        self.keys_table = self.keys_editor.table
        self.keys_table.setAccessibleName("Additional keys")
        self.keys_table.setMaximumHeight(170)
        self.keys_error = FieldError("keysError", self.keys_table)
        add_row(form, "&Keys:", self.keys_editor, self.keys_error, "Additional keys",
                buddy=self.keys_table)

        self.consistency = ConsistencyPanel(self)
        form.addRow(self.consistency.row)
        self.errors = {"host": self.host_error, "port": self.port_error,
                       "username": self.username_error, "keys": self.keys_error,
                       **self.oauth.errors}

        for signal in (self.host_edit.textChanged, self.port_spin.valueChanged,
                       self.username_edit.textChanged, self.keys_model.edited,
                       self.keys_model.modelReset):
            signal.connect(self.edited)
        self.host_edit.textEdited.connect(self._sync_preset_to_host)
        self.port_spin.valueChanged.connect(self._sync_preset_to_host)
        self.keys_editor.message.connect(self.message)
        self.oauth.edited.connect(self._on_oauth_edited)
        self.oauth.message.connect(self.message)
        self.presets.chosen.connect(self._on_presets_chosen)
        self.consistency.fixed.connect(self._on_consistency_fixed)

    def fields(self, base: SmtpSettings) -> SmtpSettings:
        """`base` with the host, port, username and keys this panel shows."""
        from dataclasses import replace

        return self.oauth.fields(replace(
            base, host=self.host_edit.text(), port=self.port_spin.value(),
            username=self.username_edit.text(), keys=self.keys_model.keys()))

    def apply(self, settings: SmtpSettings) -> None:
        """Show `settings` (whose port is in range) and a fresh, untouched form."""
        self.host_edit.setText(settings.host)
        self.port_spin.setValue(settings.port)
        self.username_edit.setText(settings.username)
        self.password.clear()
        self.keys_model.set_keys(settings.keys)
        self.oauth.apply(settings)
        self._show_login_method()
        self._sync_preset_to_host()
        for label in self.errors.values():
            label.conceal()

    def show_problems(self, problems: list[Problem]) -> None:
        by_field: dict[str, str] = {}
        for problem in problems:
            by_field.setdefault(problem.field, str(problem) if problem.row is not None
                                else problem.message)
        for field, label in self.errors.items():
            label.setText(by_field.get(field, ""))

    def reveal_problems(self) -> None:
        """Show every field's message now (Save, a test, a saved file with problems)."""
        for label in self.errors.values():
            label.reveal()

    def _sync_preset_to_host(self) -> None:
        self.presets.sync_to_host(self.host_edit.text(), self.port_spin.value())

    def _on_presets_chosen(self, preset: object, region: str | None) -> None:
        from smtp_desktop.config.presets import apply_preset

        settings = apply_preset(self.fields(SmtpSettings()), preset, region)  # type: ignore[arg-type]
        self.host_edit.setText(settings.host)
        self.port_spin.setValue(settings.port)
        self.keys_model.set_keys(settings.keys)
        self.oauth.apply(settings)
        self._show_login_method()
        self.presets.show_info(preset)  # type: ignore[arg-type]
        self.message.emit(f"Filled in the {preset.name} settings.")  # type: ignore[attr-defined]
        self.edited.emit()

    def _on_oauth_edited(self) -> None:
        self._show_login_method()
        self.edited.emit()

    def _show_login_method(self) -> None:
        """With OAuth2 there is no password to type: its row is disabled (still shown)."""
        from smtp_desktop.config.model import AuthMethod

        self.password.row.setEnabled(self.oauth.method is AuthMethod.PASSWORD)

    def _on_consistency_fixed(self, settings: SmtpSettings, label: str) -> None:
        self.keys_model.set_keys(settings.keys)
        self.message.emit(f"Fixed: {label}.")
        self.edited.emit()
