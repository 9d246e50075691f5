"""Issue 14, step 4: the browser flow (authorization code + PKCE S256, loopback redirect, state)
driven by the test following the URL, and the device flow (RFC 8628) with interval and
slow_down, against the suite's authorization server on 127.0.0.1."""

from __future__ import annotations

import threading
import urllib.parse

import pytest
from support.oauth_server import CLIENT_ID, USER, follow

from smtp_desktop.config.model import (
    AuthMethod,
    OAuth2Provider,
    OAuth2Settings,
    Service,
    SmtpSettings,
)
from smtp_desktop.oauth2.errors import OAuth2Error
from smtp_desktop.oauth2.flows import (
    DeviceFlowUnavailable,
    SignInCancelled,
    SignInTimeout,
    browser_sign_in,
    device_sign_in,
)


def _settings(authz, provider: str = "custom", username: str = USER) -> SmtpSettings:
    oauth2 = OAuth2Settings(provider=OAuth2Provider(provider), client_id=CLIENT_ID,
                            tenant="organizations",
                            authorization_endpoint=f"{authz.base}/authorize",
                            token_endpoint=f"{authz.base}/token",
                            device_authorization_endpoint=f"{authz.base}/devicecode",
                            scopes=("openid", "email", "smtp"))
    return SmtpSettings(enabled=True, service=Service.OWN, host="127.0.0.1", port=2525,
                        username=username, auth=AuthMethod.OAUTH2, oauth2=oauth2)


def test_browser_flow_with_pkce_and_state_on_a_loopback_redirect(authz):
    opened: list[str] = []

    def browser(url: str) -> None:
        opened.append(url)
        threading.Thread(target=follow, args=(url,), daemon=True).start()

    result = browser_sign_in(_settings(authz), browser, timeout=30)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(opened[0]).query))
    assert query["code_challenge_method"] == "S256" and len(query["state"]) >= 32
    assert query["redirect_uri"].startswith("http://127.0.0.1:") and query["login_hint"] == USER
    assert authz.valid_access(USER, result.tokens.access_token)
    assert result.tokens.refresh_token and result.tokens.account == USER
    assert result.warning is None
    exchanged = [r for r in authz.requests if r["grant_type"] == "authorization_code"]
    assert exchanged[0]["redirect_uri"] == query["redirect_uri"]  # checked by the server too


def test_microsoft_redirects_to_localhost_and_the_listener_takes_ipv6(authz):
    pages: list[str] = []

    def browser(url: str) -> None:
        # "localhost" may resolve to ::1 first: go there on purpose
        def run() -> None:
            pages.append(follow(url, lambda loc: loc.replace("localhost", "[::1]")))
        threading.Thread(target=run, daemon=True).start()

    result = browser_sign_in(_settings(authz, "microsoft"), browser, timeout=30)
    assert authz.valid_access(USER, result.tokens.access_token)


def test_a_redirect_with_the_wrong_state_is_ignored(authz):
    pages: list[str] = []

    def browser(url: str) -> None:
        def run() -> None:
            forged = follow(url, lambda loc: loc.replace("state=", "state=forged"))
            pages.append(forged)
            pages.append(follow(url))  # the real one still gets through
        threading.Thread(target=run, daemon=True).start()

    result = browser_sign_in(_settings(authz), browser, timeout=30)
    assert authz.valid_access(USER, result.tokens.access_token)
    assert "Not this sign-in" in pages[0]


def test_access_denied_is_an_auth_error(authz):
    def browser(url: str) -> None:
        threading.Thread(target=follow, args=(url, lambda loc: loc.split("?")[0] + "?error="
                         "access_denied&state=" + dict(urllib.parse.parse_qsl(
                             urllib.parse.urlsplit(loc).query))["state"]), daemon=True).start()

    with pytest.raises(OAuth2Error) as caught:
        browser_sign_in(_settings(authz), browser, timeout=30)
    assert caught.value.error == "access_denied" and caught.value.category.value == "auth"


def test_a_browser_that_never_comes_back_times_out(authz):
    with pytest.raises(SignInTimeout):
        browser_sign_in(_settings(authz), lambda url: None, timeout=0.3)


def test_cancel_ends_the_wait(authz):
    cancel = threading.Event()
    with pytest.raises(SignInCancelled):
        browser_sign_in(_settings(authz), lambda url: cancel.set(), timeout=30, cancel=cancel)


def test_a_different_account_gives_a_warning(authz):
    def browser(url: str) -> None:
        threading.Thread(target=follow, args=(url,), daemon=True).start()

    result = browser_sign_in(_settings(authz, username="other@example.test"), browser, timeout=30)
    assert result.tokens.account == USER
    assert "XOAUTH2" in result.warning and USER in result.warning


def test_device_flow_honours_interval_and_slow_down(authz):
    authz.device_script = ["authorization_pending", "slow_down", "authorization_pending", "ok"]
    shown, waits = [], []
    result = device_sign_in(_settings(authz), shown.append,
                            wait=lambda seconds: waits.append(seconds) or False)
    assert shown[0].user_code == "WDJB-MJHT" and shown[0].verification_uri.endswith("/device")
    assert waits == [1.0, 1.0, 6.0, 6.0]
    assert authz.valid_access(USER, result.tokens.access_token)


def test_device_flow_access_denied_and_expiry(authz):
    authz.device_script = ["access_denied"]
    with pytest.raises(OAuth2Error) as caught:
        device_sign_in(_settings(authz), lambda code: None, wait=lambda s: False)
    assert caught.value.error == "access_denied"
    authz.device_script = ["expired_token"]
    with pytest.raises(SignInTimeout):
        device_sign_in(_settings(authz), lambda code: None, wait=lambda s: False)


def test_google_refuses_the_device_flow(authz):
    with pytest.raises(DeviceFlowUnavailable, match="Google does not allow the Gmail scope"):
        device_sign_in(_settings(authz, "google"), lambda code: None)
