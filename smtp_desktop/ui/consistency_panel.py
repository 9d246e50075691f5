"""Consistency and summary: `consistencyWarning` with its one-click `consistencyFixButton`, and
`securitySummaryLabel`, the one line on how the configuration connects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.ui import tint
from smtp_desktop.ui.form_rows import keep_place, message_row

if TYPE_CHECKING:
    from smtp_desktop.config.consistency import Finding
    from smtp_desktop.config.edit_session import PasswordState
    from smtp_desktop.config.service import DefaultServiceStatus


class ConsistencyPanel(QObject):
    """The warning row (`row`, placed in the @own form) and the summary label (`summary`).

    `fixed(settings, label)` carries the settings with the first finding's fix applied.
    """

    fixed = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.row, self.warning, self.fix_button = message_row(
            "consistencyWarning", "consistencyFixButton")
        keep_place(self.row)  # a warning appearing moves nothing below it
        self.row.setVisible(False)
        self.summary = QLabel()
        self.summary.setObjectName("securitySummaryLabel")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Security summary")
        self._finding: Finding | None = None
        self._settings = SmtpSettings()
        self.fix_button.clicked.connect(self._on_fix_button_clicked)

    def render(self, settings: SmtpSettings, password: PasswordState, typed: bool,
               default_service: DefaultServiceStatus | None) -> None:
        from smtp_desktop.config.consistency import check_consistency, security_summary

        self._settings = settings
        active = settings.enabled and settings.service is Service.OWN
        findings = check_consistency(settings) if active else []
        self._finding = findings[0] if findings else None
        self.row.setVisible(self._finding is not None)
        if self._finding is not None:
            danger = self._finding.severity.value == "danger"
            tint.track(self.warning, tint.DANGER if danger else tint.CAUTION, bold=danger)
            more = f" ({len(findings) - 1} more after this)" if len(findings) > 1 else ""
            self.warning.setText(("⚠ " if danger else "") + self._finding.message + more)
            self.fix_button.setText(self._finding.fix_label)

        if not settings.enabled:
            text = ""  # the off note says it, once
        elif settings.service is Service.TESTSIGMA:
            status = default_service
            text = (security_summary(status.service.as_settings(), True) + " (default service)"
                    if status is not None and status.service is not None
                    else "Mail goes out through the default email service.")
        elif not settings.host:
            text = ""
        elif typed:
            text = security_summary(settings, True, "the field (not saved yet)")
        else:
            text = security_summary(settings, bool(password.stored), password.keyring)
        self.summary.setText(text)
        self.summary.setVisible(bool(text))

    def _on_fix_button_clicked(self) -> None:
        finding = self._finding
        if finding is not None:
            self.fixed.emit(finding.fix(self._settings), finding.fix_label)
