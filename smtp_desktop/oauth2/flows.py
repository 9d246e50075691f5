"""Signing in: the authorization code grant with PKCE (RFC 7636, S256) and a loopback redirect
(RFC 8252), and the device authorization grant (RFC 8628).

authlib builds the authorization URL, the PKCE pair and the token requests; the loopback
listener is ours (one request, on 127.0.0.1 and ::1 at one random free port). Everything here
blocks: the window runs it in a worker, the CLI in the foreground; `cancel` (a threading.Event)
ends a wait at once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import selectors
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from smtp_desktop.config.model import OAuth2Provider, SmtpSettings
from smtp_desktop.config.tokens import TokenSet, client_key
from smtp_desktop.mail.errors import Category
from smtp_desktop.oauth2.errors import OAuth2Error
from smtp_desktop.oauth2.providers import endpoints
from smtp_desktop.oauth2.token_endpoint import post_form, tokens_from_reply

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 300.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GOOGLE_NO_DEVICE = ("Google does not allow the Gmail scope in the device flow; use a machine "
                    "with a browser")
_PAGE = (b"<!doctype html><meta charset=utf-8><title>smtp-desktop</title>"
         b"<p>{}</p><p>You can close this window.</p>")


class SignInTimeout(OAuth2Error):
    """The browser or the device code was not used in time."""


class SignInCancelled(OAuth2Error):
    """The user cancelled the sign-in."""


class DeviceFlowUnavailable(OAuth2Error):
    """The provider has no device flow for these scopes (Google, or no device endpoint)."""


@dataclass(frozen=True)
class SignIn:
    """A finished sign-in: the tokens to store, and a warning when the account differs."""

    tokens: TokenSet
    warning: str | None = None


def account_of(id_token: object) -> str | None:
    """The email claim of an OpenID Connect id_token, read without verifying its signature:
    it came straight from the token endpoint over TLS (OIDC Core 3.1.3.7 allows this)."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return None
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return None
    email = claims.get("email") or claims.get("preferred_username") if isinstance(claims, dict) \
        else None
    return email if isinstance(email, str) else None


def _finish(settings: SmtpSettings, reply: dict[str, object]) -> SignIn:
    tokens = tokens_from_reply(reply)
    account = account_of(reply.get("id_token"))
    tokens = tokens.with_changes(account=account, client=client_key(settings))
    warning = None
    if account and account.lower() != settings.username.lower():
        warning = (f"You signed in as {account}, but the username is {settings.username}; "
                   f"XOAUTH2 logs in as the username, so the server will refuse the token. "
                   f"Set the username to {account}, or sign in as {settings.username}.")
    return SignIn(tokens, warning)


def _client_form(settings: SmtpSettings, client_secret: str | None) -> dict[str, str]:
    form = {"client_id": settings.oauth2.client_id}
    if client_secret:
        form["client_secret"] = client_secret
    return form


# ---------------------------------------------------------------- authorization code + PKCE


