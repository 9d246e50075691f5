"""Issue 11, section 3: one reading of the JavaMail keys (smtp_desktop/config/policy.py)."""

from __future__ import annotations

import json

import pytest

from smtp_desktop.config.consistency import check_consistency, security_summary
from smtp_desktop.config.keys import BY_NAME, TLS_VERSIONS, is_used
from smtp_desktop.config.model import DefaultService, Service, SmtpSettings
from smtp_desktop.config.policy import (
    TlsMode,
    connection_policy,
    host_is_loopback,
    is_loopback_address,
    normalize_host,
)
from smtp_desktop.config.store import default_service_from_document, settings_from_document
from smtp_desktop.config.validation import validate, validate_default_service
from smtp_desktop.mail.options import options_from_settings, unused_keys

ALLOW = "smtp-desktop.allow-unencrypted-login"


def _settings(keys: dict[str, str], host: str = "smtp.example.com", port: int = 587) -> SmtpSettings:
    return SmtpSettings(enabled=True, service=Service.OWN, host=host, port=port,
                        username="me@example.com", keys=tuple(keys.items()))


# ---------------------------------------------------------------- loopback


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1", True), ("127.255.255.254", True), ("127.1.2.3", True), ("::1", True),
    ("[::1]", True), ("0:0:0:0:0:0:0:1", True),
    # The IPv4-mapped form: ipaddress says False on 3.11 and True on 3.13; we say True on both.
    ("::ffff:127.0.0.1", True), ("::ffff:7f00:1", True), ("::FFFF:127.9.9.9", True),
    ("::ffff:10.0.0.1", False), ("::ffff:128.0.0.1", False), ("::2", False),
    ("10.254.0.2", False), ("128.0.0.1", False), ("fe80::1%lo", False), ("0.0.0.0", False),
    ("localhost", False), ("127.example.com", False), ("", False),
])
def test_is_loopback_address_decides_on_the_address(address, expected):
    assert is_loopback_address(address) is expected


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", True), ("::ffff:127.0.0.1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST.", True), ("10.0.0.1", False), ("::ffff:10.0.0.1", False),
    ("127.example.com", None), ("smtp.example.com", None), ("localhost.example.com", None),
])
def test_before_connecting_only_an_ip_or_localhost_tells(host, expected):
    assert host_is_loopback(host) is expected


def test_the_transport_decides_on_the_connected_address_not_the_name():
    policy = connection_policy(_settings({"mail.smtp.auth": "true"}, host="127.example.com"))
    assert policy.may_log_in_unencrypted("127.0.0.1") is True
    assert policy.may_log_in_unencrypted("::ffff:127.0.0.1") is True
    assert policy.may_log_in_unencrypted("10.0.0.7") is False
    opted_in = connection_policy(_settings({"mail.smtp.auth": "true", ALLOW: "true"}))
    assert opted_in.may_log_in_unencrypted("10.0.0.7") is True


# ---------------------------------------------------------------- host names and trust


@pytest.mark.parametrize(("given", "expected"), [
    ("smtp.example.com", "smtp.example.com"), ("SMTP.Example.COM.", "smtp.example.com"),
    ("smtp.example.com..", "smtp.example.com."), ("[::1]", "::1"), (" host ", "host"),
])
def test_host_names_are_lowercased_and_lose_one_trailing_dot(given, expected):
    assert normalize_host(given) == expected


@pytest.mark.parametrize(("host", "trust", "trusted"), [
    ("smtp.example.com.", "smtp.example.com", True),  # the finding
    ("smtp.example.com", "smtp.example.com.", True),
    ("SMTP.example.com", "smtp.EXAMPLE.com", True),
    ("smtp.example.com", "*", True),
    ("smtp.example.com", "other.example.com smtp.example.com", True),
    ("smtp.example.com", "other.example.com", False),
    ("smtp.example.com", "example.com", False),
])
def test_trust_compares_normalized_names_and_the_summary_says_what_the_transport_does(
        host, trust, trusted):
    settings = _settings({"mail.smtp.auth": "true", "mail.smtp.starttls.required": "true",
                          "mail.smtp.ssl.trust": trust}, host=host)
    assert connection_policy(settings).trust_without_verification is trusted
    assert options_from_settings(settings).trust_without_verification is trusted
    summary = security_summary(settings, True)
    assert ("certificate trusted without verification" in summary) is trusted
    assert ("certificate verified" in summary) is not trusted


