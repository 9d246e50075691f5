"""The notices above the form: a load notice (a file set aside, a newer version, the demo
banner) and warnings about the environment. One more warning is one more `add_warning` line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from smtp_desktop.config.model import Service
from smtp_desktop.ui import tint

if TYPE_CHECKING:
    from smtp_desktop.config.model import SmtpSettings
    from smtp_desktop.config.service import DefaultServiceStatus

# (light, dark) styles of the notice box; a style sheet is set only once a notice shows, since
# each one costs start-up time (see ui.tint).
NOTICE_STYLES = (
    "background: #fff4e5; color: #5f3b00; border: 1px solid #f0b44c; padding: 6px;",
    "background: #3a2c10; color: #ffe2ad; border: 1px solid #a87b1f; padding: 6px;",
)


class NoticesPanel(QWidget):
    """`loadNotice`, `environmentWarning` and `unencryptedLoginWarning` (and whatever comes next)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.load_notice = QLabel()
        self.load_notice.setObjectName("loadNotice")
        self.load_notice.setWordWrap(True)
        self.load_notice.setVisible(False)
        self._layout.addWidget(self.load_notice)
        # A known-bad Qt binding for this Python, found after the first paint (environment.py).
        self.environment_warning = self.add_warning("environmentWarning")
        # While smtp-desktop.allow-unencrypted-login is true (config/policy.py).
        self.unencrypted_login_warning = self.add_warning("unencryptedLoginWarning", tint.DANGER)
        self.unencrypted_login_warning.setText(
            "⚠ smtp-desktop.allow-unencrypted-login is true: the password may be sent "
            "unencrypted to a server that is not on this computer.")

    def add_warning(self, name: str, colours: tint.Tint = tint.ERROR) -> QLabel:
        """A red, bold, word-wrapped label named `name`, hidden until it has something to say."""
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        tint.track(label, colours, bold=True)
        label.setVisible(False)
        self._layout.addWidget(label)
        return label

    def show_notice(self, text: str) -> None:
        self._style_notice()
        self.load_notice.setText(text)
        self.load_notice.setVisible(True)

    def hide_notice(self) -> None:
        self.load_notice.setVisible(False)

    def _style_notice(self) -> None:
        self.load_notice.setStyleSheet(NOTICE_STYLES[tint.is_dark(self.palette())])

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and self.load_notice.styleSheet():
            self._style_notice()
        super().changeEvent(event)

    def render_unencrypted_login(self, draft: SmtpSettings,
                                 default_service: DefaultServiceStatus | None) -> None:
        """Show `unencryptedLoginWarning` while the settings in use (the draft's own server,
        or the provisioned default service) allow a login over an unencrypted connection."""
        from smtp_desktop.config.policy import connection_policy

        used = None
        if draft.enabled and draft.service is Service.OWN:
            used = draft
        elif draft.enabled and default_service is not None and default_service.service:
            used = default_service.service.as_settings()
        self.unencrypted_login_warning.setVisible(
            used is not None and connection_policy(used).allow_unencrypted_login)
