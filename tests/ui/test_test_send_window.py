"""Send test email and Test connection from the window, against real local servers."""

from __future__ import annotations

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
)
from support.qt import child, load_into
from support.smtp_servers import password_forms

from smtp_desktop.ui.worker import running_workers

GENEROUS_MS = 20_000
# A 120 s read timeout: only Cancel can end such an attempt within GENEROUS_MS.
SILENT_KEYS = {"mail.smtp.timeout": "120000", "mail.from": "qa@example.test"}


def click(qtbot, window, name):
    qtbot.mouseClick(child(window, QPushButton, name), Qt.MouseButton.LeftButton)


def test_send_test_email_with_unsaved_values_shows_success_and_the_mail_arrives(
        window, qtbot, starttls_auth_server):
    server = starttls_auth_server
    load_into(window, server.settings(), server.password)
    child(window, QLineEdit, "testRecipientEdit").setText("qa@example.test")
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS) as blocker:
        click(qtbot, window, "sendTestButton")
        assert child(window, QProgressBar, "testBusyIndicator").isVisible()
        assert child(window, QPushButton, "cancelTestButton").isEnabled()
        assert not child(window, QPushButton, "sendTestButton").isEnabled()
    outcome = blocker.args[0]
    assert outcome.ok, outcome.message
    result = child(window, QTextBrowser, "testResultView").toPlainText()
    assert "Test email sent" in result and f"127.0.0.1:{server.port}" in result
    assert not child(window, QProgressBar, "testBusyIndicator").isVisible()
    assert len(server.messages) == 1
    message = server.messages[0]
    assert message["To"] == "qa@example.test"
    assert message["From"] == server.username
    transcript = child(window, QPlainTextEdit, "transcriptView").toPlainText()
    assert "STARTTLS" in transcript and "C: AUTH" in transcript
    for form in password_forms(server.username, server.password):
        assert form not in transcript
        assert form not in result
    assert child(window, QPushButton, "copyTranscriptButton").isEnabled()


def test_transcript_is_collapsible_and_can_be_copied(window, qtbot, plain_server):
    load_into(window, plain_server.settings(), plain_server.password)
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS):
        click(qtbot, window, "sendTestButton")
    view = child(window, QPlainTextEdit, "transcriptView")
    assert not view.isVisible()
    child(window, QAbstractButton, "transcriptToggle").click()
    assert view.isVisible()
    click(qtbot, window, "copyTranscriptButton")
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == view.toPlainText()
    assert view.toPlainText().startswith("* ")


def test_probe_reports_the_server_and_sends_no_mail(window, qtbot, starttls_auth_server):
    server = starttls_auth_server
    load_into(window, server.settings(), server.password)
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS) as blocker:
        click(qtbot, window, "probeButton")
    outcome = blocker.args[0]
    assert outcome.ok and outcome.probe is not None
    assert "Connection works" in child(window, QTextBrowser, "testResultView").toPlainText()
    assert server.messages == []


def test_wrong_password_shows_the_auth_category_and_points_at_the_help(window, qtbot,
                                                                     starttls_auth_server):
    server = starttls_auth_server
    load_into(window, server.settings(), "not-the-password")
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS):
        click(qtbot, window, "sendTestButton")
    result = child(window, QTextBrowser, "testResultView")
    assert result.toPlainText().startswith("✖ Login refused")  # a title, not a slug (issue 15)
    assert result.property("category") == "auth"  # the slug, for scripts
    assert "app password" in result.toPlainText().lower()
    assert "help:app-password" in result.toHtml()
    assert child(window, QLabel, "statusLabel").text().startswith("Login refused")


