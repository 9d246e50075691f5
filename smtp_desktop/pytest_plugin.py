"""pytest fixtures for QA suites: a local outbox to send mail to, and the real settings window.

Installed with the package (a `pytest11` entry point), so every pytest run in an environment
with smtp-desktop has them. Loading this module imports nothing heavy: the outbox server
(aiosmtpd), watchdog and Qt are imported by the fixtures that use them.

- `smtp_outbox_server` (session): a local outbox on 127.0.0.1 and a free port, storing in a
  temporary folder. Under pytest-xdist each worker process has its own.
- `smtp_outbox` (function): this test's view of it: `.host`, `.port`, `.address()`,
  `.wait_for(...)`, `.messages()`, `.clear()`. With `--smtp-outbox-api URL` it is attached to
  an outbox already running (`outbox serve --api-port N`, an app under test anywhere on this
  computer) instead, through the HTTP API: `.host`/`.port` come from `/info`.
- `smtp_settings_window`: the real `SettingsWindow` on a temporary config folder and an
  in-memory keyring (needs pytest-qt: `pip install 'smtp-desktop[pytest]'`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from smtp_desktop.outbox import OutboxServer
    from smtp_desktop.outbox.mailbox import Mailbox
    from smtp_desktop.ui.main_window import SettingsWindow

ADDRESS_DOMAIN = "outbox.test"  # .test is reserved (RFC 2606): never a real recipient
DEFAULT_WAIT = 10.0  # seconds
MISSING_PYTEST_QT = ("smtp_settings_window needs pytest-qt, which is not installed. "
                     "Install it with: pip install 'smtp-desktop[pytest]'")


@dataclass(frozen=True)
class OutboxMail:
    """One message in the outbox, as `outbox show --json` describes it."""

    data: dict[str, Any] = field(repr=False)
    folder: Path = field(repr=False)

    def __repr__(self) -> str:
        return f"OutboxMail(id={self.id!r}, subject={self.subject!r}, to={self.to!r})"

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def subject(self) -> str:
        return str(self.data["subject"])

    @property
    def sender(self) -> str:
        """The From header (or the envelope sender when there is none)."""
        return str(self.data["from"])

    @property
    def to(self) -> list[str]:
        """The To and Cc addresses."""
        return list(self.data["to"])

    @property
    def envelope(self) -> dict[str, Any]:
        return dict(self.data["envelope"])

    @property
    def text(self) -> str:
        return str(self.data["text"])

    @property
    def html(self) -> str | None:
        return self.data["html"]

    @property
    def links(self) -> list[str]:
        return list(self.data["links"])

    @property
    def codes(self) -> list[str]:
        return list(self.data["codes"])

    @property
    def code(self) -> str:
        """The first one-time code; an AssertionError showing the text when there is none."""
        if not self.data["codes"]:
            raise AssertionError(f"No one-time code in message {self.id} "
                                 f"(subject {self.subject!r}). Its text:\n{self.text}")
        return str(self.data["codes"][0])

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in self.data["headers"]]

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return [dict(attachment) for attachment in self.data["attachments"]]

    def raw(self) -> bytes:
        """The message's bytes as received."""
        from smtp_desktop.outbox import Outbox

        return Outbox(self.folder).raw(self.id)


