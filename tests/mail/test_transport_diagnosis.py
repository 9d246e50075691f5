"""Diagnosis rules that need no server: situations tests cannot stage on 127.0.0.1."""

from __future__ import annotations

import errno
import socket

import pytest

from smtp_desktop.mail import ADVICE, APP_PASSWORD_HELP, Category
from smtp_desktop.mail.certificates import CertificateInfo
from smtp_desktop.mail.diagnosis import (
    Context,
    certificate_failure,
    connect_failure,
    connect_timeout,
    dns_failure,
    reply_failure,
    reply_timeout,
    tls_failure,
)

CTX = Context(host="smtp.example.test", port=587)


def test_every_category_has_a_message_and_advice():
    assert set(ADVICE) == set(Category)
    for message, advice in ADVICE.values():
        assert message.endswith(".") and advice


def test_category_values_are_the_contract():
    assert [c.value for c in Category] == [
        "dns", "refused", "network", "timeout", "tls", "certificate", "auth", "sender-rejected",
        "recipient-rejected", "unavailable", "rejected", "connection-lost", "protocol",
        "invalid-input", "keyring", "not-provisioned", "disabled", "cancelled"]


def test_unknown_host_is_dns():
    error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    result = dns_failure(CTX, error)

    assert result.category is Category.DNS
    assert "'smtp.example.test' could not be found" in result.message


def test_ipv6_without_route_suggests_ipv4():
    error = OSError(errno.ENETUNREACH, "Network is unreachable")
    result = connect_failure(CTX, error, "[2001:db8::1]:587", ipv6=True)

    assert result.category is Category.NETWORK
    assert "mail.smtp.localaddress = 0.0.0.0" in result.advice


def test_ipv4_unreachable_does_not_mention_ipv6():
    error = OSError(errno.EHOSTUNREACH, "No route to host")
    result = connect_failure(CTX, error, "192.0.2.1:587", ipv6=False)

    assert result.category is Category.NETWORK
    assert "localaddress" not in result.advice


def test_ipv6_connect_timeout_suggests_ipv4():
    result = connect_timeout(CTX, "[2001:db8::1]:587", ipv6=True)

    assert result.category is Category.TIMEOUT
    assert "mail.smtp.localaddress = 0.0.0.0" in result.advice


def test_no_greeting_on_465_means_implicit_tls_is_needed():
    result = reply_timeout(Context(host="smtp.example.test", port=465), "greeting")

    assert result.category is Category.TLS
    assert "mail.smtp.ssl.enable = true" in result.advice


def test_unrecognized_ssl_message_means_starttls_port():
    ctx = Context(host="smtp.example.test", port=587, implicit_tls=True)
    result = tls_failure(ctx, None, "Unrecognized SSL message, plaintext connection?")

    assert result.category is Category.TLS
    assert "mail.smtp.ssl.enable = false" in result.advice


@pytest.mark.parametrize(("phase", "code", "text", "category", "advice_part"), [
    ("auth", 534, "5.7.9 Application-specific password required. Learn more at "
                  "https://support.google.com/mail/?p=InvalidSecondFactor",
     Category.AUTH, "2-Step Verification"),
    ("auth", 535, "5.7.8 Username and Password not accepted.", Category.AUTH, APP_PASSWORD_HELP),
    ("auth", 535, "5.7.3 Authentication unsuccessful", Category.AUTH, APP_PASSWORD_HELP),
    ("auth", 534, "5.7.14 Please log in via your web browser", Category.AUTH, "web browser"),
    ("auth", 454, "4.7.0 Try again later", Category.UNAVAILABLE, "later"),
    ("auth", 504, "5.5.4 Unrecognized authentication type", Category.AUTH, "mechanisms"),
    ("mail", 530, "Must issue a STARTTLS command first", Category.TLS,
     "mail.smtp.starttls.enable = true"),
    ("mail", 530, "5.7.0 Authentication required", Category.AUTH, "mail.smtp.auth = true"),
    ("mail", 550, "5.7.1 Client does not have permissions to send as this sender",
     Category.SENDER_REJECTED, "mail.from"),
    ("message", 554, "5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException; not permitted "
                     "to send as", Category.SENDER_REJECTED, "mail.from"),
    ("message", 550, "The from address does not match a verified Sender Identity.",
     Category.SENDER_REJECTED, "verified"),
    ("rcpt", 550, "5.1.1 User unknown", Category.RECIPIENT_REJECTED, "typos"),
    ("rcpt", 451, "4.3.0 Temporary lookup failure", Category.UNAVAILABLE, "later"),
    ("greeting", 421, "4.3.2 Service not available", Category.UNAVAILABLE, "later"),
    ("greeting", 554, "5.7.1 Your IP is blocked", Category.REJECTED, "block"),
    ("message", 552, "5.3.4 Message size exceeds fixed limit", Category.REJECTED, "smaller"),
    ("starttls", 454, "4.7.0 TLS not available", Category.TLS, "465"),
    ("ehlo", 538, "5.7.11 Encryption required", Category.TLS, "STARTTLS"),
    ("mail", 250, "weird", Category.PROTOCOL, "SMTP server"),
])
def test_reply_rules(phase, code, text, category, advice_part):
    result = reply_failure(CTX, phase, code, text)

    assert result.category is category
    assert str(code) in result.message
    assert advice_part in result.advice


@pytest.mark.parametrize(("code", "part"), [
    (18, "is self-signed"), (20, "does not trust"), (10, "expired"), (9, "not valid yet"),
    (62, "valid for a.example.test, b.example.test, not for smtp.example.test"),
    (99, "could not be verified"),
])
def test_certificate_rules(code, part):
    info = CertificateInfo("CN=a.example.test", "CN=Some CA", "2020-01-01T00:00:00Z",
                           "2021-01-01T00:00:00Z", ("a.example.test", "b.example.test"))
    result = certificate_failure(CTX, code, "reason", info)

    assert result.category is Category.CERTIFICATE
    assert part in result.message
    if code != 9:
        assert "mail.smtp.ssl.trust = smtp.example.test" in result.advice


def test_certificate_rules_without_details():
    result = certificate_failure(CTX, 62, "Hostname mismatch", None)

    assert result.category is Category.CERTIFICATE
    assert "not for smtp.example.test" in result.message
