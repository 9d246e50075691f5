"""Issue 14, sending: XOAUTH2 and OAUTHBEARER (RFC 7628) against a real aiosmtpd server that
accepts only a valid access token, the mechanism chosen from what the server advertises, the
error challenge, and no token in any transcript, outcome or log line."""

from __future__ import annotations

import base64

import pytest
from support.oauth_smtp import MICROSOFT_DISABLED, OAuthHandler
from support.smtp_servers import USERNAME

from smtp_desktop.config.model import AuthMethod, OAuth2Provider, OAuth2Settings
from smtp_desktop.mail import Category, probe, send_test_email
from smtp_desktop.mail.sasl import ErrorChallenge

TOKEN = "ya29.a0AfH6SM-valid+token/with=base64ish_chars"
WRONG = "ya29.expired-token-0123456789"


def _token_forms(token: str, host: str, port: int) -> list[str]:
    """The token as it could leak: raw, and base64 of each mechanism's payload."""
    user = USERNAME.encode()
    blobs = [b"user=" + user + b"\x01auth=Bearer " + token.encode() + b"\x01\x01",
             b"n,a=" + user + b",\x01host=" + host.encode() + b"\x01port=" + str(port).encode()
             + b"\x01auth=Bearer " + token.encode() + b"\x01\x01"]
    return [token] + [base64.b64encode(b).decode() for b in blobs]


@pytest.fixture
def oauth_server(smtp_server_factory, _good_pems):
    def start(provider: str = "google", exclude: tuple[str, ...] = (), **handler_kwargs):
        handler = OAuthHandler(lambda user, token: user == USERNAME and token == TOKEN,
                               **handler_kwargs)
        server = smtp_server_factory("starttls", pems=_good_pems, handler=handler,
                                     exclude_mechanisms=exclude)
        oauth2 = OAuth2Settings(provider=OAuth2Provider(provider), client_id="client-id",
                                tenant="organizations" if provider == "microsoft" else None,
                                authorization_endpoint="https://127.0.0.1/authorize",
                                token_endpoint="https://127.0.0.1/token", scopes=("smtp",))
        settings = server.settings().with_changes(auth=AuthMethod.OAUTH2, oauth2=oauth2)
        return server, handler, settings
    return start


def _no_token_anywhere(outcome, caplog, host: str, port: int, *tokens: str) -> None:
    import json

    haystacks = [json.dumps(outcome.to_json(), ensure_ascii=False), repr(outcome),
                 *outcome.transcript, caplog.text]
    for token in tokens:
        for form in _token_forms(token, host, port):
            for text in haystacks:
                assert form not in text, f"token form {form!r} leaked into {text[:200]}"


def test_xoauth2_sends_with_a_valid_token_and_the_transcript_redacts_it(oauth_server, caplog):
    caplog.set_level("DEBUG", logger="smtp_desktop")
    server, handler, settings = oauth_server("google")
    outcome = send_test_email(settings, TOKEN, "qa@example.test")
    assert outcome.ok, outcome.message
    assert [(m, u) for m, u, _ in handler.logins] == [("XOAUTH2", USERNAME)]
    assert server.received[0].authenticated
    assert "C: AUTH XOAUTH2 <redacted>" in outcome.transcript
    _no_token_anywhere(outcome, caplog, server.host, server.port, TOKEN)


def test_oauthbearer_is_used_when_it_is_all_the_server_offers(oauth_server, caplog):
    caplog.set_level("DEBUG", logger="smtp_desktop")
    server, handler, settings = oauth_server("microsoft", exclude=("XOAUTH2",))
    outcome = probe(settings, TOKEN)
    assert outcome.ok and outcome.probe.login is True, outcome.message
    assert outcome.probe.auth_mechanisms == ("LOGIN", "OAUTHBEARER", "PLAIN")
    assert [m for m, _, _ in handler.logins] == ["OAUTHBEARER"]
    assert handler.oauthbearer_fields == [
        {"host": server.host, "port": str(server.port), "auth": f"Bearer {TOKEN}"}]
    assert "C: AUTH OAUTHBEARER <redacted>" in outcome.transcript
    _no_token_anywhere(outcome, caplog, server.host, server.port, TOKEN)