class LoopbackListener:
    """Listens on 127.0.0.1 and ::1 at one free port for the one redirect of a sign-in."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(20):  # a port free on 127.0.0.1 may be taken on ::1: try another
            v4 = socket.create_server(("127.0.0.1", 0))
            port = v4.getsockname()[1]
            try:
                v6 = socket.create_server(("::1", port), family=socket.AF_INET6)
            except OSError as exc:
                if exc.errno in (97, 99):  # no IPv6 on this machine: 127.0.0.1 alone
                    self.sockets = [v4]
                    break
                v4.close()
                continue
            self.sockets = [v4, v6]
            break
        else:
            raise OAuth2Error("No free local port for the sign-in's redirect.",
                              "Try again.", Category.NETWORK)
        self.port = self.sockets[0].getsockname()[1]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()

    def wait(self, state: str, deadline: float, cancel: threading.Event) -> dict[str, str]:
        """The redirect's query parameters; requests without our `state` get a 400 and are
        ignored (a page or process that guessed the port cannot end the sign-in)."""
        with selectors.DefaultSelector() as selector:
            for sock in self.sockets:
                selector.register(sock, selectors.EVENT_READ)
            while True:
                if cancel.is_set():
                    raise SignInCancelled("The sign-in was cancelled.", "Sign in again.")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SignInTimeout("The browser did not come back in time.",
                                        "Sign in again, and finish in the browser.",
                                        Category.TIMEOUT)
                for key, _ in selector.select(min(remaining, 0.2)):
                    query = self._serve_one(key.fileobj, state)  # type: ignore[arg-type]
                    if query is not None:
                        return query

    def _serve_one(self, listener: socket.socket, state: str) -> dict[str, str] | None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5.0)
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                return None
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != "GET":
                self._reply(conn, 400, "Not a sign-in.")
                return None
            url = urllib.parse.urlsplit(parts[1])
            query = dict(urllib.parse.parse_qsl(url.query))
            if url.path != "/" or query.get("state") != state:
                self._reply(conn, 400, "Not this sign-in.")
                return None
            ok = "code" in query and "error" not in query
            self._reply(conn, 200, "Signed in to smtp-desktop." if ok
                        else "The sign-in did not finish.")
            return query

    @staticmethod
    def _reply(conn: socket.socket, status: int, text: str) -> None:
        body = _PAGE.replace(b"{}", text.encode())
        head = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Bad Request'}\r\n"
                f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n").encode()
        with contextlib.suppress(OSError):
            conn.sendall(head + body)


def browser_sign_in(settings: SmtpSettings, open_url: Callable[[str], object], *,
                    client_secret: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                    cancel: threading.Event | None = None) -> SignIn:
    """Open the authorization URL with `open_url` and wait for the redirect; then trade the
    code (with the PKCE verifier) for tokens."""
    from authlib.common.security import generate_token
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    cancel = cancel or threading.Event()
    ends = endpoints(settings.oauth2)
    if not ends.authorization or not ends.token:
        raise OAuth2Error("No authorization or token endpoint is configured.",
                          "Set oauth2.authorization_endpoint and oauth2.token_endpoint.",
                          Category.INVALID_INPUT)
    listener = LoopbackListener()
    try:
        redirect_uri = f"http://{ends.redirect_host}:{listener.port}/"
        verifier, state = generate_token(64), generate_token(32)
        extra = {"login_hint": settings.username} if settings.username else {}
        url = prepare_grant_uri(
            ends.authorization, settings.oauth2.client_id, "code", redirect_uri=redirect_uri,
            scope=" ".join(ends.scopes), state=state,
            code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256",
            **extra)
        log.info("signing in with %s: waiting for the redirect on port %d",
                 settings.oauth2.provider.value, listener.port)
        open_url(url)
        query = listener.wait(state, time.monotonic() + timeout, cancel)
    finally:
        listener.close()
    if "error" in query:
        error = query["error"]
        words = "You declined the sign-in" if error == "access_denied" else \
            f"The provider ended the sign-in ({error})"
        raise OAuth2Error(f"{words}." + (f" {query['error_description']}"
                                         if query.get("error_description") else ""),
                          "Sign in again and allow smtp-desktop to send mail.", error=error)
    reply = post_form(ends.token, {"grant_type": "authorization_code", "code": query["code"],
                                   "redirect_uri": redirect_uri, "code_verifier": verifier,
                                   **_client_form(settings, client_secret)})
    return _finish(settings, reply)


# ---------------------------------------------------------------- device authorization


@dataclass(frozen=True)
class DeviceCode:
    user_code: str
    verification_uri: str
    message: str | None


def device_sign_in(settings: SmtpSettings, show: Callable[[DeviceCode], object], *,
                   client_secret: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                   cancel: threading.Event | None = None,
                   wait: Callable[[float], bool] | None = None) -> SignIn:
    """RFC 8628: get a user code, `show` it, poll the token endpoint every `interval` seconds
    (5 more after each slow_down). `wait(seconds)` returns True when cancelled."""
    cancel = cancel or threading.Event()
    wait = wait or cancel.wait
    if settings.oauth2.provider is OAuth2Provider.GOOGLE:
        raise DeviceFlowUnavailable(GOOGLE_NO_DEVICE + ".", "Run oauth login without --device.",
                                    Category.INVALID_INPUT)
    ends = endpoints(settings.oauth2)
    if not ends.device_authorization or not ends.token:
        raise DeviceFlowUnavailable("This provider has no device authorization endpoint.",
                                    "Set oauth2.device_authorization_endpoint, or sign in with "
                                    "the browser.", Category.INVALID_INPUT)
    started = post_form(ends.device_authorization, {"scope": " ".join(ends.scopes),
                                                    **_client_form(settings, client_secret)})
    device_code = started.get("device_code")
    uri = started.get("verification_uri") or started.get("verification_url")
    if not isinstance(device_code, str) or not isinstance(uri, str):
        raise OAuth2Error("The device authorization endpoint's answer lacks the code.",
                          "Sign in with the browser instead.", Category.PROTOCOL)
    show(DeviceCode(str(started.get("user_code", "")), uri,
                    started.get("message") if isinstance(started.get("message"), str) else None))
    interval = started.get("interval")
    interval = float(interval) if isinstance(interval, (int, float)) and interval >= 0 else 5.0
    deadline = time.monotonic() + min(timeout, float(started.get("expires_in") or timeout))
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code,
            **_client_form(settings, client_secret)}
    while True:
        if time.monotonic() + interval > deadline:
            raise SignInTimeout("The code was not entered in time.", "Sign in again.",
                                Category.TIMEOUT)
        if wait(interval) or cancel.is_set():
            raise SignInCancelled("The sign-in was cancelled.", "Sign in again.")
        try:
            return _finish(settings, post_form(ends.token, form))
        except OAuth2Error as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":
                interval += 5.0  # RFC 8628 3.5
                continue
            if exc.error == "expired_token":
                raise SignInTimeout("The code expired before it was entered.", "Sign in again.",
                                    Category.TIMEOUT) from None
            if exc.error == "access_denied":
                raise OAuth2Error("You declined the sign-in.",
                                  "Sign in again and allow smtp-desktop to send mail.",
                                  error="access_denied") from None
            raise
