"""Each consistency Fix yields keys the transport accepts against the matching real server."""

from __future__ import annotations

import pytest

from smtp_desktop.config.consistency import check_consistency
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.mail import send_test_email


def incoherent(port: int, keys: dict[str, str]) -> SmtpSettings:
    return SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com", port=port,
                        username="tester@example.test", keys=tuple(keys.items()))


CASES = [
    # (finding id, the port the finding is about, keys before the fix, server fixture)
    ("implicit-tls-port-without-ssl", 465, {"mail.smtp.auth": "true"}, "implicit_tls_server"),
    ("ssl-on-starttls-port", 587,
     {"mail.smtp.auth": "true", "mail.smtp.ssl.enable": "true"}, "starttls_auth_server"),
    ("ssl-and-starttls", 2465,
     {"mail.smtp.auth": "true", "mail.smtp.ssl.enable": "true",
      "mail.smtp.starttls.enable": "true"}, "implicit_tls_server"),
    ("password-unencrypted", 587,
     {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "false"}, "starttls_auth_server"),
]


@pytest.mark.parametrize(("finding_id", "port", "keys", "server_fixture"), CASES,
                         ids=[case[0] for case in CASES])
def test_fix_is_accepted_by_the_matching_server(request, finding_id, port, keys, server_fixture):
    server = request.getfixturevalue(server_fixture)
    settings = incoherent(port, keys)
    finding = next(f for f in check_consistency(settings) if f.id == finding_id)
    fixed = finding.fix(settings)
    assert not [f for f in check_consistency(fixed) if f.id == finding_id]
    # The same keys, pointed at the real server (which listens on a free port, not 465/587).
    target = fixed.with_changes(host=server.host, port=server.port, username=server.username)
    outcome = send_test_email(target, server.password, "qa@example.test")
    assert outcome.ok, (outcome.category, outcome.message)
    assert outcome.security == server.security
    assert len(server.messages) == 1


def test_without_the_fix_the_implicit_tls_server_is_not_reached(implicit_tls_server):
    settings = incoherent(465, {"mail.smtp.auth": "true", "mail.smtp.timeout": "1500"})
    target = settings.with_changes(host=implicit_tls_server.host, port=implicit_tls_server.port,
                                   username=implicit_tls_server.username)
    outcome = send_test_email(target, implicit_tls_server.password, "qa@example.test")
    assert not outcome.ok
    assert outcome.category.value in ("tls", "timeout", "protocol")
