"""Certificate verification against real servers: system trust store, clear failures, ssl.trust."""

from __future__ import annotations

import pytest
from support.smtp_servers import PASSWORD, USERNAME

from smtp_desktop.mail import Category, probe, send_test_email


def sent_auth(outcome) -> bool:
    return any(line.startswith("C: AUTH") for line in outcome.transcript)


def test_self_signed_certificate_is_refused_with_a_narrow_way_out(self_signed_server,
                                                                   assert_no_leak):
    outcome = send_test_email(self_signed_server.settings(), PASSWORD, None)

    assert outcome.category is Category.CERTIFICATE
    assert "self-signed" in outcome.message
    assert "mail.smtp.ssl.trust = 127.0.0.1" in outcome.advice
    assert "rather than turning certificate checks off" in outcome.advice
    assert not sent_auth(outcome), "no password may go to an unverified server"
    assert self_signed_server.messages == []
    assert any("Self Signed Test" in line for line in outcome.transcript)
    assert_no_leak(outcome, USERNAME, PASSWORD)


@pytest.mark.parametrize("trust", ["127.0.0.1", "*", "other.example.test 127.0.0.1"])
def test_ssl_trust_accepts_that_host(self_signed_server, trust):
    outcome = send_test_email(self_signed_server.settings({"mail.smtp.ssl.trust": trust}),
                              PASSWORD, None)

    assert outcome.ok, outcome
    assert "* certificate not verified: trusted by mail.smtp.ssl.trust" in outcome.transcript
    assert len(self_signed_server.messages) == 1


def test_ssl_trust_for_another_host_does_not_help(self_signed_server):
    settings = self_signed_server.settings({"mail.smtp.ssl.trust": "mail.example.test"})
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.category is Category.CERTIFICATE
    assert self_signed_server.messages == []


def test_name_mismatch_lists_the_names_the_certificate_is_valid_for(wrong_name_server):
    outcome = send_test_email(wrong_name_server.settings(), PASSWORD, None)

    assert outcome.category is Category.CERTIFICATE
    assert outcome.message == ("The server's certificate is valid for mail.example.test, "
                               "not for 127.0.0.1.")
    assert "mail.smtp.ssl.trust = 127.0.0.1" in outcome.advice
    assert not sent_auth(outcome)


def test_identity_check_can_be_turned_off_while_the_chain_is_still_verified(wrong_name_server,
                                                                            self_signed_server):
    keys = {"mail.smtp.ssl.checkserveridentity": "false"}

    wrong_name = send_test_email(wrong_name_server.settings(keys), PASSWORD, None)
    self_signed = send_test_email(self_signed_server.settings(keys), PASSWORD, None)

    assert wrong_name.ok, wrong_name
    assert self_signed.category is Category.CERTIFICATE


def test_expired_certificate_says_when(expired_cert_server):
    outcome = send_test_email(expired_cert_server.settings(), PASSWORD, None)

    assert outcome.category is Category.CERTIFICATE
    assert outcome.message == "The server's certificate expired on 2021-06-30T12:00:00Z."
    assert "mail.smtp.ssl.trust = 127.0.0.1" in outcome.advice


def test_certificate_from_a_ca_outside_the_trust_store(smtp_server_factory, _good_pems,
                                                       monkeypatch, tmp_path):
    # The same server, but the trust store no longer holds the test CA.
    server = smtp_server_factory("ssl", pems=_good_pems)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    outcome = send_test_email(server.settings(), PASSWORD, None)

    assert outcome.category is Category.CERTIFICATE
    assert "issuer this computer does not trust" in outcome.message
    assert "smtp-desktop test CA" in outcome.message


def test_probe_describes_a_trusted_self_signed_certificate(self_signed_server):
    outcome = probe(self_signed_server.settings({"mail.smtp.ssl.trust": "127.0.0.1"}), PASSWORD)

    assert outcome.ok, outcome
    certificate = outcome.probe.certificate
    assert certificate.subject == "O=Self Signed Test, CN=127.0.0.1"
    assert certificate.issuer == certificate.subject
    assert certificate.names == ("127.0.0.1", "localhost")


def test_failed_probe_still_describes_the_certificate(wrong_name_server):
    outcome = probe(wrong_name_server.settings(), PASSWORD)

    assert outcome.category is Category.CERTIFICATE
    assert outcome.probe.certificate.names == ("mail.example.test",)
    assert outcome.probe.login is None
    assert outcome.probe.tls is None
    assert outcome.to_json()["certificate"]["names"] == ["mail.example.test"]
