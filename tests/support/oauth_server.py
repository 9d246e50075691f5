"""A small, exact OAuth2 authorization server on 127.0.0.1 for the suite (plain HTTP loopback).

It issues opaque tokens and checks what a real one checks: the client ID, the refresh grant
(rotating the refresh token, as Microsoft does), and for the authorization code grant PKCE S256,
the redirect URI given at /authorize, and one use per code. `valid_access(user, token)` is what
the aiosmtpd OAuth handler (support/oauth_smtp.py) asks. `revoke_refresh()` plays a revoked
sign-in: the next refresh gets `invalid_grant`.

Also a pytest plugin (listed in tests/conftest.py): the `authz` fixture is a running server for
the account `authz_user` (`USER` unless a module overrides that fixture), shut down after the test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CLIENT_ID = "suite-client"
USER = "me@example.test"  # the account that signs in unless a module overrides `authz_user`


def _id_token(email: str) -> str:
    """An unsigned JWT with the email claim (the client reads the claim, it does not verify)."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part({'email': email, 'aud': CLIENT_ID})}."


@dataclass
class _Grant:
    user: str
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class AuthorizationServer:
    user: str
    expires_in: int = 3600
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> user
    access_tokens: dict[str, str] = field(default_factory=dict)  # access token -> user
    codes: dict[str, _Grant] = field(default_factory=dict)
    refreshes: int = 0
    # what successive device-code polls get before the tokens ("ok"): authorization_pending,
    # slow_down, access_denied, expired_token
    device_script: list[str] = field(default_factory=lambda: ["authorization_pending", "ok"])
    device_codes: set[str] = field(default_factory=set)
    device_interval: int = 1
    device_scope: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def valid_access(self, user: str, token: str) -> bool:
        with self.lock:
            return self.access_tokens.get(token) == user

    def issue(self, scope: str = "smtp") -> dict[str, object]:
        """A fresh token pair for the user, as the token endpoint's reply."""
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens[access] = self.user
        self.refresh_tokens[refresh] = self.user
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self.expires_in, "scope": scope, "id_token": _id_token(self.user)}

    def revoke_refresh(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()

    def expire_access(self) -> None:
        """Every access token given out stops working (the server's view of expiry)."""
        with self.lock:
            self.access_tokens.clear()

    # the endpoints -------------------------------------------------------------------------

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self.lock:
            self.requests.append(form)
            if form.get("client_id") != CLIENT_ID:
                return 401, {"error": "invalid_client", "error_description": "unknown client"}
            grant = form.get("grant_type")
            if grant == "refresh_token":
                user = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if user is None:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "AADSTS70000: the refresh token was revoked"}
                self.refreshes += 1
                return 200, self.issue()
            if grant == "authorization_code":
                code = self.codes.pop(form.get("code", ""), None)
                if code is None:
                    return 400, {"error": "invalid_grant", "error_description": "unknown code"}
                if form.get("redirect_uri") != code.redirect_uri:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "redirect_uri does not match"}
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != code.challenge:
                    return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
                return 200, self.issue(code.scope)
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                if form.get("device_code") not in self.device_codes:
                    return 400, {"error": "invalid_grant", "error_description": "unknown device code"}
                step = self.device_script.pop(0) if self.device_script else "ok"
                if step != "ok":
                    return 400, {"error": step}
                self.device_codes.discard(form["device_code"])
                return 200, self.issue(self.device_scope)
            return 400, {"error": "unsupported_grant_type"}

    def device(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self.lock:
            if form.get("client_id") != CLIENT_ID:
                return 401, {"error": "invalid_client"}
            code = secrets.token_urlsafe(16)
            self.device_codes.add(code)
            self.device_scope = form.get("scope", "")
            return 200, {"device_code": code, "user_code": "WDJB-MJHT",
                         "verification_uri": f"{self.base}/device", "expires_in": 900,
                         "interval": self.device_interval}

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """Approve at once (the user 'signs in'): 302 to the redirect with code and state."""
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect.startswith(
                ("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
            return 400, ""
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, ""
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = _Grant(self.user, redirect, query["code_challenge"],
                                      query.get("scope", ""))
        params = {"code": code, "state": query.get("state", "")}
        return 302, redirect + "?" + urllib.parse.urlencode(params)


def start_authorization_server(user: str) -> tuple[AuthorizationServer, ThreadingHTTPServer]:
    server = AuthorizationServer(user)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict | None = None, location: str | None = None):
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/authorize":
                status, location = server.authorize(dict(urllib.parse.parse_qsl(url.query)))
                self._send(status, location=location or None)
            else:
                self._send(404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if self.path == "/token":
                status, body = server.token(form)
                self._send(status, body)
            elif self.path == "/devicecode":
                status, body = server.device(form)
                self._send(status, body)
            else:
                self._send(404)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return server, httpd


@pytest.fixture
def authz_user() -> str:
    """The account the `authz` server signs in; override it in a module for another one."""
    return USER


@pytest.fixture
def authz(authz_user) -> Iterator[AuthorizationServer]:
    """The suite's authorization server on 127.0.0.1, running for this test."""
    server, httpd = start_authorization_server(authz_user)
    yield server
    httpd.shutdown()
    httpd.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def follow(url: str, rewrite=None) -> str:
    """What a browser does: GET the authorization URL, then follow its redirect (optionally
    rewritten, to play a forged or mistaken redirect). Returns the loopback page's text."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url, timeout=10)
        raise AssertionError("the authorization server did not redirect")
    except urllib.error.HTTPError as exc:
        location = exc.headers["Location"]
    if rewrite:
        location = rewrite(location)
    try:
        with urllib.request.urlopen(location, timeout=10) as page:
            return page.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.read().decode()
