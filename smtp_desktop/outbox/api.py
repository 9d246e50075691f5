"""The outbox's HTTP API (aiohttp), served on the outbox's own event loop, on 127.0.0.1 only.

Every request must name a loopback host in `Host` (403 otherwise: DNS rebinding) and, when a
token is set, carry `Authorization: Bearer TOKEN` (401). Every error is
`{"ok": false, "status", "category", "message"}`. Blocking work (the store, long-poll waits)
runs in a thread pool, never on the loop. No Qt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hmac
import ipaddress
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtp_desktop.outbox.errors import OutboxConfigError, UnknownMessageError

if TYPE_CHECKING:
    from aiohttp import web

    from smtp_desktop.outbox.server import OutboxServer

PREFIX = "/api/v1"
TOKEN_ENV = "SMTP_DESKTOP_OUTBOX_API_TOKEN"
API_ENV = "SMTP_DESKTOP_OUTBOX_API"
MAX_WAIT = 300.0  # seconds one long poll may last
MAX_RULE_TEXT = 300  # characters of one PUT /faults rule (bounds the rcpt= regex)
MAX_RULES = 50


class ApiError(Exception):
    """An HTTP error with its JSON body."""

    def __init__(self, status: int, category: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.category = category


def read_token_file(path: str | Path) -> str:
    """The API token in `path` (its first line); `OutboxConfigError` if missing or empty."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise OutboxConfigError(f"Cannot read the API token file {path}: {exc}") from None
    if not token or not token[0].strip():
        raise OutboxConfigError(f"The API token file {path} is empty.")
    return token[0].strip()


def is_loopback_host(header: str) -> bool:
    """Whether a `Host` header names this computer: localhost or a loopback address."""
    host = header.strip()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error(status: int, category: str, message: str,
           headers: dict[str, str] | None = None) -> web.Response:
    from aiohttp import web

    return web.json_response({"ok": False, "status": status, "category": category,
                              "message": message}, status=status, headers=headers)


_CATEGORIES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not-found",
               405: "method-not-allowed", 408: "timeout", 413: "too-large"}


