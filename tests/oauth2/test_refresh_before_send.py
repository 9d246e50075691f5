"""Issue 14, step 3: tokens in the keyring, refresh before a send under a lock, one refresh and
retry after the server refuses a token, and a revoked sign-in as category auth "Sign in again".

Real parts: the suite's authorization server on 127.0.0.1 (support/oauth_server.py) and an
aiosmtpd server that takes only its valid access tokens (support/oauth_smtp.py)."""

from __future__ import annotations

import json
import threading

import pytest
from support.memory_keyring import MemoryKeyring
from support.oauth_server import CLIENT_ID
from support.oauth_smtp import OAuthHandler
from support.smtp_servers import USERNAME

from smtp_desktop.config.model import AuthMethod, OAuth2Provider, OAuth2Settings
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.tokens import TokenSet, TokenStore, token_account
from smtp_desktop.mail import Category, send_test_email
from smtp_desktop.oauth2.sending import with_access_token
from smtp_desktop.oauth2.token_endpoint import access_token

PAST = "2020-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"


@pytest.fixture
def authz_user() -> str:
    return USERNAME  # the account of the aiosmtpd server that takes the tokens


@pytest.fixture
def setup(authz, smtp_server_factory, _good_pems, tmp_path):
    handler = OAuthHandler(authz.valid_access)
    smtp = smtp_server_factory("starttls", pems=_good_pems, handler=handler)
    oauth2 = OAuth2Settings(provider=OAuth2Provider.CUSTOM, client_id=CLIENT_ID, tenant=None,
                            authorization_endpoint=f"{authz.base}/authorize",
                            token_endpoint=f"{authz.base}/token", scopes=("smtp",))
    settings = smtp.settings().with_changes(auth=AuthMethod.OAUTH2, oauth2=oauth2)
    ring = MemoryKeyring()
    store = TokenStore(SecretStore(ring))
    return settings, store, handler, ring, tmp_path / "config"


def _signed_in(authz, store, settings, expires_at: str) -> TokenSet:
    issued = authz.issue()
    tokens = TokenSet(refresh_token=issued["refresh_token"], access_token=issued["access_token"],
                      expires_at=expires_at, scopes=("smtp",), account=USERNAME)
    store.set(settings, tokens)
    return tokens


def _send(settings, store, folder):
    return with_access_token(settings, store,
                             lambda token: send_test_email(settings, token, "qa@example.test"),
                             lock_folder=folder)


def test_tokens_live_in_the_keyring_as_json_under_the_account(authz, setup):
    settings, store, _, ring, _ = setup
    tokens = _signed_in(authz, store, settings, FUTURE)
    assert token_account(settings) == f"oauth2:{USERNAME}@{settings.host}"
    value = json.loads(ring.entries[("smtp-desktop", token_account(settings))])
    assert set(value) == {"refresh_token", "access_token", "expires_at", "scopes", "account",
                          "client"}
    assert store.get(settings) == tokens


def test_a_valid_access_token_is_used_without_a_refresh(authz, setup):
    settings, store, handler, _, folder = setup
    _signed_in(authz, store, settings, FUTURE)
    assert _send(settings, store, folder).ok
    assert authz.refreshes == 0 and len(handler.logins) == 1


def test_an_expired_access_token_is_refreshed_before_the_send(authz, setup, caplog):
    caplog.set_level("DEBUG", logger="smtp_desktop")
    settings, store, handler, _, folder = setup
    before = _signed_in(authz, store, settings, PAST)
    outcome = _send(settings, store, folder)
    assert outcome.ok, outcome.message
    assert authz.refreshes == 1 and len(handler.logins) == 1  # refreshed first, one login
    after = store.get(settings)
    assert after.refresh_token != before.refresh_token  # the rotated refresh token was kept
    assert after.access_token != before.access_token and not after.expired()
    for secret in (before.refresh_token, after.refresh_token, after.access_token):
        assert secret not in caplog.text and secret not in json.dumps(outcome.to_json())


def test_a_refused_token_is_refreshed_once_and_the_send_retried(authz, setup):
    settings, store, handler, _, folder = setup
    _signed_in(authz, store, settings, FUTURE)
    authz.expire_access()  # the server no longer takes it, though its expiry is far off
    outcome = _send(settings, store, folder)
    assert outcome.ok, outcome.message
    assert authz.refreshes == 1 and len(handler.logins) == 2