# ---------------------------------------------------------------- TLS mode


@pytest.mark.parametrize(("keys", "mode", "required"), [
    ({}, TlsMode.STARTTLS, False),
    ({"mail.smtp.starttls.enable": "false"}, TlsMode.NONE, False),
    ({"mail.smtp.starttls.enable": "false", "mail.smtp.starttls.required": "true"},
     TlsMode.STARTTLS, True),  # required implies enable
    ({"mail.smtp.starttls.required": "TRUE"}, TlsMode.STARTTLS, True),
    ({"mail.smtp.ssl.enable": "true", "mail.smtp.starttls.required": "true"}, TlsMode.IMPLICIT, False),
    ({"mail.smtp.starttls.enable": "yes"}, TlsMode.NONE, False),  # JavaMail: only "true" is true
])
def test_tls_mode(keys, mode, required):
    policy = connection_policy(_settings(keys))
    assert (policy.tls_mode, policy.starttls_required) == (mode, required)
    assert policy.security == mode.value


def test_tls_versions_are_one_ordered_table():
    policy = connection_policy(_settings({"mail.smtp.ssl.protocols": "TLSv1.3 TLSv1.2 TLSv9"}))
    assert (policy.min_tls, policy.max_tls) == ("TLSv1.2", "TLSv1.3")
    assert list(TLS_VERSIONS) == sorted(TLS_VERSIONS, key=lambda v: [int(p) for p in v[4:].split(".")])


def test_timeouts_fall_back_to_the_default_when_unreadable():
    policy = connection_policy(_settings({"mail.smtp.timeout": "abc", "mail.smtp.connectiontimeout": "0",
                                          "mail.smtp.writetimeout": "1500"}))
    assert policy.read_timeout == int(BY_NAME["mail.smtp.timeout"].default) / 1000
    assert policy.connect_timeout == int(BY_NAME["mail.smtp.connectiontimeout"].default) / 1000
    assert policy.write_timeout == 1.5


# ---------------------------------------------------------------- mechanisms


def test_mechanisms_the_transport_does_not_implement_are_named_not_silently_dropped():
    policy = connection_policy(_settings({"mail.smtp.auth.mechanisms": "digest-md5 PLAIN NTLM login",
                                          "mail.smtp.auth.login.disable": "true"}))
    assert policy.mechanisms == ("PLAIN",)
    assert policy.unimplemented_mechanisms == ("DIGEST-MD5", "NTLM")


@pytest.mark.parametrize("value", ["NTLM DIGEST-MD5", "ntlm"])
def test_a_list_with_no_implemented_mechanism_is_a_validation_error(value):
    problems = validate(_settings({"mail.smtp.auth": "true", "mail.smtp.auth.mechanisms": value}))
    assert [p.field for p in problems] == ["keys"]
    assert "does not implement" in problems[0].message
    assert "PLAIN, LOGIN, CRAM-MD5" in problems[0].message


def test_unimplemented_mechanisms_beside_implemented_ones_are_a_visible_warning_with_a_fix():
    settings = _settings({"mail.smtp.auth": "true", "mail.smtp.auth.mechanisms": "DIGEST-MD5 PLAIN NTLM",
                          "mail.smtp.timeout": "5000"})
    assert validate(settings) == []  # so a saved file still loads and saves
    (finding,) = check_consistency(settings)
    assert finding.id == "unimplemented-mechanisms" and finding.severity.value == "warning"
    assert "DIGEST-MD5 NTLM" in finding.message and "not implement" in finding.message
    fixed = finding.fix(settings)
    assert fixed.keys_dict == {"mail.smtp.auth": "true", "mail.smtp.auth.mechanisms": "PLAIN",
                               "mail.smtp.timeout": "5000"}
    assert check_consistency(fixed) == []


# ---------------------------------------------------------------- the opt-in key


