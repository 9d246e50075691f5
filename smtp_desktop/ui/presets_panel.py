"""Provider presets and the offer made from an address: `presetCombo`, `regionCombo`,
`presetInfoLabel`, `presetOfferLabel` and `presetOfferButton`.

The panel owns these widgets; the @own server panel places them in its form. Choosing a preset
(or accepting the offer) emits `chosen` with the preset and region; the presets' data loads
through `config.presets`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from smtp_desktop.config.errors import ConfigError
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.ui import tint
from smtp_desktop.ui.form_rows import keep_place, message_row

if TYPE_CHECKING:
    from smtp_desktop.config.presets import Preset

log = logging.getLogger(__name__)


class PresetsPanel(QObject):
    """The preset row, its info label and the offer row; `chosen(preset, region_id)`."""

    chosen = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.presets = load_presets()
        self.combo = QComboBox()
        self.combo.setObjectName("presetCombo")
        for preset in self.presets:
            self.combo.addItem(preset.name, preset.id)
        self.region_combo = QComboBox()
        self.region_combo.setObjectName("regionCombo")
        self.region_combo.setAccessibleName("Region")
        self.region_combo.setVisible(False)
        self.row = QWidget()
        layout = QHBoxLayout(self.row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 2)
        layout.addWidget(self.region_combo, 1)
        self.info = QLabel()
        self.info.setObjectName("presetInfoLabel")
        self.info.setWordWrap(True)
        self.info.setOpenExternalLinks(True)
        self.info.setVisible(False)
        self.offer_row, self.offer_label, self.offer_button = message_row(
            "presetOfferLabel", "presetOfferButton")
        keep_place(self.offer_row)  # an offer appearing under the username moves nothing
        self.offer_row.setVisible(False)
        self._offered: Preset | None = None
        self._username = ""

        self.combo.activated.connect(self._on_combo_activated)
        self.region_combo.activated.connect(self._on_region_combo_activated)
        self.offer_button.clicked.connect(self._on_offer_button_clicked)

    def current(self) -> Preset | None:
        preset_id = self.combo.currentData()
        return next((p for p in self.presets if p.id == preset_id), None)

    def current_region(self) -> str | None:
        preset = self.current()
        return self.region_combo.currentData() if preset and preset.regions else None

    def select(self, preset_id: str, region_id: str | None = None) -> None:
        """Choose a preset as a user would (emits `chosen`); KeyError for an unknown id."""
        index = self.combo.findData(preset_id)
        if index < 0:
            raise KeyError(preset_id)
        self.combo.setCurrentIndex(index)
        self._on_combo_activated(index, region_id)

    def _on_combo_activated(self, _index: int, region_id: str | None = None) -> None:
        preset = self.current()
        if preset is None:
            return
        self._fill_regions(preset)
        if region_id is not None:
            self.region_combo.setCurrentIndex(max(0, self.region_combo.findData(region_id)))
        self.show_info(preset)
        self.chosen.emit(preset, self.current_region())

    def _on_region_combo_activated(self, _index: int) -> None:
        preset = self.current()
        if preset is not None:
            self.chosen.emit(preset, self.current_region())

    def _fill_regions(self, preset: Preset) -> None:
        self.region_combo.clear()
        for region in preset.regions:
            self.region_combo.addItem(region.name, region.id)
        self.region_combo.setVisible(bool(preset.regions))

    def show_info(self, preset: Preset | None) -> None:
        if preset is None or preset.id == "custom":
            self.info.setVisible(False)
            return
        from html import escape

        parts = []
        if preset.notice:
            colours = tint.WARNING if preset.auth.value == "oauth2-only" else tint.NOTICE
            colour = tint.pick(colours, tint.is_dark(self.info.palette()))
            parts.append(f"<p style='color:{colour}'><b>{escape(preset.notice)}</b></p>")
        parts.append(f"<p><b>Username:</b> {escape(preset.username_hint)}</p>")
        parts.append(f"<p>{escape(preset.help)} <a href='{escape(preset.docs)}'>"
                     "Provider documentation</a></p>")
        self.info.setText("".join(parts))
        self.info.setVisible(True)

    def sync_to_host(self, host: str, port: int) -> None:
        """Show which preset the host and port match; Custom when none does."""
        host = host.strip().lower()
        match = preset_for_host(self.presets, host, port)
        current = self.current()
        if current is not None and match is not None and current.id == match[0].id:
            self.show_info(current)
            return
        preset = match[0] if match else next(
            (p for p in self.presets if p.id == "custom"), None)
        if preset is None:
            return
        self.combo.setCurrentIndex(self.combo.findData(preset.id))
        self._fill_regions(preset)
        if match and match[1] is not None:
            self.region_combo.setCurrentIndex(self.region_combo.findData(match[1]))
        self.show_info(preset if match else None)

    def update_offer(self, settings: SmtpSettings) -> None:
        """Offer the preset the username's domain points at, unless it is already in use."""
        from smtp_desktop.config.presets import detect_preset

        self._username = settings.username
        preset = detect_preset(settings.username) if "@" in settings.username else None
        current = self.current()
        show = (preset is not None and (current is None or current.id != preset.id)
                and settings.host.strip().lower() != preset.host)
        self._offered = preset if show else None
        if show and preset is not None:
            self.offer_label.setText(
                f"This looks like a {preset.name} address. Use its server settings?")
            self.offer_button.setText(f"Use {preset.name.split(' /')[0]} settings")
        self.offer_row.setVisible(show)

    def _on_offer_button_clicked(self) -> None:
        preset = self._offered
        if preset is None:
            return
        from smtp_desktop.config.presets import detect_region

        region = detect_region(self._username, preset)
        self.select(preset.id, region.id if region else None)


def load_presets() -> tuple[Preset, ...]:
    from smtp_desktop.config.presets import bundled_presets

    try:
        return bundled_presets()
    except ConfigError as exc:  # a broken data file must not keep the window from opening
        log.error("presets unavailable: %s", exc)
        return ()


def preset_for_host(presets: tuple[Preset, ...], host: str,
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
