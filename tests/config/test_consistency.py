"""Port/TLS/login consistency findings, their fixes, and the one-line security summary."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtp_desktop.config.consistency import Severity, check_consistency, is_loopback, security_summary
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.config.validation import validate


def _settings(port: int, keys: dict[str, str], host: str = "smtp.example.com") -> SmtpSettings:
    return SmtpSettings(enabled=True, service=Service.OWN, host=host, port=port,
                        username="me@example.com", keys=tuple(keys.items()))


AUTH = {"mail.smtp.auth": "true"}
SSL = {"mail.smtp.ssl.enable": "true"}
STARTTLS = {"mail.smtp.starttls.enable": "true"}
REQUIRED = {"mail.smtp.starttls.required": "true"}
NO_STARTTLS = {"mail.smtp.starttls.enable": "false"}
ALLOW = {"smtp-desktop.allow-unencrypted-login": "true"}


@pytest.mark.parametrize(("settings_", "expected"), [
    (_settings(465, AUTH), ["implicit-tls-port-without-ssl"]),
    (_settings(465, AUTH | STARTTLS | REQUIRED), ["implicit-tls-port-without-ssl"]),
    (_settings(587, AUTH | SSL), ["ssl-on-starttls-port"]),
    (_settings(25, AUTH | SSL | STARTTLS), ["ssl-on-starttls-port"]),
    (_settings(465, AUTH | SSL | STARTTLS), ["ssl-and-starttls"]),
    (_settings(2465, AUTH | SSL | REQUIRED), ["ssl-and-starttls"]),
    (_settings(587, AUTH | NO_STARTTLS), ["password-unencrypted"]),
    (_settings(2525, AUTH | NO_STARTTLS), ["password-unencrypted"]),
    (_settings(465, AUTH | NO_STARTTLS), ["password-unencrypted", "implicit-tls-port-without-ssl"]),
])
def test_each_disagreement_is_found(settings_, expected):
    assert [f.id for f in check_consistency(settings_)] == expected


@pytest.mark.parametrize("settings_", [
    _settings(587, AUTH | STARTTLS),
    _settings(587, AUTH | STARTTLS | REQUIRED),
    _settings(587, AUTH),  # STARTTLS by default when offered
    _settings(587, AUTH | NO_STARTTLS | REQUIRED),  # required implies STARTTLS
    _settings(465, AUTH | SSL),
    _settings(2525, AUTH | SSL),
    _settings(25, {"mail.smtp.auth": "false", **NO_STARTTLS}),
    _settings(25, AUTH | NO_STARTTLS, host="127.0.0.1"),
    _settings(25, AUTH | NO_STARTTLS, host="::1"),
    _settings(25, AUTH | NO_STARTTLS, host="localhost"),
    _settings(1025, AUTH | NO_STARTTLS, host="127.0.0.53"),
    SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com", username="me@example.com"),
])
def test_coherent_settings_have_no_findings(settings_):
    assert check_consistency(settings_) == []


def test_a_password_in_the_clear_is_a_danger_and_the_rest_are_warnings():
    danger = check_consistency(_settings(587, AUTH | NO_STARTTLS | ALLOW))[0]
    assert danger.severity is Severity.DANGER
    assert "smtp.example.com" in danger.message and danger.fix_label
    assert "will be sent unencrypted" in danger.message
    warning = check_consistency(_settings(465, AUTH))[0]
    assert warning.severity is Severity.WARNING and warning.fix_label


@pytest.mark.parametrize(("host", "unless"), [("10.0.0.5", False), ("smtp.example.com", True)])
def test_a_login_with_starttls_turned_off_will_be_refused_not_obeyed(host, unless):
    (finding,) = check_consistency(_settings(587, AUTH | NO_STARTTLS, host=host))
    assert finding.id == "password-unencrypted" and finding.severity is Severity.DANGER
    assert f"The login to {host} will be refused" in finding.message
    assert ("unless it turns out to be on this computer" in finding.message) is unless
    assert "obeyed" not in finding.message


def test_fixes_produce_the_expected_keys_and_keep_the_users_others():
    before = _settings(587, {"mail.smtp.timeout": "5000", **AUTH, **SSL, "mail.from": "a@b.example"})
    (finding,) = check_consistency(before)
    after = finding.fix(before)
    assert after.keys == (("mail.smtp.timeout", "5000"), ("mail.smtp.auth", "true"),
                          ("mail.from", "a@b.example"), ("mail.smtp.starttls.enable", "true"),
                          ("mail.smtp.starttls.required", "true"))
    (finding,) = check_consistency(_settings(465, AUTH | STARTTLS))
    assert finding.fix(_settings(465, AUTH | STARTTLS)).keys_dict == AUTH | SSL


_FLAG = st.sampled_from([None, "true", "false", "TRUE", "False"])
_CONNECTION_KEYS = ("mail.smtp.auth", "mail.smtp.ssl.enable", "mail.smtp.starttls.enable",
                    "mail.smtp.starttls.required")
_OTHER_KEYS = (("mail.smtp.timeout", "15000"), ("mail.from", "me@example.com"),
               ("mail.smtp.localhost", "pc.example.com"), ("mail.smtp.connectiontimeout", "5000"))


@st.composite
def _any_settings(draw) -> SmtpSettings:
    keys: list[tuple[str, str]] = []
    for name, other in zip(draw(st.permutations(_CONNECTION_KEYS)), _OTHER_KEYS, strict=True):
        value = draw(_FLAG)
        if value is not None:
            keys.append((name, value))
        if draw(st.booleans()):
            keys.append(other)
    return SmtpSettings(
        enabled=True, service=Service.OWN, username="me@example.com",
        host=draw(st.sampled_from(["smtp.example.com", "localhost", "127.0.0.1", "::1", "10.0.0.5"])),
        port=draw(st.sampled_from([25, 465, 587, 2525, 1025, 2465])),
        keys=tuple(keys),
    )


@settings(max_examples=500)
@given(original=_any_settings())
def test_every_fix_leaves_no_findings_and_passes_validation(original):
    assert validate(original) == []
    for finding in check_consistency(original):
        fixed = finding.fix(original)
        assert check_consistency(fixed) == [], finding.id
        assert validate(fixed) == []
        assert (fixed.host, fixed.port, fixed.username) == (original.host, original.port, original.username)
        others = [pair for pair in original.keys if pair[0] not in _CONNECTION_KEYS]
        assert [pair for pair in fixed.keys if pair[0] not in _CONNECTION_KEYS] == others
        assert fixed.auth_required == original.auth_required


@pytest.mark.parametrize(("host", "expected"), [
    ("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True), ("127.1.2.3", True),
    ("::1", True), ("[::1]", True), ("10.0.0.1", False), ("smtp.example.com", False),
    ("localhost.example.com", False), ("", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


@pytest.mark.parametrize(("settings_", "in_keyring", "expected"), [
    (_settings(587, AUTH | STARTTLS | REQUIRED), True,
     "STARTTLS on 587, certificate verified, password from the system keyring"),
    (_settings(465, AUTH | SSL | {"mail.smtp.ssl.trust": "smtp.x"}, host="smtp.x"), True,
     "Implicit TLS on 465, certificate trusted without verification for smtp.x (mail.smtp.ssl.trust)"
     ", password from the system keyring"),
    (_settings(25, {"mail.smtp.auth": "false", **NO_STARTTLS}, host="127.0.0.1"), False,
     "Not encrypted: port 25 on 127.0.0.1 (this computer), no login"),
    (_settings(465, AUTH | SSL | {"mail.smtp.ssl.trust": "*"}), False,
     "Implicit TLS on 465, certificate trusted without verification for smtp.example.com "
     "(mail.smtp.ssl.trust), password not stored in the system keyring"),
    (_settings(465, AUTH | SSL | {"mail.smtp.ssl.trust": "other.example.com"}), True,
     "Implicit TLS on 465, certificate verified, password from the system keyring"),
    (_settings(587, AUTH | REQUIRED | {"mail.smtp.ssl.checkserveridentity": "false"}), True,
     "STARTTLS on 587, certificate not checked against the host name "
     "(mail.smtp.ssl.checkserveridentity false), password from the system keyring"),
    (_settings(587, AUTH), True,
     "STARTTLS on 587 if smtp.example.com offers it (not required, so it may fall back to no "
     "encryption), certificate verified, password from the system keyring, never sent "
     "unencrypted: the login is refused if STARTTLS is not offered, unless the server is on this "
     "computer"),
    (_settings(587, AUTH, host="10.0.0.5"), True,
     "STARTTLS on 587 if 10.0.0.5 offers it (not required, so it may fall back to no "
     "encryption), certificate verified, password from the system keyring, never sent "
     "unencrypted: the login is refused if STARTTLS is not offered"),
    (_settings(587, AUTH, host="::ffff:127.0.0.1"), True,
     "STARTTLS on 587 if ::ffff:127.0.0.1 offers it (not required, so it may fall back to no "
     "encryption), certificate verified, password from the system keyring"),
    (_settings(25, AUTH | NO_STARTTLS), True,
     "Not encrypted: port 25 on smtp.example.com, password from the system keyring, never sent "
     "unencrypted: the login is refused, unless the server is on this computer"),
    (_settings(25, AUTH | NO_STARTTLS | ALLOW), True,
     "Not encrypted: port 25 on smtp.example.com, password from the system keyring, sent "
     "unencrypted (smtp-desktop.allow-unencrypted-login)"),
    (_settings(587, AUTH | ALLOW), False,
     "STARTTLS on 587 if smtp.example.com offers it (not required, so it may fall back to no "
     "encryption), certificate verified, password not stored in the system keyring, sent "
     "unencrypted if STARTTLS is not offered (smtp-desktop.allow-unencrypted-login)"),
    (_settings(465, AUTH | SSL | {"mail.smtp.ssl.trust": "smtp.example.com"},
               host="SMTP.Example.com."), True,
     "Implicit TLS on 465, certificate trusted without verification for SMTP.Example.com. "
     "(mail.smtp.ssl.trust), password from the system keyring"),
])
def test_security_summary(settings_, in_keyring, expected):
    assert security_summary(settings_, password_in_keyring=in_keyring) == expected


def test_the_unencrypted_login_warning_names_the_access_token_for_oauth2():
    import dataclasses

    from smtp_desktop.config.model import AuthMethod

    password = _settings(587, AUTH | NO_STARTTLS)
    oauth2 = dataclasses.replace(password, auth=AuthMethod.OAUTH2)
    (finding,) = check_consistency(oauth2)
    assert "an access token is never sent unencrypted" in finding.message
    assert "password" not in finding.message
    allowed = dataclasses.replace(oauth2, keys=oauth2.keys + tuple(ALLOW.items()))
    (finding,) = check_consistency(allowed)
    assert finding.message.startswith("The access token will be sent unencrypted")
    (finding,) = check_consistency(password)
    assert "a password is never sent unencrypted" in finding.message
