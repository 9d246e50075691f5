"""The outbox limits dialog (issue 16): outbox.json's limits, read and written by workers."""

from __future__ import annotations

import argparse
import json
import queue
import smtplib
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLabel, QPushButton, QWidget

from smtp_desktop.cli import outbox as cli_outbox
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.outbox.limits import (
    CONFIG_FILE,
    LIMITS,
    MiB,
    OutboxLimits,
    limits_to_document,
    load_limits,
    save_limits,
)
from smtp_desktop.ui import outbox_limits_dialog
from smtp_desktop.ui.contract import DIALOG_OBJECT_NAMES
from smtp_desktop.ui.outbox_limits_dialog import OutboxLimitsDialog, object_name

WAIT = 30_000  # ms


@pytest.fixture
def config_dir(tmp_path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def open_dialog(qtbot):
    def open_(config_dir: Path, *, wait: bool = True) -> OutboxLimitsDialog:
        dialog = OutboxLimitsDialog(config_dir)
        qtbot.addWidget(dialog)
        dialog.show()
        if wait:
            qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT)
        return dialog
    return open_


def spin(dialog: QWidget, name: str) -> QAbstractSpinBox:
    return dialog.findChild(QAbstractSpinBox, object_name(next(x for x in LIMITS if x.name == name)))


def button(dialog: QWidget, name: str) -> QPushButton:
    found = dialog.findChild(QPushButton, name)
    assert found is not None, name
    return found


def error_text(dialog: QWidget) -> str:
    return dialog.findChild(QLabel, "outboxLimitsError").text()


def all_rows_at_full_height(dialog: QWidget) -> None:
    for limit in LIMITS:
        field = spin(dialog, limit.name)
        assert field.height() >= field.sizeHint().height(), limit.name


def write(config_dir: Path, text: str) -> bytes:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / CONFIG_FILE).write_text(text, encoding="utf-8")
    return (config_dir / CONFIG_FILE).read_bytes()


def save(qtbot, dialog: OutboxLimitsDialog) -> OutboxLimits:
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        button(dialog, "outboxLimitsSaveButton").click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    return saved.args[0]


# ---------------------------------------------------------------- the rows and the contract


def test_one_row_per_limit_named_from_the_table_as_the_contract_lists(open_dialog, config_dir):
    dialog = open_dialog(config_dir)
    names = {widget.objectName() for widget in dialog.findChildren(QWidget)
             if widget.objectName().startswith("outboxLimit")} | {dialog.objectName()}
    assert names == set(DIALOG_OBJECT_NAMES)
    assert spin(dialog, "idle_timeout").objectName() == "outboxLimitIdleTimeout"
    assert spin(dialog, "max_message_size").objectName() == "outboxLimitMaxMessageSize"
    labels = {label.buddy(): label for label in dialog.findChildren(QLabel) if label.buddy()}
    mnemonics = []
    for limit in LIMITS:
        field = spin(dialog, limit.name)
        assert field.maximum() > field.minimum()
        assert limit.past_it in field.toolTip()
        assert field in labels, f"{limit.name} has no label"
        assert "&" in labels[field].text()
        mnemonics.append(labels[field].text().split("&")[1][0].lower())
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert "default 32 MiB" in texts and "default 300 s" in texts and "default 1000" in texts
    assert "Idle timeout (seconds)" in [t.replace("&", "") for t in texts]
    assert len(set(mnemonics)) == len(mnemonics) and not set(mnemonics) & {"s", "d"}


def test_the_bounds_are_the_tables(open_dialog, config_dir):
    dialog = open_dialog(config_dir)
    recipients = spin(dialog, "max_recipients")
    recipients.setValue(0)
    assert recipients.value() == 1
    recipients.setValue(10**9)
    assert dialog.limits().max_recipients == 1_000_000
    idle = spin(dialog, "idle_timeout")
    idle.setValue(0.2)
    assert dialog.limits().idle_timeout == 1.0


def test_it_fits_a_1024_by_768_screen_and_says_when_limits_take_effect(open_dialog, config_dir):
    # The worst case: every field of the file is wrong, and one is unknown.
    write(config_dir, json.dumps({"version": 1, "max_conections": 1,
                                  **{limit.name: -1 for limit in LIMITS}}))
    dialog = open_dialog(config_dir)
    assert all(limit.name in error_text(dialog) for limit in LIMITS)
    hint = dialog.sizeHint()
    assert hint.width() <= 1000 and hint.height() <= 700, hint
    note = dialog.findChild(QLabel, "outboxLimitsNote").text()
    assert "each test send" in note and "outbox serve" in note and "flags win" in note
    assert "demo" in note


