"""The service choice: the SMTP Configuration toggle, Testsigma or @own, and the default service."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.config.model import Service
from smtp_desktop.config.service import DefaultServiceStatus
from smtp_desktop.ui import tint
from smtp_desktop.ui.form_rows import keep_place

OFF_NOTE = "SMTP is off: no emails will be sent. You will stop getting emails."


class ServicePanel(QWidget):
    """`smtpEnabledToggle`, `smtpOffNote`, `serviceTestsigmaRadio`, `serviceOwnRadio` and
    `defaultServiceLabel`; `changed` fires when the toggle or the service changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.enabled_toggle = QCheckBox("SMTP Configuration")
        self.enabled_toggle.setObjectName("smtpEnabledToggle")
        self.enabled_toggle.setAccessibleName("SMTP Configuration enabled")
        toggle_font = self.enabled_toggle.font()
        toggle_font.setBold(True)
        self.enabled_toggle.setFont(toggle_font)
        self.off_note = QLabel(OFF_NOTE)
        self.off_note.setObjectName("smtpOffNote")
        self.off_note.setWordWrap(True)
        tint.track(self.off_note, tint.WARNING)
        keep_place(self.off_note)  # turning SMTP on or off never moves the form below
        # The note sits beside the toggle it explains; the toggle keeps its own width, so a
        # click beside its text does not count as a click on it.
        toggle_row = QHBoxLayout()
        toggle_row.addWidget(self.enabled_toggle, 0, Qt.AlignmentFlag.AlignTop)
        toggle_row.addWidget(self.off_note, 1)
        column.addLayout(toggle_row)

        box = QGroupBox("Email service")
        box_layout = QVBoxLayout(box)
        self.testsigma_radio = QRadioButton("Testsigma")
        self.testsigma_radio.setObjectName("serviceTestsigmaRadio")
        self.testsigma_radio.setToolTip("Mail goes out through the default email service, "
                                        "with the default sender.")
        self.own_radio = QRadioButton("@own")
        self.own_radio.setObjectName("serviceOwnRadio")
        self.own_radio.setToolTip("Mail goes out through your own SMTP server.")
        self._group = QButtonGroup(self)
        self._group.addButton(self.testsigma_radio)
        self._group.addButton(self.own_radio)
        radios = QHBoxLayout()
        radios.addWidget(self.testsigma_radio)
        radios.addWidget(self.own_radio)
        radios.addStretch(1)
        box_layout.addLayout(radios)
        self.default_service_label = QLabel()
        self.default_service_label.setObjectName("defaultServiceLabel")
        self.default_service_label.setWordWrap(True)
        self.default_service_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        box_layout.addWidget(self.default_service_label)
        column.addWidget(box)

        self.enabled_toggle.toggled.connect(self.changed)
        self.own_radio.toggled.connect(self.changed)

    @property
    def enabled(self) -> bool:
        return self.enabled_toggle.isChecked()

    @property
    def service(self) -> Service:
        return Service.OWN if self.own_radio.isChecked() else Service.TESTSIGMA

    def apply(self, enabled: bool, service: Service) -> None:
        self.enabled_toggle.setChecked(enabled)
        (self.own_radio if service is Service.OWN else self.testsigma_radio).setChecked(True)

    def show_default_service(self, status: DefaultServiceStatus) -> None:
        if status.service is not None:
            service = status.service
            text = f"Default service: {service.host}:{service.port}, sender {service.sender}."
        elif status.problem:
            text = f"Default service unusable: {status.problem}"
        else:
            text = ("Default service: local outbox (nothing leaves this computer). No default "
                    "email service is provisioned here; test emails land in the Outbox tab.")
        self.default_service_label.setText(text)

    def render(self) -> None:
        """Enable what the toggle and the service allow; the off state is said once, here."""
        enabled, own = self.enabled, self.service is Service.OWN
        self.off_note.setVisible(not enabled)
        for radio in (self.testsigma_radio, self.own_radio):
            radio.setEnabled(enabled)
        self.default_service_label.setEnabled(enabled)
        self.default_service_label.setVisible(not own)
