"""`outboxFaultCombo` (issue 16): the window's own outbox answers Send test email the way a real
provider does, in the embedded outbox (the default service) and in the demo's."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QPushButton
from support.qt import child

from smtp_desktop.demo import start_demo
from smtp_desktop.outbox import Outbox, outbox_folder
from smtp_desktop.outbox.faults import load_catalogue
from smtp_desktop.ui.fault_selector import FaultSelector
from smtp_desktop.ui.main_window import SettingsWindow

GENEROUS_MS = 20_000


def choose(qtbot, window: SettingsWindow, profile_id: str | None) -> None:
    """Open the Outbox tab and pick `profile_id` in the combo as a user would (None: normal)."""
    window.show_tab("outbox")
    selector = window.findChild(FaultSelector)
    combo = child(window, QComboBox, "outboxFaultCombo")
    qtbot.waitUntil(combo.isEnabled, timeout=GENEROUS_MS)  # the catalogue is read by a worker
    index = combo.findData(profile_id) if profile_id else 0
    assert index >= 0, profile_id
    with qtbot.waitSignal(selector.rules_changed):
        combo.setCurrentIndex(index)


def send(qtbot, window: SettingsWindow):
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS) as blocker:
        qtbot.mouseClick(child(window, QPushButton, "sendTestButton"), Qt.MouseButton.LeftButton)
    return blocker.args[0]


@pytest.fixture
def default_service_window(window, app_paths):
    """Testsigma with no default service provisioned: sends go to the embedded outbox."""
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QLineEdit, "testRecipientEdit").setText("qa@example.test")
    return window


def stored(app_paths) -> int:
    return len(Outbox(outbox_folder(app_paths.data_dir)).list())


def test_the_combo_lists_every_profile_with_its_reply(window, qtbot):
    window.show_tab("outbox")
    combo = child(window, QComboBox, "outboxFaultCombo")
    qtbot.waitUntil(combo.isEnabled, timeout=GENEROUS_MS)
    catalogue = load_catalogue()
    assert [combo.itemData(i) for i in range(combo.count())] == [None, *catalogue]
    for i, profile in enumerate(catalogue.values(), start=1):
        tooltip = combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
        assert profile.category in tooltip
        assert all(line in tooltip for line in profile.reply)


# Every profile that answers at once (the two that hang wait for the transport's timeouts,
# and are proven against the outbox in tests/test_outbox_faults.py).
QUICK = [pid for pid in load_catalogue() if not pid.startswith("hang-")]


@pytest.mark.parametrize("profile_id", QUICK)
def test_send_test_email_through_the_default_service_ends_in_the_profiles_category(
        default_service_window, qtbot, app_paths, profile_id):
    window = default_service_window
    choose(qtbot, window, profile_id)
    note = child(window, QLabel, "outboxFaultNote")
    assert note.isVisible() and profile_id in note.text()

    outcome = send(qtbot, window)

    assert not outcome.ok
    assert outcome.category.value == load_catalogue()[profile_id].category
    assert stored(app_paths) == 0


def test_answer_normally_delivers_again_and_the_rehearsal_is_never_saved(
        default_service_window, qtbot, app_paths):
    window = default_service_window
    choose(qtbot, window, "user-unknown")
    assert send(qtbot, window).category.value == "recipient-rejected"
    with qtbot.waitSignal(window.save_finished, timeout=GENEROUS_MS):
        window.start_save()
    assert "user-unknown" not in app_paths.settings_file.read_text()

    choose(qtbot, window, None)
    outcome = send(qtbot, window)

    from smtp_desktop.history import HistoryLog

    records = HistoryLog(app_paths.history_file).records()  # oldest first
    assert [record.rehearsal for record in records] == [("user-unknown:always",), ()]
    assert records[0].service_text == "local-outbox (rehearsal: user-unknown)"
    assert records[1].service_text == "local-outbox"
    assert outcome.ok and outcome.delivered_to == "local-outbox"
    assert stored(app_paths) == 1
    assert not child(window, QLabel, "outboxFaultNote").isVisible()
    assert json.loads(app_paths.settings_file.read_text())["enabled"] is True


def test_the_demo_outbox_takes_the_rules_and_drops_them(qtbot):
    session = start_demo()
    try:
        window = SettingsWindow(session.config, outbox=session.outbox, banner=session.banner,
                                outbox_server=session.server)
        qtbot.addWidget(window)
        window.show()
        choose(qtbot, window, "gmail-app-password-required")
        assert [rule.text for rule in session.server.fault_rules] == [
            "gmail-app-password-required:always"]
        outcome = send(qtbot, window)
        assert outcome.category.value == "auth" and "534" in outcome.message + "".join(
            outcome.transcript)
        assert session.outbox.list() == []

        choose(qtbot, window, None)
        assert session.server.fault_rules == ()
        assert send(qtbot, window).ok
        assert len(session.outbox.list()) == 1
        window.close()
    finally:
        session.close()


def test_limits_saved_from_the_outbox_tab_bind_the_next_send(default_service_window, qtbot,
                                                             app_paths):
    from PySide6.QtWidgets import QComboBox as Combo
    from PySide6.QtWidgets import QDialog, QDoubleSpinBox

    window = default_service_window
    window.show_tab("outbox")
    qtbot.mouseClick(child(window, QPushButton, "outboxLimitsButton"), Qt.MouseButton.LeftButton)
    dialog = child(window, QDialog, "outboxLimitsDialog")
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=GENEROUS_MS)  # read by a worker
    unit = child(dialog, Combo, "outboxLimitMaxMessageSizeUnit")
    unit.setCurrentIndex(unit.findText("KiB"))
    child(dialog, QDoubleSpinBox, "outboxLimitMaxMessageSize").setValue(1)
    with qtbot.waitSignal(dialog.saved, timeout=GENEROUS_MS):
        qtbot.mouseClick(child(dialog, QPushButton, "outboxLimitsSaveButton"),
                         Qt.MouseButton.LeftButton)
    assert json.loads((app_paths.config_dir / "outbox.json").read_text())[
        "max_message_size"] == 1024
    assert "outbox.json" in child(window, QLabel, "statusLabel").text()

    outcome = send(qtbot, window)

    assert "SIZE 1024" in "\n".join(outcome.transcript)  # the embedded outbox read the file


def test_the_combo_is_usable_without_opening_the_outbox_tab(window, qtbot):
    combo = child(window, QComboBox, "outboxFaultCombo")
    qtbot.waitUntil(combo.isEnabled, timeout=GENEROUS_MS)  # read after the keyring check
    assert combo.count() == 1 + len(load_catalogue())
    assert not combo.isVisible()  # the Outbox tab was never shown


def test_profiles_without_a_reply_say_what_they_do(window, qtbot):
    window.show_tab("outbox")
    combo = child(window, QComboBox, "outboxFaultCombo")
    qtbot.waitUntil(combo.isEnabled, timeout=GENEROUS_MS)
    assert combo.itemText(combo.findData("drop-during-data")).endswith("(connection closed)")
    assert combo.itemText(combo.findData("hang-at-data")).endswith("(silence)")


def test_a_catalogue_that_cannot_be_read_says_so_and_is_read_again(make_window, qtbot,
                                                                  monkeypatch):
    from smtp_desktop.outbox import faults
    from smtp_desktop.outbox.errors import OutboxConfigError

    real = faults.load_catalogue

    def broken(path=None):
        raise OutboxConfigError("faults.json: profile 1, field 'reply': not a list")

    monkeypatch.setattr(faults, "load_catalogue", broken)
    window = make_window()
    window.show_tab("outbox")
    note = child(window, QLabel, "outboxFaultNote")
    qtbot.waitUntil(lambda: note.isVisible() and "could not be read" in note.text(),
                    timeout=GENEROUS_MS)
    combo = child(window, QComboBox, "outboxFaultCombo")
    assert not combo.isEnabled() and "field 'reply'" in note.text()

    monkeypatch.setattr(faults, "load_catalogue", real)
    child(window, QPushButton, "outboxRefreshButton").click()
    qtbot.waitUntil(combo.isEnabled, timeout=GENEROUS_MS)
    assert not note.isVisible()