class OutboxApi:
    """The HTTP API of one running `OutboxServer`; start() on the server's loop thread-safely."""

    def __init__(self, server: OutboxServer, port: int = 0, token: str | None = None) -> None:
        self.server = server
        self._port = port
        self._token = token
        self._runner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="outbox-api")
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}{PREFIX}"

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Listen on 127.0.0.1 from `loop` (running in another thread); OSError if impossible."""
        self._loop = loop
        asyncio.run_coroutine_threadsafe(self._start(), loop).result(timeout=30)

    def stop(self) -> None:
        """Stop listening; waiting requests end (their threads notice within a second)."""
        self._stopping.set()
        if self._loop is not None and self._runner is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._runner = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _start(self) -> None:
        from aiohttp import web

        app = web.Application(middlewares=[self._guard], client_max_size=1024 * 1024)
        app.add_routes([
            web.get(f"{PREFIX}/info", self._info),
            web.get(f"{PREFIX}/openapi.json", self._openapi),
            web.get(f"{PREFIX}/messages", self._messages),
            web.delete(f"{PREFIX}/messages", self._delete_all),
            web.get(f"{PREFIX}/messages/{{id}}", self._message),
            web.delete(f"{PREFIX}/messages/{{id}}", self._delete),
            web.get(f"{PREFIX}/messages/{{id}}/raw", self._raw),
            web.get(f"{PREFIX}/wait", self._wait),
            web.get(f"{PREFIX}/faults", self._faults),
            web.put(f"{PREFIX}/faults", self._put_faults),
            web.delete(f"{PREFIX}/faults", self._clear_faults),
        ])
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[attr-defined]
        self._port = sockets[0].getsockname()[1]

    # ---------------------------------------------------------------- plumbing

    @property
    def _guard(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
            if not is_loopback_host(request.headers.get("Host", "")):
                return _error(403, "forbidden", "The API answers only requests for localhost or "
                                                "a loopback address (Host header).")
            if self._token is not None:
                given = request.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode()):
                    return _error(401, "unauthorized", "A bearer token is required "
                                                       "(Authorization: Bearer TOKEN).")
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except ApiError as exc:
                return _error(exc.status, exc.category, str(exc))
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
                return _error(exc.status, _CATEGORIES.get(exc.status, "invalid"), exc.reason,
                              allow)
            except UnknownMessageError as exc:
                return _error(404, "not-found", str(exc))

        return guard

    async def _blocking(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    # ---------------------------------------------------------------- handlers

    async def _info(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from smtp_desktop import __version__

        return web.json_response({
            "version": __version__,
            "smtp": {"host": self.server.host, "port": self.server.port},
            "limits": dataclasses.asdict(self.server.limits),
        })

    async def _openapi(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from smtp_desktop.outbox.openapi import document

        return web.json_response(document())

    async def _messages(self, request: web.Request) -> web.Response:
        from aiohttp import web

        limit = _int(request.query.get("limit"), "limit")
        before = request.query.get("before") or None
        search = request.query.get("search") or None
        outbox = self.server.outbox

        def page() -> dict[str, Any]:
            messages = outbox.page(limit=limit, before=before, search=search)
            return {"total": outbox.count()[0], "messages": [m.to_json() for m in messages]}

        return web.json_response(await self._blocking(page))

    async def _message(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from smtp_desktop.outbox.mailbox import Mailbox
        from smtp_desktop.outbox.reading import ReadingError

        code_pattern = request.query.get("code_pattern") or None
        mailbox = Mailbox(self.server.outbox)
        try:
            document = await self._blocking(mailbox.show, request.match_info["id"], code_pattern)
        except ReadingError as exc:
            raise ApiError(400, "invalid", str(exc)) from None
        except FileNotFoundError:
            raise UnknownMessageError(request.match_info["id"]) from None
        return web.json_response(document)

    async def _raw(self, request: web.Request) -> web.Response:
        from aiohttp import web

        try:
            data = await self._blocking(self.server.outbox.raw, request.match_info["id"])
        except FileNotFoundError:
            raise UnknownMessageError(request.match_info["id"]) from None
        return web.Response(body=data, content_type="message/rfc822")

    async def _delete(self, request: web.Request) -> web.Response:
        from aiohttp import web

        await self._blocking(self.server.outbox.delete, request.match_info["id"])
        return web.Response(status=204)

    async def _delete_all(self, request: web.Request) -> web.Response:
        from aiohttp import web

        await self._blocking(self.server.outbox.clear)
        return web.Response(status=204)

    async def _wait(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from smtp_desktop.outbox.mailbox import Mailbox
        from smtp_desktop.outbox.reading import ReadingError, WaitCriteria, extract_codes

        query = request.query
        timeout = _seconds(query.get("timeout"), default=30.0)
        code_pattern = query.get("code_pattern") or None
        mailbox = Mailbox(self.server.outbox)
        started = dt.datetime.now(dt.timezone.utc)
        try:
            extract_codes("", code_pattern)
            criteria = WaitCriteria(to=query.get("to") or None, from_=query.get("from") or None,
                                    subject=query.get("subject") or None,
                                    contains=query.get("contains") or None,
                                    since=await self._blocking(mailbox.since,
                                                               query.get("since") or None, started))
        except ReadingError as exc:
            raise ApiError(400, "invalid", str(exc)) from None
        stopping = self._stopping

        def wait() -> dict[str, Any] | None:
            return mailbox.wait(criteria, timeout, code_pattern, cancel=stopping)

        document = await self._blocking(wait)
        if document is None:
            raise ApiError(408, "timeout", f"No message fits ({'; '.join(criteria.describe())}) "
                                           f"after {timeout:g} s.")
        return web.json_response(document)

    def _faults_document(self) -> dict[str, Any]:
        from smtp_desktop.outbox.faults import load_catalogue

        return {"profiles": [p.to_json() for p in load_catalogue().values()],
                "rules": [rule.to_json() for rule in self.server.fault_rules]}

    async def _faults(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(self._faults_document())

    async def _put_faults(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from smtp_desktop.outbox.faults import parse_rule

        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid", "The body must be JSON: {\"rules\": [{\"profile\", "
                                           "\"trigger\"}]}.") from None
        items = body.get("rules") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) > MAX_RULES:
            raise ApiError(400, "invalid", f"\"rules\" must be a list of at most {MAX_RULES} "
                                           "{\"profile\", \"trigger\"} objects.")
        rules = []
        for item in items:
            profile = item.get("profile") if isinstance(item, dict) else None
            trigger = item.get("trigger", "always") if isinstance(item, dict) else None
            if not isinstance(profile, str) or not isinstance(trigger, str):
                raise ApiError(400, "invalid", "Each rule is {\"profile\": TEXT, \"trigger\": "
                                               "TEXT}.")
            text = f"{profile}:{trigger}"
            if len(text) > MAX_RULE_TEXT:
                raise ApiError(400, "invalid", f"A rule may have at most {MAX_RULE_TEXT} "
                                               "characters.")
            try:
                rules.append(parse_rule(text))
            except OutboxConfigError as exc:
                raise ApiError(400, "invalid", str(exc)) from None
        self.server.set_fault_rules(rules)
        return web.json_response(self._faults_document())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        from aiohttp import web

        self.server.set_fault_rules(())
        return web.Response(status=204)


def _int(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, "invalid", f"{name} must be a whole number; got {text!r}.") from None
    if not 0 <= value <= 10**6:
        raise ApiError(400, "invalid", f"{name} must be 0 to 1000000; got {value}.")
    return value


def _seconds(text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, "invalid", f"timeout must be a number of seconds; got {text!r}.") \
            from None
    if not 0 <= value <= MAX_WAIT:  # also refuses nan
        raise ApiError(400, "invalid", f"timeout must be 0 to {MAX_WAIT:g} seconds; got {text!r}.")
    return value
