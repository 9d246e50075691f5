"""The pytest plugin, tested the way QA suites use it: pytest's own `pytester` runs suites that
use the fixtures (the README's example among them) and checks that they pass and fail as they
should. The Qt fixture runs in a subprocess (`runpytest_subprocess`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.fresh_python import run_python

from smtp_desktop.pytest_plugin import MISSING_PYTEST_QT

pytest_plugins = ["pytester"]

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def readme_example() -> str:
    match = re.search(r"<!-- plugin-example -->\n```python\n(.*?)```", README, re.DOTALL)
    assert match, "the README lost its plugin example"
    return match.group(1)


SENDING = '''
import smtplib
from email.message import EmailMessage


def send(outbox, to, subject, body, sender="app@app.test"):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(outbox.host, outbox.port, timeout=30) as smtp:
        smtp.send_message(message)
'''


def test_loading_the_plugin_imports_nothing_heavy():
    code = ("import sys, smtp_desktop.pytest_plugin\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'shiboken6', "
            "'aiosmtpd', 'watchdog', 'lxml', 'keyring'}))\n"
            "print('smtp_desktop.outbox' in sys.modules)")
    result = run_python(code)
    assert result.stdout.split("\n")[:2] == ["[]", "False"]


def test_the_plugin_is_an_installed_pytest11_entry_point():
    from importlib.metadata import entry_points

    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("smtp_desktop") == "smtp_desktop.pytest_plugin"


def test_a_suite_that_uses_no_fixture_starts_no_outbox(pytester):
    pytester.makepyfile(test_plain="""
        import sys

        def test_nothing_of_ours_loaded():
            loaded = {"aiosmtpd", "watchdog", "smtp_desktop.outbox"} & set(sys.modules)
            assert loaded == set()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_readme_example_passes(pytester):
    pytester.makepyfile(test_signup=readme_example())

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_the_readme_example_fails_when_the_app_mails_the_wrong_code(pytester):
    broken = readme_example().replace("self.pending[email] = code",
                                      "self.pending[email] = code[::-1] + 'x'")
    assert broken != readme_example()
    pytester.makepyfile(test_signup=broken)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*where False = confirm('t-*@outbox.test', '*')"])


def test_views_are_per_test_and_wait_for_returns_each_mail_once(pytester):
    pytester.makepyfile(test_views=SENDING + '''
import re

def test_first(smtp_outbox):
    a, b = smtp_outbox.address(), smtp_outbox.address()
    assert a != b and re.fullmatch(r"t-[0-9a-f]{12}@outbox\\.test", a)
    send(smtp_outbox, a, "One", "code 111111")
    send(smtp_outbox, b, "Two", "code 222222")
    assert smtp_outbox.wait_for(to=b).code == "222222"
    assert [m.subject for m in smtp_outbox.messages()] == ["One", "Two"]


def test_second_sees_only_its_own_and_clears_only_those(smtp_outbox, smtp_outbox_server):
    assert smtp_outbox.messages() == []
    to = smtp_outbox.address()
    send(smtp_outbox, to, "Code", "Your code is 333333", sender="Acme <a@acme.test>")
    send(smtp_outbox, to, "Code", "Your code is 444444")
    first = smtp_outbox.wait_for(to=to, subject="^Code$", sender="a@acme.test")
    second = smtp_outbox.wait_for(to=to, contains="your code")
    assert (first.code, second.code) == ("333333", "444444")
    assert first.sender == "Acme <a@acme.test>" and first.to == [to]
    assert first.envelope["to"] == [to]
    assert b"Your code is 333333" in first.raw()
    assert ("Subject", "Code") in first.headers and first.html is None
    assert first.links == [] and first.attachments == []
    send(smtp_outbox, to, "Code", "Your code is 555555")
    assert smtp_outbox.wait_for(to=to, code_pattern=r"is (\\d{3})").code == "555"
    total = len(smtp_outbox_server.outbox.list())
    assert smtp_outbox.clear() == 3
    assert smtp_outbox.messages() == []
    assert len(smtp_outbox_server.outbox.list()) == total - 3
''')

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)


