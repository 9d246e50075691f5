"""Talking to the token endpoint: the refresh grant (RFC 6749 6), and the one lock that keeps
two refreshes of one account from racing (Microsoft rotates refresh tokens: the loser of a race
would store a refresh token that is already spent).

The request is built and the reply checked with authlib (`prepare_token_request`, its error
types); the POST itself is urllib's, so the dependency set stays authlib + cryptography.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.tokens import TokenSet, TokenStore, expiry_after
from smtp_desktop.mail.errors import Category
from smtp_desktop.oauth2.errors import (
    SIGN_IN_AGAIN,
    NotSignedInError,
    OAuth2Error,
    token_endpoint_error,
)
from smtp_desktop.oauth2.providers import endpoints

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 30.0
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def post_form(url: str, form: dict[str, str], timeout: float = HTTP_TIMEOUT_S) -> dict[str, Any]:
    """POST `form` to a token-style endpoint; the JSON reply, or OAuth2Error with its `error`."""
    import urllib.error
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        text = exc.read(1_000_000)
        data = _json(text)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            raise token_endpoint_error(data["error"], data.get("error_description")) from None
        raise OAuth2Error(f"The token endpoint answered HTTP {exc.code}.", SIGN_IN_AGAIN,
                          Category.PROTOCOL) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OAuth2Error(f"Could not reach the token endpoint: {reason}.",
                          "Check the network connection, then try again.",
                          Category.NETWORK) from None
    data = _json(text)
    if not isinstance(data, dict):
        raise OAuth2Error("The token endpoint's answer is not JSON.", SIGN_IN_AGAIN,
                          Category.PROTOCOL)
    if isinstance(data.get("error"), str):
        raise token_endpoint_error(data["error"], data.get("error_description"))
    return data


def _json(text: bytes) -> Any:
    try:
        return json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def tokens_from_reply(reply: dict[str, Any], before: TokenSet | None = None,
                      now: dt.datetime | None = None) -> TokenSet:
    """The token set a token-endpoint reply gives; a refresh token it does not rotate is kept."""
    access = reply.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuth2Error("The token endpoint sent no access token.", SIGN_IN_AGAIN,
                          Category.PROTOCOL)
    scope = reply.get("scope")
    scopes = tuple(scope.split()) if isinstance(scope, str) else (before.scopes if before else ())
    refresh = reply.get("refresh_token") or (before.refresh_token if before else None)
    expires_in = reply.get("expires_in")
    if not isinstance(expires_in, (int, float)) or isinstance(expires_in, bool):
        expires_in = None
    return TokenSet(refresh_token=refresh, access_token=access,
                    expires_at=expiry_after(expires_in, now), scopes=scopes,
                    account=before.account if before else None,
                    client=before.client if before else None)


def refresh_grant(settings: SmtpSettings, tokens: TokenSet,
                  client_secret: str | None = None) -> TokenSet:
    """Trade the refresh token for a new access token (and, where rotated, refresh token)."""
    from authlib.oauth2.rfc6749.parameters import prepare_token_request

    if not tokens.refresh_token:
        raise NotSignedInError("The sign-in holds no refresh token.", SIGN_IN_AGAIN)
    url = endpoints(settings.oauth2).token
    if url is None:
        raise OAuth2Error("No token endpoint is configured.", "Set oauth2.token_endpoint.",
                          Category.INVALID_INPUT)
    body = prepare_token_request("refresh_token", refresh_token=tokens.refresh_token,
                                 client_id=settings.oauth2.client_id,
                                 client_secret=client_secret or None)
    import urllib.parse

    form = dict(urllib.parse.parse_qsl(body))
    return tokens_from_reply(post_form(url, form), tokens)


@contextlib.contextmanager
def account_lock(lock_folder: Path | None, account: str) -> Iterator[None]:
    """Hold the refresh lock of `account`: a thread lock in this process, and a lock file in
    `lock_folder` (the config folder) against other smtp-desktop processes."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(account, threading.Lock())
    with lock:
        if lock_folder is None:
            yield
            return
        import filelock

        from smtp_desktop.config.paths import PRIVATE_FILE_MODE, make_private_folder

        make_private_folder(lock_folder)
        name = hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        with filelock.FileLock(str(lock_folder / f".oauth2-{name}.lock"), mode=PRIVATE_FILE_MODE,
                               timeout=HTTP_TIMEOUT_S + 5):
            yield


def access_token(settings: SmtpSettings, store: TokenStore, *, lock_folder: Path | None = None,
                 force_refresh: bool = False, stale: str | None = None) -> str:
    """A usable access token for `settings`' account, refreshed first when it is past (or near)
    its expiry, or when `force_refresh` and the stored one is still `stale` (the one a server
    just refused; a token another thread already replaced is used as it is)."""
    from smtp_desktop.config.tokens import token_account

    account = token_account(settings)
    tokens = store.get(settings)
    if account is None or tokens is None:
        raise NotSignedInError(f"Not signed in as {settings.username or '(no username)'}.",
                               "Sign in with OAuth2 first (smtp-desktop oauth login, or Sign in "
                               "in the window).")
    if not tokens.expired() and not force_refresh:
        return tokens.access_token or ""
    with account_lock(lock_folder, account):
        tokens = store.get(settings) or tokens  # another process may have refreshed meanwhile
        if not tokens.expired() and (not force_refresh or tokens.access_token != stale):
            return tokens.access_token or ""
        log.info("refreshing the OAuth2 access token for %s", settings.password_account)
        try:
            fresh = refresh_grant(settings, tokens, store.client_secret(settings.oauth2.client_id))
        except OAuth2Error as exc:
            if exc.error == "invalid_grant":
                log.warning("the refresh token for %s was refused: sign in again",
                            settings.password_account)
            raise
        store.set(settings, fresh)
        return fresh.access_token or ""