class SmtpOutbox:
    """One test's view of the session's outbox: the mail that arrived since the test started."""

    def __init__(self, server: OutboxServer) -> None:
        from smtp_desktop.outbox.mailbox import Mailbox

        self._server = server
        self._mailbox: Mailbox = Mailbox(server.outbox)
        self._started = time.time()
        self._addresses: list[str] = []
        self._returned: set[str] = set()

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def folder(self) -> Path:
        """The outbox's Maildir folder (shared by the whole session)."""
        return self._server.outbox.folder

    def address(self) -> str:
        """A fresh address no other test uses: `t-<12 hex digits>@outbox.test`."""
        address = f"t-{secrets.token_hex(6)}@{ADDRESS_DOMAIN}"
        self._addresses.append(address)
        return address

    def wait_for(self, to: str | None = None, subject: str | None = None,
                 contains: str | None = None, sender: str | None = None,
                 code_pattern: str | None = None, timeout: float = DEFAULT_WAIT) -> OutboxMail:
        """The oldest message of this test that fits every criterion given and that no earlier
        `wait_for` of this test returned, waiting up to `timeout` seconds for it.

        `to`: a recipient (exact, any case); `subject`: a regular expression searched in the
        subject; `contains`: text in the subject or the text (any case); `sender`: the From
        address or the envelope sender. On a timeout, an AssertionError lists the criteria and
        the messages that did arrive.
        """
        import datetime as dt

        from smtp_desktop.outbox.reading import Since, WaitCriteria

        since = Since(dt.datetime.fromtimestamp(self._started, dt.timezone.utc))
        criteria = WaitCriteria(to=to, from_=sender, subject=subject, contains=contains,
                                since=since)
        found = self._mailbox.wait(criteria, timeout, code_pattern, skip=self._returned)
        if found is None:
            arrived = [f"  - {m.subject!r} to {', '.join(m.to or m.envelope['to']) or '-'}"
                       for m in self.messages()]
            raise AssertionError(
                f"No message fits ({'; '.join(criteria.describe()[:-1]) or 'any message'}) "
                f"after {timeout:g} s. Arrived since this test started: "
                + ("\n" + "\n".join(arrived) if arrived else "none."))
        self._returned.add(found["id"])
        return OutboxMail(found, self.folder)

    def messages(self) -> list[OutboxMail]:
        """This test's messages, oldest first: every one that arrived since the test started
        (which includes all mail to the addresses it made)."""
        return [OutboxMail(data, self.folder) for data in self._mailbox.arrived(self._started)]

    def clear(self) -> int:
        """Delete this test's messages (no other test's); returns how many were deleted."""
        from smtp_desktop.outbox import UnknownMessageError

        removed = 0
        for mail in self.messages():
            try:
                self._server.outbox.delete(mail.id)
            except UnknownMessageError:
                continue
            removed += 1
        return removed


