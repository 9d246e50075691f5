"""SIGINT, SIGTERM and SIGHUP close the window at once: no question, checks cancelled, the
demo's folder deleted; a folder left by a SIGKILLed demo goes with the next demo."""

from __future__ import annotations

import os
import signal
import sys

import pytest
from PySide6.QtWidgets import QLineEdit, QMessageBox, QTextBrowser
from support.entry import Child
from support.qt import child, load_into

from smtp_desktop.checks import CheckKind
from smtp_desktop.ui.application import StopSignals, stop_window
from smtp_desktop.ui.worker import running_workers

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

GENEROUS_MS = 20_000
SILENT_KEYS = {"mail.smtp.timeout": "120000", "mail.from": "qa@example.test"}


@pytest.fixture
def never_asked(monkeypatch):
    def asked(*args, **kwargs):
        raise AssertionError("the unsaved-changes question was asked")

    monkeypatch.setattr(QMessageBox, "question", asked)


@pytest.fixture
def stop_signals(qapp):
    stopper = StopSignals()
    yield stopper
    stopper.restore()


def send_to_self(qtbot, stopper, signum):
    with qtbot.waitSignal(stopper.received, timeout=GENEROUS_MS) as blocker:
        os.kill(os.getpid(), signum)
    return blocker.args[0]


# ---------------------------------------------------------------- in-process


def test_sigterm_closes_without_asking_discards_changes_and_cancels_the_check(
        window, qtbot, silent_server, stop_signals, never_asked, config_service, capsys):
    load_into(window, silent_server.settings(SILENT_KEYS))  # unsaved, and a check against it
    window.start_check(CheckKind.SEND_TEST)
    qtbot.waitUntil(silent_server.connected.is_set, timeout=GENEROUS_MS)
    assert window.isWindowModified() and window.check_running

    signum = send_to_self(qtbot, stop_signals, signal.SIGTERM)
    code = stop_window(window, signum)

    assert (signum, code) == (signal.SIGTERM, 0)
    assert not window.isVisible()
    assert not window.check_running
    assert "Cancelled" in child(window, QTextBrowser, "testResultView").toPlainText()
    assert "SIGTERM: unsaved changes discarded." in capsys.readouterr().err
    assert not config_service.paths.settings_file.exists()  # nothing was saved
    qtbot.waitUntil(lambda: running_workers() == 0, timeout=GENEROUS_MS)


@pytest.mark.parametrize("name, expected", [("SIGINT", 130), ("SIGHUP", 0)])
def test_each_stop_signal_has_its_exit_code_and_is_quiet_without_changes(
        name, expected, window, qtbot, stop_signals, never_asked, capsys):
    signum = send_to_self(qtbot, stop_signals, getattr(signal, name))

    assert stop_window(window, signum) == expected
    assert not window.isVisible()
    assert "discarded" not in capsys.readouterr().err


def test_a_stop_signal_while_the_question_is_open_discards(window, qtbot, stop_signals,
                                                           monkeypatch, config_service):
    child(window, QLineEdit, "hostEdit").setText("smtp.example.com")
    codes = []
    stop_signals.received.connect(lambda signum: codes.append(stop_window(window, signum, print)))

    def question_interrupted(*args, **kwargs):
        send_to_self(qtbot, stop_signals, signal.SIGHUP)  # arrives while the user would choose
        return QMessageBox.StandardButton.Save

    monkeypatch.setattr(QMessageBox, "question", question_interrupted)
    window.close()

    assert codes == [0]
    assert not window.isVisible()
    assert not config_service.paths.settings_file.exists()  # "Save" came too late: discarded


def wakeup_fd() -> int:
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd


def test_restore_puts_the_previous_handlers_and_wakeup_fd_back(qapp):
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    before = {name: signal.getsignal(getattr(signal, name)) for name in names}
    fd_before = wakeup_fd()
    stopper = StopSignals()
    assert signal.getsignal(signal.SIGTERM) is not before["SIGTERM"]
    assert wakeup_fd() != fd_before
    stopper.restore()
    assert {name: signal.getsignal(getattr(signal, name)) for name in names} == before
    assert wakeup_fd() == fd_before


# ---------------------------------------------------------------- the real process


def demo_folders(tmp_path):
    return sorted(tmp_path.glob("smtp-desktop-demo-*"))


def start_demo_child(tmp_path) -> Child:
    return Child(["--demo"], tmp_path, window_ready=True, env={"TMPDIR": str(tmp_path)})


@pytest.mark.parametrize("name, expected", [("SIGINT", 130), ("SIGTERM", 0), ("SIGHUP", 0)])
def test_demo_ends_on_a_stop_signal_and_deletes_its_folder(name, expected, tmp_path):
    demo = start_demo_child(tmp_path)
    try:
        demo.wait_for_line("window-ready")
        assert len(demo_folders(tmp_path)) == 1
        demo.process.send_signal(getattr(signal, name))
        assert demo.wait() == expected, demo.text()
    finally:
        demo.kill()
    assert demo_folders(tmp_path) == []
    assert "Traceback" not in demo.text(), demo.text()
    if sys.platform.startswith("linux"):
        assert demo.dumpable == "False"  # the window and --demo are non-dumpable


def test_window_with_unsaved_changes_closes_on_sigterm_without_asking(tmp_path):
    window = Child([], tmp_path, window_ready=True, type_host="smtp.example.com")
    try:
        window.wait_for_line("window-ready")
        window.process.send_signal(signal.SIGTERM)
        assert window.wait() == 0, window.text()
    finally:
        window.kill()
    assert "SIGTERM: unsaved changes discarded." in window.text()
    assert "asked about unsaved changes" not in window.text()
    assert not (tmp_path / "config" / "settings.json").exists()
    if sys.platform.startswith("linux"):
        assert window.dumpable == "False"


def test_ctrl_c_in_the_terminal_ends_an_idle_window_with_130(tmp_path):
    window = Child([], tmp_path, window_ready=True)
    try:
        window.wait_for_line("window-ready")
        window.process.send_signal(signal.SIGINT)
        assert window.wait() == 130, window.text()
    finally:
        window.kill()
    assert "KeyboardInterrupt" not in window.text(), window.text()


def test_the_next_demo_removes_the_folder_of_a_sigkilled_one(tmp_path):
    killed = start_demo_child(tmp_path)
    try:
        killed.wait_for_line("window-ready")
    finally:
        killed.kill()  # SIGKILL: nothing of it can clean up
    [stale] = demo_folders(tmp_path)
    living = tmp_path / f"smtp-desktop-demo-{os.getpid()}-alive"  # a demo still running
    living.mkdir()
    legacy = tmp_path / "smtp-desktop-demo-abc123"  # no process id: not ours to judge
    legacy.mkdir()

    demo = start_demo_child(tmp_path)
    try:
        demo.wait_for_line("window-ready")
        assert not stale.exists()
        assert living.exists() and legacy.exists()
        demo.process.send_signal(signal.SIGTERM)
        assert demo.wait() == 0, demo.text()
    finally:
        demo.kill()
    assert set(demo_folders(tmp_path)) == {legacy, living}