def test_a_token_refused_again_after_the_refresh_is_not_retried_forever(authz, setup, monkeypatch):
    settings, store, handler, _, folder = setup
    _signed_in(authz, store, settings, FUTURE)
    monkeypatch.setattr(handler, "accepts", lambda user, token: False)
    outcome = _send(settings, store, folder)
    assert not outcome.ok and outcome.category is Category.AUTH
    assert authz.refreshes == 1 and len(handler.logins) == 2


def test_a_revoked_refresh_token_is_category_auth_sign_in_again(authz, setup):
    settings, store, handler, _, folder = setup
    _signed_in(authz, store, settings, PAST)
    authz.revoke_refresh()
    outcome = _send(settings, store, folder)
    assert not outcome.ok and outcome.category is Category.AUTH
    assert "invalid_grant" in outcome.message and "Sign in again" in outcome.advice
    assert handler.logins == []  # nothing was tried with a token known to be dead


def test_not_signed_in_is_category_auth(setup):
    settings, store, _, _, folder = setup
    outcome = _send(settings, store, folder)
    assert not outcome.ok and outcome.category is Category.AUTH
    assert "Not signed in" in outcome.message


def test_concurrent_sends_refresh_once_under_the_lock(authz, setup):
    """The server rotates refresh tokens: a second, racing refresh would get invalid_grant."""
    settings, store, _, _, folder = setup
    _signed_in(authz, store, settings, PAST)
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        try:
            results.append(access_token(settings, store, lock_folder=folder))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and authz.refreshes == 1
    assert len(set(results)) == 1 and authz.valid_access(USERNAME, results[0])


# ---------------------------------------------------------------- tokens follow the account


@pytest.fixture
def config(tmp_path):
    from smtp_desktop.config.paths import resolve_paths
    from smtp_desktop.config.service import ConfigService

    ring = MemoryKeyring()
    return ConfigService(resolve_paths(tmp_path / "c", tmp_path / "d", {}), SecretStore(ring)), ring


def _oauth_settings():
    from smtp_desktop.config.model import Service, SmtpSettings

    return SmtpSettings(enabled=True, service=Service.OWN, host="smtp.office365.com", port=587,
                        username="me@contoso.com", auth=AuthMethod.OAUTH2,
                        oauth2=OAuth2Settings(client_id="00000000-0000-0000-0000-000000000001"))


def test_tokens_follow_the_account_when_the_username_changes(config):
    service, ring = config
    first = _oauth_settings()
    service.save(first)
    tokens = TokenSet("r", "a", FUTURE, ("x",), "me@contoso.com")
    service.tokens.set(first, tokens)
    second = first.with_changes(username="other@contoso.com")
    service.save(second, previous=first)
    assert service.tokens.get(second) == tokens
    assert service.tokens.get(first) is None
    assert [a for _, a in ring.entries] == ["oauth2:other@contoso.com@smtp.office365.com"]


@pytest.mark.parametrize("change", [
    {"client_id": "00000000-0000-0000-0000-000000000002"}, {"tenant": "consumers"},
    {"provider": OAuth2Provider.GOOGLE}])
def test_changing_provider_client_or_tenant_signs_out(config, change):
    service, ring = config
    first = _oauth_settings()
    service.save(first)
    service.tokens.set(first, TokenSet("r", "a", FUTURE))
    second = first.with_changes(oauth2=first.oauth2.with_changes(**change))
    service.save(second, previous=first)
    assert ring.entries == {}


def test_tokens_are_never_in_the_settings_file(config):
    service, _ = config
    first = _oauth_settings()
    service.tokens.set(first, TokenSet("refresh-SECRET", "access-SECRET", FUTURE))
    service.save(first)
    assert "SECRET" not in service.paths.settings_file.read_text()


def test_a_sign_in_with_the_new_client_survives_saving_the_client_change(config):
    """The window signs in with the draft's client before Save: those tokens stay."""
    from smtp_desktop.config.tokens import client_key

    service, _ring = config
    first = _oauth_settings()
    service.save(first)
    second = first.with_changes(oauth2=first.oauth2.with_changes(client_id="new-client"))
    tokens = TokenSet("r", "a", FUTURE, client=client_key(second))
    service.tokens.set(second, tokens)
    service.save(second, previous=first)
    assert service.tokens.get(second) == tokens
