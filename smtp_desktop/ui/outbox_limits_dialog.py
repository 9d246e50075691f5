"""The outbox limits dialog (`outboxLimitsDialog`, issue 16): outbox.json's limits, one row each.

The rows are generated from `LIMITS`, the one table of the limits: a label, a spin box within the
table's bounds (sizes with a bytes/KiB/MiB/GiB unit box), the default, and what the server does
past the limit as the tooltip. outbox.json is read and written by workers (`load_limits`,
`save_limits`), never on the GUI thread; an invalid file is shown, not overwritten, until Save.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from smtp_desktop.outbox.limits import (
    LIMITS,
    GiB,
    KiB,
    Limit,
    MiB,
    OutboxLimits,
    consistency_problems,
    load_limits,
    save_limits,
    show_value,
)
from smtp_desktop.ui import tint
from smtp_desktop.ui.worker import Worker, start_worker

SIZE_UNITS: tuple[tuple[str, int], ...] = (("bytes", 1), ("KiB", KiB), ("MiB", MiB), ("GiB", GiB))
UNIT_DECIMALS = 2  # a size in KiB, MiB or GiB may have two decimals (1.5 MiB); bytes are whole
MAX_UNIT_DECIMALS = 9  # a few bytes in GiB
SECONDS_DECIMALS = 1
TAKES_EFFECT = (
    "When the limits take effect: the window's own outbox reads them at each test send; "
    "<code>outbox serve</code> reads them when it starts (its flags win), so restart a running one; "
    "the demo's outbox keeps the limits it started with.")
# Mnemonics the dialog's buttons use; the rows take the first free letter of their label.
BUTTON_MNEMONICS = frozenset("sd")


def object_name(limit: Limit) -> str:
    """The row's objectName: `outboxLimit` + the field in CamelCase (`outboxLimitIdleTimeout`)."""
    return "outboxLimit" + "".join(part.capitalize() for part in limit.name.split("_"))


def unit_object_name(limit: Limit) -> str:
    """The unit box beside a size's spin box (`outboxLimitMaxMessageSizeUnit`)."""
    return object_name(limit) + "Unit"


def label_text(limit: Limit) -> str:
    """The row's label in plain words, with the unit where the spin box does not show it."""
    words = limit.name.replace("_", " ")
    if words.startswith("max "):
        words = "maximum " + words[len("max "):]
    unit = {"seconds": " (seconds)", "size": ""}.get(limit.kind, "")
    return words[0].upper() + words[1:] + unit


def with_mnemonic(text: str, taken: set[str]) -> str:
    """`text` with `&` before the first letter not in `taken` (which then gains it)."""
    for index, char in enumerate(text):
        if char.isalpha() and char.lower() not in taken:
            taken.add(char.lower())
            return text[:index] + "&" + text[index:]
    return text


def size_unit_for(value: int) -> int:
    """The largest unit that shows `value` bytes as a whole number (33554432 -> MiB)."""
    return max(factor for _, factor in SIZE_UNITS if value % factor == 0)


class Number(QDoubleSpinBox):
    """A QDoubleSpinBox that shows whole values without decimals ("32 MiB", not "32.00 MiB")."""

    def textFromValue(self, value: float) -> str:
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text


