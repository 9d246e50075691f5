"""`outboxFaultCombo`: how the window's own outbox answers, for rehearsing provider failures.

The first entry is "Answer normally"; the others are the fault profiles of
`resources/faults.json` (read in a worker when the Outbox tab is first shown). Choosing one emits
`rules_changed` with the rules that the window then gives to its outbox: the embedded one that
Send test email starts for the default service, and the demo's. A rehearsal is never saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from smtp_desktop.ui.tint import CAUTION, track

if TYPE_CHECKING:
    from smtp_desktop.outbox.faults import FaultProfile, FaultRule

NORMAL = "Answer normally (accept every message)"
# What a profile without a reply does, by its action (see faults.Action).
_WITHOUT_REPLY = {"hang": "(silence)", "drop": "(connection closed)"}
REPLY_SHOWN = 60  # characters of a profile's reply in the list; the tooltip has all of it


class FaultSelector(QWidget):
    """A label and `outboxFaultCombo`; `rules` are the fault rules chosen (empty: none)."""

    rules_changed = Signal(object)  # tuple[FaultRule, ...]
    catalogue_loaded = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setObjectName("outboxFaultCombo")
        self.combo.setAccessibleName("How the local outbox answers")
        self.combo.addItem(NORMAL, None)
        self.combo.setEnabled(False)  # until the catalogue is read
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(24)
        self.combo.setToolTip(
            "Rehearse a provider's failure: the local outbox (the default service's, and the "
            "demo's) answers Send test email the way that provider does. Not saved.")
        label = QLabel("Answer as:")
        label.setBuddy(self.combo)
        self.active_note = QLabel()
        self.active_note.setObjectName("outboxFaultNote")
        self.active_note.setWordWrap(True)
        track(self.active_note, CAUTION)
        self.active_note.hide()
        self._profiles: dict[str, FaultProfile] = {}
        self.loaded = False  # the catalogue is shown, or being read
        self._read_again = False  # asked for while a read that then failed was under way
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label)
        row.addWidget(self.combo, 1)
        self._row = row
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.active_note)
        self.combo.currentIndexChanged.connect(self._on_combo_current_index_changed)

    def add_to_row(self, widget: QWidget) -> None:
        """Place `widget` at the end of the selector's row (the Limits button)."""
        self._row.addWidget(widget)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        profile_id = self.combo.currentData()
        if profile_id is None:
            return ()
        from smtp_desktop.outbox.faults import parse_rule

        return (parse_rule(profile_id, self._profiles),)  # trigger: always

    def load(self) -> None:
        """Read the catalogue in a worker (once); the combo is enabled when it is shown."""
        if self.loaded:
            self._read_again = self.combo.count() == 1  # a read is under way: it may fail
            return
        self.loaded = True
        from smtp_desktop.ui.worker import Worker, start_worker

        def read() -> dict[str, FaultProfile]:
            from smtp_desktop.outbox.faults import load_catalogue

            return load_catalogue()

        worker = Worker(read)
        worker.signals.succeeded.connect(self._on_catalogue_worker_succeeded)
        worker.signals.errored.connect(self._on_catalogue_worker_errored)
        start_worker(worker)

    def select(self, profile_id: str | None) -> None:
        """Choose a profile by id (None: answer normally), as a click in the combo would."""
        index = self.combo.findData(profile_id) if profile_id is not None else 0
        if index < 0:
            raise KeyError(profile_id)
        self.combo.setCurrentIndex(index)

    def _on_catalogue_worker_succeeded(self, catalogue: dict[str, FaultProfile]) -> None:
        self.active_note.hide()
        self._profiles = dict(catalogue)
        for profile in catalogue.values():
            reply = profile.reply[0] if profile.reply else _WITHOUT_REPLY.get(
                profile.action.value, "(no reply)")
            if len(reply) > REPLY_SHOWN:
                reply = reply[:REPLY_SHOWN] + "…"
            self.combo.addItem(f"{profile.id}: {profile.stage.value.upper()} {reply}", profile.id)
            self.combo.setItemData(self.combo.count() - 1, _tooltip(profile),
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.setEnabled(True)
        self.catalogue_loaded.emit()

    def _on_catalogue_worker_errored(self, exc: Exception) -> None:
        self.loaded = False  # read again when the Outbox tab is next refreshed
        if self._read_again:
            self._read_again = False
            self.load()
        self.active_note.setText(f"The fault profiles could not be read, so the outbox can only "
                                 f"answer normally: {exc}")
        self.active_note.show()
        self.catalogue_loaded.emit()

    def _on_combo_current_index_changed(self, _index: int) -> None:
        profile_id = self.combo.currentData()
        if profile_id is None:
            self.active_note.hide()
        else:
            profile = self._profiles[profile_id]
            self.active_note.setText(
                f"Rehearsal: the local outbox answers every Send test email as "
                f"“{profile.id}” ({profile.provider}); a send through it ends in "
                f"“{profile.category}”. Choose “Answer normally” to stop.")
            self.active_note.show()
        self.rules_changed.emit(self.rules)


def _tooltip(profile: FaultProfile) -> str:
    reply = "\n".join(profile.reply) or "(no reply: the outbox stays silent or closes)"
    lines = [f"{profile.provider}, at {profile.stage.value.upper()}: {profile.action.value}",
             reply, f"Send test email ends in: {profile.category}"]
    if profile.note:
        lines.append(profile.note)
    if profile.source:
        lines.append(f"Source: {profile.source} (confirmed {profile.confirmed})")
    return "\n".join(lines)

