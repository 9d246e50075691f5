"""Issue 11, section 2: the password never goes unencrypted to a server that is not loopback.

The server is real and really not on loopback: aiosmtpd without STARTTLS, offering AUTH PLAIN
LOGIN in the clear, inside a network namespace the test creates (support/netns.py). It records
every command verb it receives, so "AUTH never arrived" is checked where it matters: on the
server.
"""

from __future__ import annotations

import json

import pytest

from smtp_desktop.mail import Category, probe, send_test_email

NOT_OFFERED = "The server did not offer STARTTLS, so the password was not sent."
TURNED_OFF = "STARTTLS is turned off (mail.smtp.starttls.enable = false), so the password was not sent."
ALLOW = {"smtp-desktop.allow-unencrypted-login": "true"}


def _assert_refused_before_auth(outcome, server, message: str) -> None:
    assert not outcome.ok
    assert outcome.category is Category.TLS
    assert outcome.message == message
    assert "465" in outcome.advice and "mail.smtp.ssl.enable" in outcome.advice
    commands = server.commands()
    assert "EHLO" in commands and commands[-1] == "QUIT", commands  # it did talk to the server
    assert "AUTH" not in commands and "MAIL" not in commands, commands


def test_send_test_with_the_seed_keys_does_not_send_the_password_when_starttls_is_stripped(
        netns_plain_auth_server, assert_no_leak):
    server = netns_plain_auth_server
    outcome = send_test_email(server.settings(), server.password, "qa@example.test")
    _assert_refused_before_auth(outcome, server, NOT_OFFERED)
    assert outcome.security == "none"
    assert any("the password was not sent" in line for line in outcome.transcript)
    assert_no_leak(outcome, server.username, server.password, *outcome.transcript)


def test_probe_does_not_send_the_password_when_starttls_is_stripped(netns_plain_auth_server):
    server = netns_plain_auth_server
    outcome = probe(server.settings(), server.password)
    _assert_refused_before_auth(outcome, server, NOT_OFFERED)
    assert outcome.probe is not None and outcome.probe.login is None


@pytest.mark.parametrize("check", ["send-test", "probe"])
def test_an_explicit_starttls_false_with_a_login_is_refused_too(netns_plain_auth_server, check):
    server = netns_plain_auth_server
    settings = server.settings({"mail.smtp.starttls.enable": "false"})
    outcome = (send_test_email(settings, server.password, "qa@example.test") if check == "send-test"
               else probe(settings, server.password))
    _assert_refused_before_auth(outcome, server, TURNED_OFF)


def test_with_the_opt_in_key_the_login_does_go_through(netns_plain_auth_server):
    """The positive control: the same server and settings reach AUTH once the user opts in,
    so the tests above can fail."""
    server = netns_plain_auth_server
    outcome = send_test_email(server.settings(ALLOW), server.password, "qa@example.test")
    assert outcome.ok, (outcome.category, outcome.message)
    assert outcome.security == "none"
    commands = server.commands()
    assert "AUTH" in commands and "MAIL" in commands, commands
    outcome = probe(server.settings(ALLOW), server.password)
    assert outcome.ok and outcome.probe.login is True


def test_without_a_login_nothing_is_refused(netns_plain_auth_server):
    server = netns_plain_auth_server
    outcome = send_test_email(server.settings({"mail.smtp.auth": "false"}), None, "qa@example.test")
    assert outcome.ok, (outcome.category, outcome.message)
    assert "AUTH" not in server.commands()


@pytest.fixture
def cli(cli, ring):
    """The shared in-process `cli`, answering (exit code, stdout): these tests read no stderr."""
    def run(*args: str, stdin: str = "") -> tuple[int, str]:
        code, out, _ = cli(*args, stdin=stdin)
        return code, out

    return run


def test_the_command_line_exits_1_with_category_tls(netns_plain_auth_server, cli, tmp_path):
    server = netns_plain_auth_server
    document = {"version": 1, "enabled": True, "service": "own",
                "own": {"host": server.host, "port": server.port, "username": server.username,
                        "keys": {"mail.smtp.auth": True, "mail.smtp.starttls.enable": True,
                                 "mail.smtp.timeout": "5000"}}}
    source = tmp_path / "in.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    code, _ = cli("import", str(source), "--password-stdin", stdin=server.password + "\n")
    assert code == 0
    for command in (("send-test", "--to", "qa@example.test"), ("probe",)):
        code, out = cli(*command, "--json")
        result = json.loads(out)
        assert code == 1, result
        assert (result["ok"], result["category"], result["security"]) == (False, "tls", "none")
        assert result["message"] == NOT_OFFERED
    assert "AUTH" not in server.commands()


@pytest.mark.parametrize("check", ["send-test", "probe"])
def test_an_oauth2_access_token_is_not_sent_unencrypted_either(netns_plain_auth_server,
                                                                assert_no_leak, check):
    """Issue 14: the no-clear-text rule covers tokens."""
    from smtp_desktop.config.model import AuthMethod, OAuth2Settings

    server = netns_plain_auth_server
    settings = server.settings().with_changes(auth=AuthMethod.OAUTH2,
                                              oauth2=OAuth2Settings(client_id="client"))
    token = "ya29.a-token-that-must-stay-here"
    outcome = (send_test_email(settings, token, "qa@example.test") if check == "send-test"
               else probe(settings, token))
    _assert_refused_before_auth(outcome, server,
                                NOT_OFFERED.replace("the password", "the access token"))
    assert any("the access token was not sent" in line for line in outcome.transcript)
    assert_no_leak(outcome, server.username, token, *outcome.transcript)