class LimitField(QObject):
    """One limit's editor: a spin box (plus a unit box for sizes) holding an exact value.

    The value is kept as loaded (exactly, in bytes or seconds) until the person edits the spin
    box, so a change of unit or a display rounded to two decimals never alters what Save writes.
    """

    edited = Signal()

    def __init__(self, limit: Limit, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.limit = limit
        self._value: int | float = limit.default
        self._factor = 1
        self.spin: QSpinBox | QDoubleSpinBox
        self.unit: QComboBox | None = None
        if limit.kind == "count":
            self.spin = QSpinBox()
            self.spin.setRange(int(limit.minimum), int(limit.maximum))
        else:
            self.spin = Number()
            if limit.kind == "seconds":
                self.spin.setDecimals(SECONDS_DECIMALS)
                self.spin.setRange(limit.minimum, limit.maximum)
                self.spin.setSuffix(" s")
            else:
                self.unit = QComboBox()
                self.unit.setObjectName(unit_object_name(limit))
                for unit, factor in SIZE_UNITS:
                    self.unit.addItem(unit, factor)
                self.unit.currentIndexChanged.connect(self._on_unit_changed)
        self.spin.setObjectName(object_name(limit))
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        self.spin.setMinimumWidth(120)
        self.spin.valueChanged.connect(self._on_spin_value_changed)
        self.set_value(limit.default)

    def set_enabled(self, enabled: bool) -> None:
        """Enable or disable the spin box and its unit box."""
        self.spin.setEnabled(enabled)
        if self.unit is not None:
            self.unit.setEnabled(enabled)

    def value(self) -> int | float:
        """The limit as outbox.json holds it: whole bytes or counts, seconds."""
        return self._value

    def set_value(self, value: int | float) -> None:
        """Show `value` exactly (a size in the largest unit that keeps it whole)."""
        self._value = value
        if self.unit is not None:
            factor = size_unit_for(int(value))
            self.unit.blockSignals(True)
            self.unit.setCurrentIndex(self.unit.findData(factor))
            self.unit.blockSignals(False)
            self._show_in(factor)
        else:
            self.spin.blockSignals(True)
            self.spin.setValue(value)
            self.spin.blockSignals(False)

    def _show_in(self, factor: int) -> None:
        assert isinstance(self.spin, QDoubleSpinBox)
        self._factor = factor
        decimals = 0 if factor == 1 else UNIT_DECIMALS
        shown = self._value / factor
        # A small size in a large unit (1536 bytes in MiB) gets the decimals it needs to be read
        # within 0.5 %, rather than showing the spin box's minimum.
        while decimals < MAX_UNIT_DECIMALS and abs(round(shown, decimals) - shown) > shown / 200:
            decimals += 1
        step = 10**-decimals
        self.spin.blockSignals(True)
        self.spin.setDecimals(decimals)
        # The unit's bounds, rounded inwards so that every value shown is within the table's.
        self.spin.setRange(math.ceil(self.limit.minimum / factor / step) * step,
                           math.floor(self.limit.maximum / factor / step) * step)
        self.spin.setValue(self._value / factor)
        self.spin.blockSignals(False)

    def _on_unit_changed(self, index: int) -> None:
        assert self.unit is not None
        self._show_in(int(self.unit.itemData(index)))

    def _on_spin_value_changed(self, shown: float) -> None:
        if self.limit.kind == "seconds":
            self._value = float(shown)
        else:
            exact = round(shown * self._factor)
            self._value = int(min(max(exact, self.limit.minimum), self.limit.maximum))
        self.edited.emit()


class OutboxLimitsDialog(QDialog):
    """`outboxLimitsDialog`: edit outbox.json's limits; Save writes them all and emits `saved`."""

    saved = Signal(object)  # the OutboxLimits written

    def __init__(self, config_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outboxLimitsDialog")
        self.setWindowTitle("Outbox limits")
        self._config_dir = Path(config_dir)
        self._busy = True  # reading outbox.json; then while saving
        self._saving = False
        self._pending = OutboxLimits()  # what the running save writes
        self._load_problem = ""
        self._save_problem = ""
        self.fields: dict[str, LimitField] = {}

        intro = QLabel(f"What the local outbox accepts, kept in {self._config_dir / 'outbox.json'}. "
                       "Hover a field for what the server answers past it.")
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rows = QGridLayout()
        rows.setHorizontalSpacing(12)
        rows.setColumnStretch(1, 1)
        taken = set(BUTTON_MNEMONICS)
        for row, limit in enumerate(LIMITS):
            field = LimitField(limit, self)
            tooltip = (f"Past it: {limit.past_it}.\noutbox.json field {limit.name}, flag "
                       f"{limit.flag}; {limit.bounds}.")
            field.spin.setToolTip(tooltip)
            field.spin.setAccessibleName(label_text(limit))
            if field.unit is not None:
                field.unit.setToolTip(f"The unit of {label_text(limit).lower()}.")
                field.unit.setAccessibleName(f"{label_text(limit)} unit")
            field.edited.connect(self._on_field_edited)
            label = QLabel(with_mnemonic(label_text(limit), taken))
            label.setBuddy(field.spin)
            label.setToolTip(tooltip)
            default = QLabel(f"default {show_value(limit, limit.default)}")
            default.setEnabled(False)  # greyed: a hint, not a value
            rows.addWidget(label, row, 0)
            rows.addWidget(field.spin, row, 1)
            if field.unit is not None:
                rows.addWidget(field.unit, row, 2)
            rows.addWidget(default, row, 3)
            self.fields[limit.name] = field

        self._error = QLabel()
        self._error.setObjectName("outboxLimitsError")
        self._error.setWordWrap(True)
        self._error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._error.setTextFormat(Qt.TextFormat.PlainText)
        tint.track(self._error, tint.ERROR)
        self._error.hide()
        self._note = QLabel(TAKES_EFFECT)
        self._note.setObjectName("outboxLimitsNote")
        self._note.setWordWrap(True)

        buttons = QDialogButtonBox()
        self._save = buttons.addButton("&Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self._save.setObjectName("outboxLimitsSaveButton")
        self._cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setObjectName("outboxLimitsCancelButton")
        self._defaults = QPushButton("Restore &defaults")
        buttons.addButton(self._defaults, QDialogButtonBox.ButtonRole.ResetRole)
        self._defaults.setObjectName("outboxLimitsDefaultsButton")
        self._defaults.setToolTip("Put every field back to its default; nothing is written until Save.")
        for button in (self._save, self._cancel, self._defaults):
            button.setAutoDefault(False)
        self._save.setDefault(True)
        self._save.clicked.connect(self._on_save_clicked)
        self._cancel.clicked.connect(self.reject)
        self._defaults.clicked.connect(self._on_defaults_clicked)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addLayout(rows)
        layout.addSpacing(6)
        layout.addWidget(self._error)
        layout.addWidget(self._note)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self._update_state()
        config_dir = self._config_dir
        self._start(Worker(lambda: load_limits(config_dir)),
                    self._on_load_succeeded, self._on_load_errored)

    # ------------------------------------------------------------------ state

    def limits(self) -> OutboxLimits:
        """The limits the fields show (what Save would write)."""
        return OutboxLimits(**{name: field.value() for name, field in self.fields.items()})

    def is_busy(self) -> bool:
        """Whether outbox.json is still being read or written (the fields are disabled)."""
        return self._busy

    def show_limits(self, limits: OutboxLimits) -> None:
        """Put `limits` in the fields (nothing is written until Save)."""
        for name, field in self.fields.items():
            field.set_value(getattr(limits, name))
        self._update_state()

    def _problems(self) -> list[str]:
        problems = list(consistency_problems(self.limits()))
        if self._save_problem:
            problems.append(self._save_problem)
        if self._load_problem:
            problems.append(self._load_problem)
        return problems

    def _update_state(self) -> None:
        for field in self.fields.values():
            field.set_enabled(not self._busy)
        self._defaults.setEnabled(not self._busy)
        self._cancel.setEnabled(not self._saving)
        consistent = not consistency_problems(self.limits())
        self._save.setEnabled(not self._busy and consistent)
        self._save.setToolTip("" if consistent else "Fix the problem shown above first.")
        text = "\n\n".join(self._problems())
        self._error.setText(text)
        self._error.setVisible(bool(text))
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Grow (never shrink) when problems appear, rather than squeezing the rows."""
        hint = self.sizeHint()
        if self.width() < hint.width() or self.height() < hint.height():
            self.resize(max(self.width(), hint.width()), max(self.height(), hint.height()))

    @staticmethod
    def _start(worker: Worker, succeeded: Callable[[object], None],
               errored: Callable[[object], None]) -> None:
        worker.signals.succeeded.connect(succeeded)
        worker.signals.errored.connect(errored)
        start_worker(worker)

    # ------------------------------------------------------------------ slots

    def _on_load_succeeded(self, limits: OutboxLimits) -> None:
        self._busy = False
        self.show_limits(limits)

    def _on_load_errored(self, error: Exception) -> None:
        self._busy = False
        self._load_problem = (f"{error}\nThe fields show the defaults. The file is left as it is "
                              "unless you press Save, which replaces it with these values.")
        self.show_limits(OutboxLimits())

    def _on_field_edited(self) -> None:
        self._save_problem = ""
        self._update_state()

    def _on_defaults_clicked(self) -> None:
        self._save_problem = ""
        self.show_limits(OutboxLimits())

    def _on_save_clicked(self) -> None:
        limits = self.limits()  # gathered on the GUI thread; the worker never reads widgets
        if consistency_problems(limits):
            return
        self._busy = self._saving = True
        self._pending = limits
        self._save_problem = ""
        self._update_state()
        config_dir = self._config_dir
        self._start(Worker(lambda: save_limits(config_dir, limits)),
                    self._on_save_succeeded, self._on_save_errored)

    def _on_save_succeeded(self, _path: Path) -> None:
        limits = self._pending
        self._busy = self._saving = False
        self._load_problem = ""
        self._update_state()
        self.saved.emit(limits)
        self.accept()

    def _on_save_errored(self, error: Exception) -> None:
        self._busy = self._saving = False
        self._save_problem = f"Not saved: {error} Your values are still here; try again."
        self._update_state()

    def reject(self) -> None:
        """Cancel or Escape: close without writing (not while a save is under way)."""
        if self._saving:
            return
        super().reject()

