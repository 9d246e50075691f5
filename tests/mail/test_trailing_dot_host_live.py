"""Issue 11, section 3: a host written with a trailing dot is the same host everywhere: in
mail.smtp.ssl.trust, and in the certificate's host-name check the summary promises."""

from __future__ import annotations

import socket

import pytest
from support.smtp_servers import HOST, trustme_pems

from smtp_desktop.config.consistency import security_summary
from smtp_desktop.mail import Category, send_test_email

NAME = "smtp.example.test"


@pytest.fixture
def named_server(smtp_server_factory, smtp_ca, monkeypatch):
    """A STARTTLS server with a trusted certificate for NAME; NAME (any case, with or without
    the trailing dot) resolves to 127.0.0.1 and nothing else is looked up."""
    server = smtp_server_factory("starttls", pems=trustme_pems(smtp_ca, NAME))
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        assert str(host).rstrip(".").lower() == NAME, host
        return real(HOST, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return server


@pytest.mark.parametrize("host", ["smtp.example.test.", "SMTP.Example.Test."])
def test_a_trailing_dot_host_is_verified_as_the_summary_says(named_server, host):
    settings = named_server.settings().with_changes(host=host)
    assert "certificate verified" in security_summary(settings, True)
    outcome = send_test_email(settings, named_server.password, "qa@example.test")
    assert outcome.ok, (outcome.category, outcome.message)
    assert "* certificate verified" in outcome.transcript


def test_a_trailing_dot_host_still_fails_for_a_certificate_of_another_name(
        smtp_server_factory, smtp_ca, monkeypatch):
    server = smtp_server_factory("starttls", pems=trustme_pems(smtp_ca, "other.example.test"))
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(HOST, *a, **k))
    settings = server.settings().with_changes(host=f"{NAME}.")
    outcome = send_test_email(settings, server.password, "qa@example.test")
    assert outcome.category is Category.CERTIFICATE