def test_a_custom_provider_tries_oauthbearer_first(oauth_server):
    _server, handler, settings = oauth_server("custom")
    assert probe(settings, TOKEN).ok
    assert [m for m, _, _ in handler.logins] == ["OAUTHBEARER"]


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_a_refused_token_gets_the_error_challenge_answered_and_reported(oauth_server, caplog,
                                                                        mechanism):
    caplog.set_level("DEBUG", logger="smtp_desktop")
    server, _handler, settings = oauth_server("google")
    settings = settings.with_changes(keys=(*settings.keys, ("mail.smtp.auth.mechanisms", mechanism)))
    outcome = send_test_email(settings, WRONG, "qa@example.test")
    assert not outcome.ok and outcome.category is Category.AUTH
    assert server.received == []
    # the server got the mechanism's dummy answer (else it replies 501), then refused with 535
    assert any("error challenge: the server did not accept the access token" in line
               and "https://mail.google.com/" in line for line in outcome.transcript)
    assert any(line.startswith("S: 535") for line in outcome.transcript)
    _no_token_anywhere(outcome, caplog, server.host, server.port, WRONG)


def test_the_exchange_tenant_refusal_reaches_the_outcome(oauth_server):
    _server, _, settings = oauth_server("microsoft", refusal=MICROSOFT_DISABLED)
    outcome = send_test_email(settings, WRONG, "qa@example.test")
    assert not outcome.ok and outcome.category is Category.AUTH
    assert "5.7.139" in outcome.message + " ".join(outcome.transcript)


def test_error_challenges_in_plain_words():
    challenge = ErrorChallenge.parse(b'{"status":"401","schemes":"bearer",'
                                     b'"scope":"https://mail.google.com/"}')
    assert challenge == ErrorChallenge("401", "https://mail.google.com/", "bearer")
    assert "did not accept the access token" in challenge.describe()
    assert "insufficient" not in ErrorChallenge("insufficient_scope").describe()
    assert "permission to send mail" in ErrorChallenge("insufficient_scope").describe()
    assert ErrorChallenge.parse(b"not json") is None


def test_the_scrubber_knows_the_token_payload_encodings():
    from smtp_desktop.mail.transcript import Scrubber, secret_forms

    scrub = Scrubber(secret_forms(USERNAME, TOKEN, "smtp.example.test", 587))
    for form in _token_forms(TOKEN, "smtp.example.test", 587):
        assert scrub(f"C: {form}") == "C: <redacted>"


# ---------------------------------------------------------------- diagnosis (issue 14)


def _diagnose(code: int, text: str, *, oauth2: bool, challenge=None):
    from smtp_desktop.mail import diagnosis

    ctx = diagnosis.Context("smtp.office365.com", 587)
    if oauth2:
        return diagnosis.token_refused(ctx, code, text, challenge)
    return diagnosis.reply_failure(ctx, "auth", code, text)


@pytest.mark.parametrize("oauth2", [False, True])
def test_5_7_139_tells_what_the_exchange_admin_must_allow(oauth2):
    result = _diagnose(535, MICROSOFT_DISABLED[4:], oauth2=oauth2)
    assert result.category is Category.AUTH
    assert "SMTP AUTH is turned off" in result.message and "5.7.139" in result.message
    assert "SmtpClientAuthenticationDisabled $false" in result.advice
    assert "Authenticated SMTP" in result.advice


def test_5_7_139_basic_authentication_disabled_with_a_password_points_to_oauth2():
    result = _diagnose(535, "5.7.139 Authentication unsuccessful, basic authentication is "
                            "disabled.", oauth2=False)
    assert "no longer takes passwords" in result.message and "OAuth2" in result.advice


def test_5_7_3_in_plain_words_for_both_login_methods():
    text = "5.7.3 Authentication unsuccessful [SN4PR0501CA0056.namprd05.prod.outlook.com]"
    assert "username or password" in _diagnose(535, text, oauth2=False).message
    token = _diagnose(535, text, oauth2=True)
    assert "access token" in token.message and "SMTP.Send" in token.advice


def test_534_5_7_9_offers_oauth2_beside_the_app_password():
    result = _diagnose(534, "5.7.9 Application-specific password required.", oauth2=False)
    assert "app password" in result.message and "OAuth2" in result.advice


def test_the_decoded_error_challenge_is_the_message():
    challenge = ErrorChallenge("401", "https://mail.google.com/", "bearer")
    result = _diagnose(535, "5.7.8 Username and Password not accepted.", oauth2=True,
                       challenge=challenge)
    assert result.message.startswith("The OAuth2 login failed: The server did not accept the "
                                     "access token")
    assert "https://mail.google.com/" in result.message and "535" in result.message


def test_token_endpoint_errors_in_plain_words():
    from smtp_desktop.oauth2.errors import token_endpoint_error

    grant = token_endpoint_error("invalid_grant", "AADSTS70008: expired")
    assert grant.category is Category.AUTH and "Sign in again" in grant.advice
    client = token_endpoint_error("invalid_client", "AADSTS7000215: Invalid client secret")
    assert "client ID" in client.message
    redirect = token_endpoint_error("invalid_request", "AADSTS50011: The redirect URI "
                                    "'http://localhost:5000/' does not match")
    assert "redirect" in redirect.message and "http://localhost" in redirect.advice