def test_failures_say_what_was_wanted_and_what_arrived(pytester):
    pytester.makepyfile(test_failing=SENDING + '''
def test_timeout(smtp_outbox):
    to = smtp_outbox.address()
    send(smtp_outbox, to, "Welcome aboard", "Hello")
    smtp_outbox.wait_for(to=to, subject="Reset", timeout=0.2)


def test_no_code(smtp_outbox):
    to = smtp_outbox.address()
    send(smtp_outbox, to, "Your receipt", "Thanks for shopping with us.")
    smtp_outbox.wait_for(to=to).code
''')

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*AssertionError: No message fits (to 't-*@outbox.test'; subject ~ 'Reset') after 0.2 s."
        " Arrived since this test started:*",
        "*'Welcome aboard' to t-*@outbox.test*",
    ])
    result.stdout.fnmatch_lines([
        "*AssertionError: No one-time code in message * (subject 'Your receipt'). Its text:*",
        "*Thanks for shopping with us.*",
    ])


QT_SUITE = '''
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QPushButton


def test_script_the_window(smtp_settings_window, qtbot):
    window = smtp_settings_window
    assert window.objectName() == "settingsWindow" and window.isVisible()
    window.findChild(QAbstractButton, "smtpEnabledToggle").setChecked(True)
    window.findChild(QAbstractButton, "serviceOwnRadio").setChecked(True)
    window.findChild(QLineEdit, "hostEdit").setText("smtp.example.test")
    window.findChild(QLineEdit, "usernameEdit").setText("qa@example.test")
    assert window.isWindowModified()
    assert window.findChild(QPushButton, "saveButton") is not None
    summary = window.findChild(QLabel, "securitySummaryLabel").text()
    assert "the test's in-memory keyring" in summary and "demo" not in summary, summary


def test_read_a_code_of_my_own_mail_in_the_outbox_tab(smtp_settings_window, qtbot):
    from PySide6.QtWidgets import QListWidget, QTableView

    from smtp_desktop.outbox import Outbox

    window = smtp_settings_window
    paths = window.session.config.paths
    Outbox(paths.outbox_folder).add(b"Subject: code\\n\\nYour code is 482913.\\n",
                                    "app@example.test", ["qa@example.test"])
    window.show_tab("outbox")
    table = window.findChild(QTableView, "outboxView")
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    table.selectRow(0)
    codes = window.findChild(QListWidget, "outboxCodesView")
    qtbot.waitUntil(lambda: codes.count() == 1)
    assert codes.item(0).text() == "482913"
'''


def test_the_settings_window_fixture_in_a_qa_suite(pytester):
    pytester.makepyfile(test_window=QT_SUITE)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "-o", "qt_api=pyside6")

    result.assert_outcomes(passed=2)


def test_the_settings_window_fixture_without_pytest_qt_says_what_to_install(pytester):
    pytester.makepyfile(test_window=QT_SUITE)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:pytest-qt")

    result.assert_outcomes(errors=2)
    assert MISSING_PYTEST_QT in result.stdout.lines  # a line of its own, no traceback


@pytest.fixture(autouse=True)
def _offscreen(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")


ATTACHED_SUITE = SENDING + '''

def test_host_and_port_come_from_the_running_outbox(smtp_outbox):
    assert (smtp_outbox.host, smtp_outbox.port) == ("127.0.0.1", {smtp_port})


def test_wait_for_reads_mail_through_the_api(smtp_outbox):
    to = smtp_outbox.address()
    send(smtp_outbox, to, "Your code", "Use 724913 to sign in.")
    send(smtp_outbox, to, "Second", "Another one.")
    mail = smtp_outbox.wait_for(to=to, subject="code")
    assert mail.code == "724913"
    assert b"724913" in mail.raw()
    assert smtp_outbox.wait_for(to=to).subject == "Second"  # the first is not returned twice
    assert [m.subject for m in smtp_outbox.messages()] == ["Your code", "Second"]
    assert smtp_outbox.clear() == 2


def test_a_timeout_fails_with_the_criteria(smtp_outbox):
    smtp_outbox.wait_for(to="nobody@outbox.test", timeout=0.2)
'''


def test_smtp_outbox_api_attaches_to_a_running_outbox(pytester, tmp_path):
    from smtp_desktop.outbox import Outbox, OutboxServer

    with OutboxServer(Outbox(tmp_path / "outbox"), api_port=0) as server:
        pytester.makepyfile(ATTACHED_SUITE.replace("{smtp_port}", str(server.port)))
        result = pytester.runpytest("--smtp-outbox-api", server.api.url, "-p", "no:cacheprovider")
        result.assert_outcomes(passed=2, failed=1)
        result.stdout.fnmatch_lines(["*No message fits after 0.2 s*"])
        assert Outbox(tmp_path / "outbox").count()[0] == 0  # clear() went through the API
