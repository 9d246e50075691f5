"""The probe ("Test connection"): connects, secures, logs in, QUITs, and sends no mail."""

from __future__ import annotations

import json

from support.smtp_servers import PASSWORD, USERNAME

from smtp_desktop.mail import Category, probe

PROBE_KEYS = {"ok", "category", "message", "advice", "elapsed_ms", "server", "security",
              "unused_keys", "transcript", "title", "capabilities", "auth_mechanisms", "login", "tls",
              "certificate"}


def test_probe_reports_server_tls_and_certificate_without_sending(starttls_auth_server,
                                                                 assert_no_leak):
    outcome = probe(starttls_auth_server.settings(), PASSWORD)

    assert outcome.ok, outcome
    assert outcome.security == "starttls"
    info = outcome.probe
    assert info.login is True
    assert "AUTH LOGIN PLAIN" in info.capabilities
    assert "8BITMIME" in info.capabilities
    assert set(info.auth_mechanisms) == {"LOGIN", "PLAIN"}
    assert info.tls.version in ("TLSv1.2", "TLSv1.3")
    assert info.tls.cipher
    assert info.certificate.names == ("127.0.0.1", "localhost")
    assert "smtp-desktop test CA" in info.certificate.issuer
    assert info.certificate.not_after == "3000-01-01T00:00:00Z"
    assert "login accepted" in outcome.message
    assert starttls_auth_server.messages == []
    client = [line for line in outcome.transcript if line.startswith("C: ")]
    assert client[-1] == "C: QUIT"
    assert not any(line.startswith(("C: MAIL", "C: RCPT", "C: DATA")) for line in client)
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_probe_json_shape(starttls_auth_server):
    data = probe(starttls_auth_server.settings(), PASSWORD).to_json()

    assert set(data) == PROBE_KEYS
    assert data["category"] is None
    assert set(data["tls"]) == {"version", "cipher"}
    assert set(data["certificate"]) == {"subject", "issuer", "not_after", "names"}
    assert data["login"] is True
    json.dumps(data)  # serialisable as is


def test_probe_with_wrong_password(starttls_auth_server, assert_no_leak):
    outcome = probe(starttls_auth_server.settings(), "wrong-password")

    assert not outcome.ok
    assert outcome.category is Category.AUTH
    assert outcome.probe.login is False
    assert outcome.probe.tls is not None
    assert_no_leak(outcome, USERNAME, "wrong-password")


def test_probe_without_password_does_not_log_in(starttls_auth_server):
    outcome = probe(starttls_auth_server.settings(), None)

    assert outcome.ok, outcome
    assert outcome.probe.login is None
    assert outcome.to_json()["login"] is None
    assert "login not tried" in outcome.message
    assert not any(line.startswith("C: AUTH") for line in outcome.transcript)


def test_probe_of_implicit_tls(implicit_tls_server):
    outcome = probe(implicit_tls_server.settings(), PASSWORD)

    assert outcome.ok, outcome
    assert outcome.security == "ssl"
    assert outcome.probe.login is True


def test_probe_of_plain_server(plain_server):
    outcome = probe(plain_server.settings({"mail.smtp.auth": "false"}), None)

    assert outcome.ok, outcome
    assert outcome.security == "none"
    assert outcome.probe.tls is None
    assert outcome.probe.certificate is None
    assert outcome.to_json()["tls"] is None


def test_failed_probe_still_has_the_probe_fields(closed_port):
    outcome = probe(closed_port.settings(), None)

    assert outcome.category is Category.REFUSED
    data = outcome.to_json()
    assert set(data) == PROBE_KEYS
    assert data["capabilities"] == [] and data["login"] is None and data["certificate"] is None