# ---------------------------------------------------------------- reading outbox.json


def test_a_missing_file_shows_the_defaults_once_the_worker_read_it(qtbot, open_dialog, config_dir):
    dialog = open_dialog(config_dir, wait=False)
    # Nothing is read on the GUI thread: until the worker's answer arrives the fields are off.
    assert dialog.is_busy()
    assert not spin(dialog, "max_recipients").isEnabled()
    assert not button(dialog, "outboxLimitsSaveButton").isEnabled()
    qtbot.waitUntil(lambda: spin(dialog, "max_recipients").isEnabled(), timeout=WAIT)
    assert all(spin(dialog, limit.name).isEnabled() for limit in LIMITS)
    assert dialog.limits() == OutboxLimits()
    assert spin(dialog, "max_message_size").value() == 32
    assert error_text(dialog) == ""
    assert button(dialog, "outboxLimitsSaveButton").isEnabled()
    assert not (config_dir / CONFIG_FILE).exists()


def test_an_existing_file_shows_its_exact_values(qtbot, open_dialog, config_dir):
    limits = OutboxLimits(max_message_size=MiB + MiB // 2, max_line_length=1000, max_recipients=7,
                          idle_timeout=300.25, max_bytes=3 * 1024**4 // 4)
    save_limits(config_dir, limits)
    dialog = open_dialog(config_dir)
    assert dialog.limits() == limits
    assert spin(dialog, "max_recipients").value() == 7
    size_unit = dialog.findChild(QComboBox, "outboxLimitMaxMessageSizeUnit")
    assert (spin(dialog, "max_message_size").value(), size_unit.currentText()) == (1536, "KiB")
    line_unit = dialog.findChild(QComboBox, "outboxLimitMaxLineLengthUnit")
    assert (spin(dialog, "max_line_length").value(), line_unit.currentText()) == (1000, "bytes")
    # Saved untouched, values the spin boxes round for display are written exactly as read.
    assert save(qtbot, dialog) == limits
    assert load_limits(config_dir) == limits


@pytest.mark.parametrize(("text", "expected"), [
    ("{not json", ["is not valid JSON"]),
    (json.dumps({"version": 1, "max_conections": 5, "max_recipients": 0, "idle_timeout": "x"}),
     ["unknown field 'max_conections'", "max_recipients must be between 1 and",
      "idle_timeout must be a number"]),
    (json.dumps({"version": 2}), ["written by a newer smtp-desktop"]),
    (json.dumps({"version": 1, "max_bytes": MiB}), ["must not exceed max_bytes"]),
], ids=["bad-json", "several-problems", "future-version", "inconsistent"])
def test_an_invalid_file_shows_every_problem_and_the_defaults_and_is_kept(
        qtbot, open_dialog, config_dir, text, expected):
    before = write(config_dir, text)
    dialog = open_dialog(config_dir)
    shown = error_text(dialog)
    assert all(problem in shown for problem in expected), shown
    assert "defaults" in shown
    assert dialog.findChild(QLabel, "outboxLimitsError").isVisible()
    # The dialog grew for the problems rather than squeezing the rows.
    qtbot.waitUntil(lambda: all_rows_at_full_height(dialog))
    assert dialog.limits() == OutboxLimits()
    spin(dialog, "max_recipients").setValue(9)  # editing alone writes nothing
    assert (config_dir / CONFIG_FILE).read_bytes() == before
    # Save replaces the file with a valid one.
    assert save(qtbot, dialog).max_recipients == 9
    assert load_limits(config_dir) == OutboxLimits(max_recipients=9)


def test_the_gui_thread_answers_while_the_file_is_read(qtbot, open_dialog, config_dir,
                                                       monkeypatch):
    release = threading.Event()
    reading = threading.Event()

    def slow_load(folder: Path) -> OutboxLimits:
        reading.set()
        assert release.wait(WAIT / 1000)
        return OutboxLimits(max_recipients=3)

    monkeypatch.setattr(outbox_limits_dialog, "load_limits", slow_load)
    try:
        dialog = open_dialog(config_dir, wait=False)
        qtbot.waitUntil(reading.is_set, timeout=WAIT)
        timer = QTimer()
        timer.setSingleShot(True)
        with qtbot.waitSignal(timer.timeout, timeout=WAIT):
            timer.start(0)
        assert dialog.is_busy() and not spin(dialog, "max_recipients").isEnabled()
    finally:
        release.set()
    qtbot.waitUntil(lambda: spin(dialog, "max_recipients").isEnabled(), timeout=WAIT)
    assert spin(dialog, "max_recipients").value() == 3


# ---------------------------------------------------------------- editing and saving


class Serving:
    """`outbox serve --port 0` in a thread over `paths` (the real command, stopped by stop())."""

    def __init__(self, paths: AppPaths) -> None:
        parser = argparse.ArgumentParser(prog="smtp-desktop")
        cli_outbox.add_subcommands(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["outbox", "serve", "--port", "0"])
        self.stopping = threading.Event()
        events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=lambda: events.put(("exited", cli_outbox.run(
            args, paths, stop=self.stopping, on_ready=lambda s: events.put(("ready", s))))))
        self.thread.start()
        kind, self.server = events.get(timeout=WAIT / 1000)
        assert kind == "ready", self.server

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(WAIT / 1000)