def test_cancel_against_a_silent_server_ends_the_attempt_long_before_its_timeout(
        window, qtbot, silent_server):
    load_into(window, silent_server.settings(SILENT_KEYS))
    click(qtbot, window, "sendTestButton")
    qtbot.waitUntil(silent_server.connected.is_set, timeout=GENEROUS_MS)
    assert window.check_running
    click(qtbot, window, "cancelTestButton")
    assert not window.check_running
    assert "Cancelled" in child(window, QTextBrowser, "testResultView").toPlainText()
    assert child(window, QPushButton, "sendTestButton").isEnabled()
    assert not child(window, QProgressBar, "testBusyIndicator").isVisible()
    qtbot.waitUntil(lambda: running_workers() == 0, timeout=GENEROUS_MS)


def test_a_result_arriving_after_cancel_is_ignored(window, qtbot, silent_server):
    load_into(window, silent_server.settings(SILENT_KEYS))
    click(qtbot, window, "sendTestButton")
    qtbot.waitUntil(silent_server.connected.is_set, timeout=GENEROUS_MS)
    # The worker still ends (with "cancelled") after Cancel; its late result must not be shown.
    with qtbot.assertNotEmitted(window.check_finished, wait=200):
        click(qtbot, window, "cancelTestButton")
        qtbot.waitUntil(lambda: running_workers() == 0, timeout=GENEROUS_MS)
    assert "Cancelled" in child(window, QTextBrowser, "testResultView").toPlainText()


def test_window_stays_responsive_while_the_server_hangs(window, qtbot, silent_server):
    load_into(window, silent_server.settings(SILENT_KEYS))
    click(qtbot, window, "sendTestButton")
    qtbot.waitUntil(silent_server.connected.is_set, timeout=GENEROUS_MS)
    host = child(window, QLineEdit, "hostEdit")
    qtbot.keyClicks(host, "x")  # the event loop is free: typing is processed at once
    assert host.text().endswith("x")
    click(qtbot, window, "cancelTestButton")


def test_closing_the_window_during_a_test_neither_hangs_nor_crashes(make_window, qtbot,
                                                                   silent_server):
    window = make_window()
    load_into(window, silent_server.settings(SILENT_KEYS))
    click(qtbot, window, "sendTestButton")
    qtbot.waitUntil(silent_server.connected.is_set, timeout=GENEROUS_MS)
    assert window.close()
    qtbot.waitUntil(lambda: running_workers() == 0, timeout=GENEROUS_MS)


def test_testsigma_without_a_default_service_delivers_to_the_local_outbox(window, qtbot,
                                                                        app_paths):
    from smtp_desktop.outbox import Outbox, outbox_folder

    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    child(window, QLineEdit, "testRecipientEdit").setText("qa@example.test")
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS) as blocker:
        click(qtbot, window, "sendTestButton")
    outcome = blocker.args[0]
    assert outcome.ok, outcome.message
    assert outcome.delivered_to == "local-outbox"
    messages = Outbox(outbox_folder(app_paths.data_dir)).list()
    assert [m.recipients for m in messages] == [("qa@example.test",)]


def test_an_invalid_default_service_file_is_reported_not_replaced_by_the_outbox(
        make_window, qtbot, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.default_service_file.write_text('{"version": 1, "host": "x"}')
    window = make_window()
    child(window, QAbstractButton, "smtpEnabledToggle").setChecked(True)
    with qtbot.waitSignal(window.check_finished, timeout=GENEROUS_MS) as blocker:
        click(qtbot, window, "sendTestButton")
    assert blocker.args[0].category.value == "not-provisioned"
    assert "default-service.json" in blocker.args[0].message


def test_the_transport_is_warmed_up_once_in_a_worker_after_the_keyring_check(
        make_window, qtbot, monkeypatch):
    import threading

    from smtp_desktop import mail

    warmed_on: list[int] = []
    monkeypatch.setattr(mail, "warm_up", lambda: warmed_on.append(threading.get_ident()))

    window = make_window()
    qtbot.waitUntil(lambda: len(warmed_on) > 0)
    with qtbot.waitSignal(window.keyring_checked):
        window._check_keyring()  # a reload asks the keyring again; that does not warm up again
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0)

    assert len(warmed_on) == 1
    assert warmed_on[0] != threading.get_ident()  # not on the GUI thread