def test_the_opt_in_key_is_catalogued_used_and_accepted_in_both_files():
    assert is_used(ALLOW) and BY_NAME[ALLOW].default == "false"
    settings = _settings({"mail.smtp.auth": "true", ALLOW: "true"})
    assert unused_keys(settings) == ()
    assert validate(settings) == []
    assert connection_policy(settings).allow_unencrypted_login is True
    assert "must be true or false" in validate(_settings({ALLOW: "yes"}))[0].message

    document = {"version": 1, "enabled": True, "service": "own",
                "own": {"host": "smtp.example.com", "port": 587, "username": "me@example.com",
                        "keys": {"mail.smtp.auth": True, ALLOW: True}}}
    loaded = settings_from_document(json.loads(json.dumps(document)))
    assert loaded.key(ALLOW) == "true" and validate(loaded) == []

    service = default_service_from_document(
        {"version": 1, "host": "smtp.vendor.example", "port": 587, "username": "svc",
         "sender": "noreply@example.com", "keys": {"mail.smtp.auth": "true", ALLOW: "true"}})
    assert isinstance(service, DefaultService) and validate_default_service(service) == []
    assert connection_policy(service.as_settings()).allow_unencrypted_login is True


def test_applying_a_preset_does_not_carry_the_opt_in_over():
    from smtp_desktop.config.presets import CONNECTION_KEYS

    assert ALLOW in CONNECTION_KEYS


def test_disabling_every_listed_mechanism_leaves_no_login_and_is_a_validation_error():
    settings = _settings({"mail.smtp.auth": "true", "mail.smtp.auth.mechanisms": "LOGIN PLAIN",
                          "mail.smtp.auth.login.disable": "true",
                          "mail.smtp.auth.plain.disable": "true"})
    (problem,) = validate(settings)
    assert problem.field == "keys" and problem.row == 1
    assert "No login mechanism is left" in problem.message
    assert validate(settings.with_changes(keys=(*settings.keys[:3], ("mail.smtp.auth.plain.disable",
                                                                      "false")))) == []
    assert validate(settings.with_changes(keys=(("mail.smtp.auth", "false"), *settings.keys[1:]))) == []


# ---------------------------------------------------------------- mechanisms by login method (issue 14)


def _oauth2(keys: dict[str, str], provider: str = "microsoft") -> SmtpSettings:
    from smtp_desktop.config.model import AuthMethod, OAuth2Provider, OAuth2Settings

    oauth2 = OAuth2Settings(provider=OAuth2Provider(provider), client_id="client",
                            tenant="organizations", authorization_endpoint="https://a.example/auth",
                            token_endpoint="https://a.example/token", scopes=("smtp",))
    return _settings(keys).with_changes(auth=AuthMethod.OAUTH2, oauth2=oauth2)


@pytest.mark.parametrize(("provider", "expected"), [
    ("microsoft", ("XOAUTH2", "OAUTHBEARER")), ("google", ("XOAUTH2", "OAUTHBEARER")),
    ("custom", ("OAUTHBEARER", "XOAUTH2"))])
def test_oauth2_tries_the_token_mechanisms_by_default(provider, expected):
    policy = connection_policy(_oauth2({"mail.smtp.auth": "true"}, provider))
    assert policy.oauth2 and policy.mechanisms == expected
    assert validate(_oauth2({"mail.smtp.auth": "true"}, provider)) == []


def test_oauth2_may_list_only_the_token_mechanisms():
    settings = _oauth2({"mail.smtp.auth": "true", "mail.smtp.auth.mechanisms": "OAUTHBEARER PLAIN"})
    assert connection_policy(settings).mechanisms == ("OAUTHBEARER",)
    problems = validate(settings)
    assert [p.field for p in problems] == ["keys"]
    assert "may list only XOAUTH2 and OAUTHBEARER; remove PLAIN" in problems[0].message
    assert validate(_oauth2({"mail.smtp.auth": "true",
                             "mail.smtp.auth.mechanisms": "OAUTHBEARER"})) == []


@pytest.mark.parametrize("value", ["XOAUTH2", "PLAIN oauthbearer"])
def test_token_mechanisms_with_a_password_are_invalid(value):
    settings = _settings({"mail.smtp.auth": "true", "mail.smtp.auth.mechanisms": value})
    assert "PLAIN" not in connection_policy(settings).foreign_mechanisms
    problems = validate(settings)
    assert [p.field for p in problems] == ["keys"]
    assert "OAuth2 token" in problems[0].message


def test_the_security_summary_names_the_oauth2_token():
    from smtp_desktop.config.consistency import security_summary

    summary = security_summary(_oauth2({"mail.smtp.auth": "true",
                                        "mail.smtp.starttls.required": "true"}), False)
    assert summary.endswith("OAuth2 (microsoft) access token from the system keyring")
    assert "password" not in summary
