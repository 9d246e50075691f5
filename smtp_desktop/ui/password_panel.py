"""The password field: `passwordEdit` with Show password, Forget stored password, and the notes
under it (`passwordNote`, `keyringWarning`). It never reads the keyring: the window hands it
the session's `PasswordState`, and asks before forgetting."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QToolButton, QVBoxLayout, QWidget

from smtp_desktop.config.edit_session import PasswordState
from smtp_desktop.config.model import normalize_password
from smtp_desktop.config.secrets import install_advice
from smtp_desktop.ui import tint
from smtp_desktop.ui.form_rows import keep_place

APP_PASSWORD_NOTE = ("Removed the spaces Google shows in app passwords: they are not part of "
                     "the password.")
NEVER_SHOWN_NOTE = ("The stored password is never shown again, not even here. Type a new one "
                    "to replace it.")


class PasswordPanel(QWidget):
    """The field row (`row`) and its notes (`notes`), placed by the @own server panel.

    `forget_requested` fires when the user confirmed Forget stored password.
    """

    forget_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setObjectName("passwordEdit")
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setMinimumWidth(200)
        self.show_action = QAction("Show password", self.edit)
        self.show_action.setObjectName("showPasswordAction")
        self.show_action.setCheckable(True)
        self.show_action.setIcon(QIcon.fromTheme("view-reveal-symbolic"))
        self.edit.addAction(self.show_action, QLineEdit.ActionPosition.TrailingPosition)
        self.show_button = QToolButton()
        self.show_button.setObjectName("showPasswordButton")
        self.show_button.setDefaultAction(self.show_action)
        self.show_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.forget_button = QPushButton("For&get stored password…")
        self.forget_button.setObjectName("forgetPasswordButton")
        self.row = QWidget()
        row_layout = QHBoxLayout(self.row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.edit, 1)
        row_layout.addWidget(self.show_button)

        self.keyring_warning = QLabel(
            f"No secure keyring was found, so passwords cannot be stored. {install_advice()}")
        self.keyring_warning.setObjectName("keyringWarning")
        self.keyring_warning.setWordWrap(True)
        tint.track(self.keyring_warning, tint.WARNING)
        self.keyring_warning.setVisible(False)
        self.note = QLabel()
        self.note.setObjectName("passwordNote")
        self.note.setWordWrap(True)
        keep_place(self.note)
        self.note.setVisible(False)
        self.notes = QWidget()
        notes_layout = QVBoxLayout(self.notes)
        notes_layout.setContentsMargins(0, 0, 0, 0)
        forget_row = QHBoxLayout()
        forget_row.addWidget(self.note, 1)
        # Forget sits apart from Show password: a slip of the mouse must not delete a password
        # that Google showed only once.
        forget_row.addWidget(self.forget_button, 0, Qt.AlignmentFlag.AlignTop)
        notes_layout.addLayout(forget_row)
        notes_layout.addWidget(self.keyring_warning)

        self.stored = False
        self._account = ""
        self.edit.textEdited.connect(self._on_edit_text_edited)
        self.show_action.toggled.connect(self._on_show_action_toggled)
        self.forget_button.clicked.connect(self._on_forget_button_clicked)

    @property
    def text(self) -> str:
        return self.edit.text()

    def clear(self) -> None:
        self.edit.clear()
        self.note.setVisible(False)

    def show_checking(self) -> None:
        self.edit.setPlaceholderText("Checking the keyring…")

    def show_state(self, state: PasswordState, account: str) -> None:
        """Say whether a password is stored for `account` (the saved one) and where."""
        self._account = account
        secure = bool(state.secure)
        self.keyring_warning.setVisible(not secure)
        self.stored = secure and bool(state.stored)
        self.forget_button.setEnabled(self.stored)
        if not secure:
            placeholder = "No secure keyring (see below)"
            tip = (f"No secure keyring is available. {install_advice()} You can still type a "
                   "password to test with; it is not stored.")
        else:
            if state.stored is None:
                placeholder = "The keyring could not be read"
            elif state.stored:
                placeholder = "Stored in the keyring"
            elif account:
                placeholder = "Not stored yet: type it"
            else:
                placeholder = "Stored in the keyring on Save"
            if state.stored is None:
                tip = f"{state.problem} Unlock the keyring, then reopen the window."
            else:
                keep = " Leave the field empty to keep it." if state.stored else ""
                tip = (f"{placeholder}.{keep} The password is kept in {state.keyring}, never in "
                       "the settings file.")
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(tip)

    def _on_edit_text_edited(self, text: str) -> None:
        normalized = normalize_password(text)
        if normalized.regrouped:
            self.edit.setText(normalized.value)
            self._show_note(APP_PASSWORD_NOTE)
        elif self.note.text() == NEVER_SHOWN_NOTE:
            self.note.setVisible(False)

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(True)

    def _on_show_action_toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_action.setText("Hide password" if shown else "Show password")
        if shown and self.stored and not self.edit.text():
            self._show_note(NEVER_SHOWN_NOTE)
        elif not shown and self.note.text() == NEVER_SHOWN_NOTE:
            self.note.setVisible(False)

    def _on_forget_button_clicked(self) -> None:
        from PySide6.QtWidgets import QMessageBox  # dialogs are not on the start-up path

        answer = QMessageBox.question(
            self, "Forget the stored password?",
            f"Delete the password stored for {self._account or 'this account'} from the "
            "keyring?\n\nIt cannot be shown again: for Gmail you would create a new app "
            "password.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.forget_requested.emit()