class _Api:
    """JSON over HTTP to a running outbox's API (`outbox serve --api-port N`)."""

    def __init__(self, url: str) -> None:
        import os

        from smtp_desktop.outbox.api import TOKEN_ENV

        self.url = url.rstrip("/")
        self._token = os.environ.get(TOKEN_ENV)

    def call(self, method: str, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
        import urllib.error
        import urllib.request

        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        request = urllib.request.Request(self.url + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def json(self, path: str, timeout: float = 30.0) -> Any:
        import json

        status, body = self.call("GET", path, timeout)
        if status != 200:
            raise AssertionError(f"The outbox API answered {status} to GET {path}: "
                                 f"{body.decode('utf-8', 'replace')}")
        return json.loads(body)


@dataclass(frozen=True)
class _RemoteMail(OutboxMail):
    """A message of an outbox reached through its API; `raw()` asks the API."""

    api: _Api | None = field(default=None, repr=False, compare=False)

    def raw(self) -> bytes:
        from urllib.parse import quote

        assert self.api is not None
        status, body = self.api.call("GET", f"/messages/{quote(self.id, safe='')}/raw")
        if status != 200:
            raise AssertionError(f"Message {self.id} is gone from the outbox ({status}).")
        return body


class RemoteSmtpOutbox(SmtpOutbox):
    """`smtp_outbox` attached to an outbox already running (`--smtp-outbox-api URL`): the same
    methods, through the HTTP API; `.host`/`.port` come from `/info`."""

    def __init__(self, url: str) -> None:  # no local server
        import datetime as dt

        self._api = _Api(url)
        info = self._api.json("/info")
        self._host = str(info["smtp"]["host"])
        self._port = int(info["smtp"]["port"])
        self._started = time.time()
        self._since = dt.datetime.fromtimestamp(self._started, dt.timezone.utc).isoformat()
        self._addresses = []
        self._returned = set()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def folder(self) -> Path:
        raise AttributeError("An outbox reached through --smtp-outbox-api has no local folder.")

    def wait_for(self, to: str | None = None, subject: str | None = None,
                 contains: str | None = None, sender: str | None = None,
                 code_pattern: str | None = None, timeout: float = DEFAULT_WAIT) -> OutboxMail:
        """As `SmtpOutbox.wait_for`, by long polls of `/wait`."""
        from urllib.parse import urlencode

        deadline = time.monotonic() + timeout
        since = self._since
        while True:
            query = {key: value for key, value in (
                ("to", to), ("subject", subject), ("contains", contains), ("from", sender),
                ("code_pattern", code_pattern), ("since", since)) if value is not None}
            remaining = max(0.0, deadline - time.monotonic())
            query["timeout"] = f"{remaining:.3f}"
            status, body = self._api.call("GET", "/wait?" + urlencode(query), remaining + 30)
            if status == 408:
                arrived = [f"  - {m.subject!r} to {', '.join(m.to) or '-'}"
                           for m in self.messages()]
                raise AssertionError(
                    f"No message fits after {timeout:g} s (outbox {self._api.url}). Arrived "
                    "since this test started: " + ("\n" + "\n".join(arrived) if arrived
                                                   else "none."))
            if status != 200:
                raise AssertionError(f"The outbox API answered {status}: "
                                     f"{body.decode('utf-8', 'replace')}")
            import json

            found = json.loads(body)
            if found["id"] not in self._returned:
                self._returned.add(found["id"])
                return _RemoteMail(found, Path(), api=self._api)
            since = found["id"]  # returned before: look at what came after it

    def messages(self) -> list[OutboxMail]:
        """This test's messages, oldest first (those that arrived since it started)."""
        from urllib.parse import quote

        listed = self._api.json("/messages")["messages"]
        mine = [m for m in reversed(listed) if _epoch(m["received"]) >= self._started - 0.001]
        found = []
        for summary in mine:
            status, body = self._api.call("GET", f"/messages/{quote(summary['id'], safe='')}")
            if status == 200:
                import json

                found.append(_RemoteMail(json.loads(body), Path(), api=self._api))
        return found

    def clear(self) -> int:
        """Delete this test's messages (no other test's); returns how many were deleted."""
        from urllib.parse import quote

        removed = 0
        for mail in self.messages():
            status, _ = self._api.call("DELETE", f"/messages/{quote(mail.id, safe='')}")
            removed += status == 204
        return removed


def _epoch(iso: str | None) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp() if iso else 0.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--smtp-outbox-api", metavar="URL", default=None,
                     help="attach smtp_outbox to an outbox already running (outbox serve "
                          "--api-port N), e.g. http://127.0.0.1:8025/api/v1; the token, if any, "
                          "comes from SMTP_DESKTOP_OUTBOX_API_TOKEN")


@pytest.fixture(scope="session")
def smtp_outbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutboxServer]:
    """A local outbox (the real server) on 127.0.0.1 and a free port, for the whole session."""
    from smtp_desktop.outbox import Outbox, OutboxServer

    folder = tmp_path_factory.mktemp("smtp-outbox") / "outbox"
    with OutboxServer(Outbox(folder), host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def smtp_outbox(request: pytest.FixtureRequest) -> SmtpOutbox:
    """This test's view of the session's outbox (see `SmtpOutbox`), or of the running outbox
    given by `--smtp-outbox-api URL` (see `RemoteSmtpOutbox`)."""
    url = request.config.getoption("--smtp-outbox-api", default=None)
    if url:
        return RemoteSmtpOutbox(url)
    return SmtpOutbox(request.getfixturevalue("smtp_outbox_server"))


@pytest.fixture
def smtp_settings_window(request: pytest.FixtureRequest,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[SettingsWindow]:
    """The real settings window, shown, on a temporary config and data folder and an in-memory
    keyring; closed (and its workers finished) after the test."""
    try:
        qtbot = request.getfixturevalue("qtbot")
    except pytest.FixtureLookupError:
        qtbot = None
    if qtbot is None:  # outside the except: no chained lookup error hides the advice
        pytest.fail(MISSING_PYTEST_QT, pytrace=False)
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool

    from smtp_desktop.config.paths import AppPaths
    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.config.service import ConfigService
    from smtp_desktop.demo import MemoryKeyring
    from smtp_desktop.ui.main_window import SettingsWindow

    folder = tmp_path_factory.mktemp("smtp-desktop")
    keyring = MemoryKeyring()
    keyring.place = "the test's in-memory keyring"  # what the window calls it (not the demo's)
    config = ConfigService(AppPaths(folder / "config", folder / "data"), SecretStore(keyring))
    window = SettingsWindow(config)
    window.show()
    qtbot.waitUntil(lambda: window.keyring_ready)  # asked after the first paint
    yield window
    # Closed here rather than by qtbot.addWidget, which closes first and would ask a modal
    # question about unsaved changes that nobody answers.
    window.close_without_asking()
    QThreadPool.globalInstance().waitForDone(10_000)
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