def test_edit_and_save_writes_what_load_limits_and_outbox_serve_read(
        qtbot, open_dialog, tmp_path, config_dir):
    dialog = open_dialog(config_dir)
    size = spin(dialog, "max_message_size")
    size.setValue(1.5)  # MiB, the unit shown for the default 32 MiB
    spin(dialog, "max_recipients").setValue(7)
    spin(dialog, "idle_timeout").setValue(42.5)
    bytes_unit = dialog.findChild(QComboBox, "outboxLimitMaxBytesUnit")
    bytes_unit.setCurrentIndex(bytes_unit.findText("MiB"))  # 1 GiB shown as 1024 MiB
    assert spin(dialog, "max_bytes").value() == 1024
    spin(dialog, "max_bytes").setValue(100)
    expected = OutboxLimits(max_message_size=1536 * 1024, max_recipients=7, idle_timeout=42.5,
                            max_bytes=100 * MiB)
    assert save(qtbot, dialog) == expected
    assert dialog.result() == dialog.DialogCode.Accepted
    document = json.loads((config_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    assert document == limits_to_document(expected)  # every field, explicitly
    assert load_limits(config_dir) == expected
    serving = Serving(AppPaths(config_dir, tmp_path / "data"))
    try:
        assert serving.server.limits == expected
        with smtplib.SMTP("127.0.0.1", serving.server.port, timeout=WAIT / 1000) as smtp:
            smtp.ehlo()
            assert smtp.esmtp_features["size"] == str(1536 * 1024)
    finally:
        serving.stop()


def test_changing_the_unit_never_changes_the_bytes(open_dialog, config_dir):
    save_limits(config_dir, OutboxLimits(max_line_length=1000))
    dialog = open_dialog(config_dir)
    unit = dialog.findChild(QComboBox, "outboxLimitMaxLineLengthUnit")
    for text in ("GiB", "MiB", "KiB", "bytes"):
        unit.setCurrentIndex(unit.findText(text))
        assert dialog.limits().max_line_length == 1000, text
    assert spin(dialog, "max_line_length").value() == 1000


def test_a_small_size_in_a_large_unit_is_shown_with_the_decimals_it_needs(open_dialog, config_dir):
    save_limits(config_dir, OutboxLimits(max_line_length=1536))
    dialog = open_dialog(config_dir)
    unit = dialog.findChild(QComboBox, "outboxLimitMaxLineLengthUnit")
    for text, shown in (("MiB", "0.00146"), ("GiB", "0.00000143"), ("KiB", "1.5")):
        unit.setCurrentIndex(unit.findText(text))
        assert spin(dialog, "max_line_length").text() == shown, text  # it showed 0.01
    assert dialog.limits().max_line_length == 1536


def test_a_consistency_problem_is_shown_live_and_disables_save(qtbot, open_dialog, config_dir):
    dialog = open_dialog(config_dir)
    save_button = button(dialog, "outboxLimitsSaveButton")
    bytes_unit = dialog.findChild(QComboBox, "outboxLimitMaxBytesUnit")
    bytes_unit.setCurrentIndex(bytes_unit.findText("MiB"))
    spin(dialog, "max_bytes").setValue(16)  # below max_message_size's 32 MiB
    assert "must not exceed max_bytes" in error_text(dialog)
    assert not save_button.isEnabled()
    spin(dialog, "max_bytes").setValue(64)
    assert error_text(dialog) == ""
    assert save_button.isEnabled()


def test_a_failed_save_keeps_the_dialog_open_with_the_reason_and_the_values(
        qtbot, open_dialog, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config_dir = blocker / "config"  # fails for root too, unlike a read-only folder
    dialog = open_dialog(config_dir)
    assert "Cannot read" in error_text(dialog)  # the folder cannot be read either
    assert dialog.limits() == OutboxLimits()
    spin(dialog, "max_recipients").setValue(11)
    with qtbot.assertNotEmitted(dialog.saved):
        button(dialog, "outboxLimitsSaveButton").click()
        qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT)
    assert "Not saved" in error_text(dialog) and str(config_dir) in error_text(dialog)
    assert dialog.isVisible()
    assert dialog.limits().max_recipients == 11
    assert button(dialog, "outboxLimitsSaveButton").isEnabled()
    assert spin(dialog, "max_recipients").isEnabled()
    spin(dialog, "max_recipients").setValue(12)  # an edit clears the failed save's message
    assert "Not saved" not in error_text(dialog)


@pytest.mark.parametrize("how", ["button", "escape"])
def test_cancel_writes_nothing(qtbot, open_dialog, config_dir, how):
    before = write(config_dir, json.dumps({"version": 1, "max_recipients": 5}))
    dialog = open_dialog(config_dir)
    spin(dialog, "max_recipients").setValue(6)
    with qtbot.assertNotEmitted(dialog.saved):
        if how == "button":
            button(dialog, "outboxLimitsCancelButton").click()
        else:
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not dialog.isVisible())
    assert dialog.result() == dialog.DialogCode.Rejected
    assert (config_dir / CONFIG_FILE).read_bytes() == before
    assert sorted(p.name for p in config_dir.iterdir()) == [CONFIG_FILE]


def test_cancel_with_no_file_leaves_none(qtbot, open_dialog, config_dir):
    dialog = open_dialog(config_dir)
    spin(dialog, "max_recipients").setValue(6)
    button(dialog, "outboxLimitsCancelButton").click()
    assert not config_dir.exists()


def test_restore_defaults_fills_the_defaults_and_writes_only_on_save(qtbot, open_dialog,
                                                                     config_dir):
    save_limits(config_dir, OutboxLimits(max_recipients=5, idle_timeout=10.0, max_line_length=2000))
    before = (config_dir / CONFIG_FILE).read_bytes()
    dialog = open_dialog(config_dir)
    button(dialog, "outboxLimitsDefaultsButton").click()
    assert dialog.limits() == OutboxLimits()
    assert dialog.findChild(QComboBox, "outboxLimitMaxLineLengthUnit").currentText() == "MiB"
    assert (config_dir / CONFIG_FILE).read_bytes() == before
    assert save(qtbot, dialog) == OutboxLimits()
    assert load_limits(config_dir) == OutboxLimits()


def test_escape_while_saving_waits_for_the_save(qtbot, open_dialog, config_dir, monkeypatch):
    release = threading.Event()
    writing = threading.Event()

    def slow_save(folder: Path, limits: OutboxLimits) -> Path:
        writing.set()
        assert release.wait(WAIT / 1000)
        return save_limits(folder, limits)

    monkeypatch.setattr(outbox_limits_dialog, "save_limits", slow_save)
    dialog = open_dialog(config_dir)
    spin(dialog, "max_recipients").setValue(8)
    try:
        button(dialog, "outboxLimitsSaveButton").click()
        qtbot.waitUntil(writing.is_set, timeout=WAIT)
        assert not button(dialog, "outboxLimitsCancelButton").isEnabled()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert dialog.isVisible()
    finally:
        with qtbot.waitSignal(dialog.saved, timeout=WAIT):
            release.set()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert load_limits(config_dir).max_recipients == 8


def test_closing_the_dialog_while_it_reads_is_harmless(qtbot, config_dir):
    from smtp_desktop.ui.worker import running_workers

    dialog = OutboxLimitsDialog(config_dir)
    dialog.show()
    dialog.reject()
    dialog.deleteLater()
    qtbot.waitUntil(lambda: running_workers() == 0, timeout=WAIT)


def test_tab_goes_through_the_rows_in_order(open_dialog, config_dir):
    dialog = open_dialog(config_dir)
    expected = []
    for limit in LIMITS:
        field = spin(dialog, limit.name)
        expected.append(field)
        unit = dialog.findChild(QComboBox, object_name(limit) + "Unit")
        if unit is not None:
            expected.append(unit)
    chain, widget = [], expected[0]
    while len(chain) < len(expected):
        inner = isinstance(widget.parent(), QAbstractSpinBox)  # the spin box's own line edit
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible() and not inner:
            chain.append(widget)
        widget = widget.nextInFocusChain()
    assert chain == expected
