"""The local outbox: a real SMTP server on this computer that keeps every message it accepts.

`Outbox` is a Maildir folder (the app uses data_dir/"outbox") with a small API to list, read,
delete and export messages. `OutboxServer` runs aiosmtpd on 127.0.0.1 (a free port by default)
and stores each accepted message in an `Outbox`, so the app works out of the box: point it at the
outbox and every test email lands there instead of leaving the machine.

Each stored message starts with two headers the outbox adds, ahead of the message's own:
`X-Outbox-Envelope-From` (the MAIL FROM address, "<>" for the null sender) and
`X-Outbox-Envelope-To` (the RCPT TO addresses, comma separated). Line endings are stored as
"\\n" (the Maildir convention on Unix).

Plain Python with no Qt; email, mailbox and aiosmtpd are imported only when used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtp_desktop.config.consistency import is_loopback
from smtp_desktop.config.paths import (
    OUTBOX_FOLDER,
    make_private_folder,
    open_private_file,
    restrict_file,
)

if TYPE_CHECKING:  # email and mailbox stay off the start-up path
    import mailbox
    import socket
    from email.message import EmailMessage

log = logging.getLogger(__name__)

FOLDER_NAME = OUTBOX_FOLDER  # below the data folder
DEFAULT_PORT = 2525  # what `outbox serve` listens on unless told otherwise
ENVELOPE_FROM_HEADER = "X-Outbox-Envelope-From"
ENVELOPE_TO_HEADER = "X-Outbox-Envelope-To"
SERVER_NAME = "localhost"
IDENT = "smtp-desktop local outbox"

# Maildir._count is a class attribute bumped without a lock; one writer at a time in-process.
_ADD_LOCK = threading.Lock()
# The unique names Python's mailbox gives new messages: "<seconds>.M<micro>P<pid>Q<counter>.<host>".
_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.")


def outbox_folder(data_dir: Path) -> Path:
    """Where the app keeps its local outbox."""
    return Path(data_dir) / FOLDER_NAME


class OutboxError(Exception):
    """Base class of the outbox's errors; the message is ready to show."""


class UnknownMessageError(OutboxError, KeyError):
    """No message with that id is in the outbox (it may have been deleted)."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"No message {message_id!r} in the local outbox; it may have been deleted.")
        self.message_id = message_id

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class RemoteHostError(OutboxError, ValueError):
    """The outbox was asked to listen on an address other computers can reach."""


class ServerStartError(OutboxError):
    """The server could not listen (port in use, not allowed, unknown address)."""


@dataclass(frozen=True)
class OutboxMessage:
    """One stored message, as the outbox list shows it."""

    id: str
    date: str  # ISO 8601: from the Date header, else the time the message arrived
    sender: str  # the From header, else the envelope sender
    recipients: tuple[str, ...]  # the envelope recipients, else To/Cc/Bcc
    subject: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "date": self.date, "from": self.sender,
                "to": list(self.recipients), "subject": self.subject}


class Outbox:
    """A Maildir folder of received messages. The folder is created when the first one arrives.

    Every method reads the folder afresh, so several `Outbox` objects (and processes) may share
    one folder: the server stores while the window lists.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"Outbox({str(self.folder)!r})"

    # ---------------------------------------------------------------- reading

    def list(self) -> list[OutboxMessage]:
        """Every stored message, newest first; unreadable files are skipped (and logged)."""
        box = self._maildir()
        if box is None:
            return []
        from email import policy
        from email.parser import BytesParser

        parser = BytesParser(policy=policy.default)
        found: list[tuple[tuple[float, int, str], OutboxMessage]] = []
        for key in box.iterkeys():
            try:
                with box.get_file(key) as file:
                    headers = parser.parse(file, headersonly=True)
                arrived = _arrival_time(box, key)
            except (OSError, KeyError) as exc:  # removed meanwhile, or unreadable
                log.warning("Skipping outbox message %s: %s", key, exc)
                continue
            found.append(((arrived, _key_counter(key), key), _summary(key, headers, arrived)))
        found.sort(key=lambda item: item[0], reverse=True)
        return [message for _, message in found]

    def get(self, message_id: str) -> EmailMessage:
        """The message, parsed with `email.policy.default`."""
        from email import policy
        from email.parser import BytesParser

        message = BytesParser(policy=policy.default).parsebytes(self.raw(message_id))
        return message  # type: ignore[return-value]  # policy.default builds EmailMessage

    def raw(self, message_id: str) -> bytes:
        """The stored bytes, including the outbox's envelope headers."""
        box = self._maildir()
        if box is None:
            raise UnknownMessageError(message_id)
        try:
            return box.get_bytes(message_id)
        except (KeyError, FileNotFoundError):
            raise UnknownMessageError(message_id) from None

    def save_eml(self, message_id: str, path: Path) -> None:
        """Write the message to `path` as an .eml file (replacing it if it exists), 0600."""
        data = self.raw(message_id)
        fd = open_private_file(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with open(fd, "wb") as file:
            file.write(data)

    def to_json(self) -> list[dict[str, Any]]:
        """`list()` as JSON-ready dicts: {"id", "date", "from", "to": [...], "subject"}."""
        return [message.to_json() for message in self.list()]

    # ---------------------------------------------------------------- changing

    def add(self, raw: bytes, mail_from: str | None = None, rcpt_tos: Iterable[str] = ()) -> str:
        """Store one message with its envelope; returns the new message's id."""
        lines = []
        if mail_from is not None:
            lines.append(f"{ENVELOPE_FROM_HEADER}: {_one_line(mail_from) or '<>'}\n")
        recipients = [_one_line(r) for r in rcpt_tos]
        if recipients:
            lines.append(f"{ENVELOPE_TO_HEADER}: " + ",\n ".join(recipients) + "\n")
        data = "".join(lines).encode("utf-8") + raw.replace(b"\r\n", b"\n")
        with _ADD_LOCK:
            key = self._maildir(create=True).add(data)  # type: ignore[union-attr]
        # mailbox creates the file 0666 less the umask: in a 0700 folder, but made 0600 too.
        with contextlib.suppress(FileNotFoundError):  # already deleted by a reader
            restrict_file(self.folder / "new" / key)
        log.info("Local outbox stored message %s (from %s to %s)", key, mail_from,
                 ", ".join(recipients))
        return key

    def delete(self, message_id: str) -> None:
        """Remove one message; `UnknownMessageError` if there is none with that id."""
        box = self._maildir()
        if box is None:
            raise UnknownMessageError(message_id)
        try:
            box.remove(message_id)
        except (KeyError, FileNotFoundError):
            raise UnknownMessageError(message_id) from None

    def clear(self) -> int:
        """Remove every message; returns how many were removed."""
        box = self._maildir()
        if box is None:
            return 0
        removed = 0
        for key in list(box.iterkeys()):
            try:
                box.remove(key)
            except (KeyError, FileNotFoundError):  # someone else removed it first
                continue
            removed += 1
        return removed

    # ---------------------------------------------------------------- internals

    def _maildir(self, create: bool = False) -> mailbox.Maildir | None:
        """A fresh view of the folder (no stale cache), or None if there is no Maildir yet."""
        import mailbox

        subfolders = [self.folder / name for name in ("tmp", "new", "cur")]
        if create:
            for subfolder in subfolders:
                make_private_folder(subfolder)
        elif not all(subfolder.is_dir() for subfolder in subfolders[1:]):
            return None
        return mailbox.Maildir(self.folder, factory=None, create=False)


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()).strip()


def _arrival_time(box: mailbox.Maildir, key: str) -> float:
    """When the message arrived: from its Maildir name, else from the file's time."""
    match = _KEY_TIME.match(key)
    if match:
        return int(match.group(1)) + int(match.group(2)) / 1_000_000
    return box.get_message(key).get_date()


def _key_counter(key: str) -> int:
    match = _KEY_TIME.match(key)
    return int(match.group(3)) if match else 0


def _summary(key: str, headers: Any, arrived: float) -> OutboxMessage:
    from email.utils import getaddresses

    def header(name: str) -> str:
        try:
            value = headers.get(name)
            return "" if value is None else str(value)
        except Exception:  # a header the email package cannot make sense of
            log.debug("Unreadable %s header in outbox message %s", name, key, exc_info=True)
            return ""

    envelope_to = header(ENVELOPE_TO_HEADER)
    if envelope_to:
        recipients = [addr for _, addr in getaddresses([envelope_to]) if addr]
    else:
        fields = [header(name) for name in ("To", "Cc", "Bcc")]
        recipients = [addr for _, addr in getaddresses([f for f in fields if f]) if addr]
    return OutboxMessage(
        id=key,
        date=_iso_date(header("Date"), arrived),
        sender=header("From") or header(ENVELOPE_FROM_HEADER),
        recipients=tuple(recipients),
        subject=header("Subject"),
    )


def _iso_date(date_header: str, arrived: float) -> str:
    from email.utils import parsedate_to_datetime

    when: dt.datetime | None = None
    if date_header:
        try:
            when = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            when = None
    if when is None:
        when = dt.datetime.fromtimestamp(arrived, dt.timezone.utc)
    elif when.tzinfo is None:  # "-0000": the sender did not say; RFC 5322 means UTC then
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.isoformat()


# -------------------------------------------------------------------- the server


class _StoringHandler:
    """aiosmtpd handler: refuses MAIL before login when a login is required, stores each message."""

    def __init__(self, outbox: Outbox, require_login: bool) -> None:
        self.outbox = outbox
        self.require_login = require_login

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # Checked here rather than with aiosmtpd's auth_required, which warns on every
        # connection without TLS; on loopback plain AUTH is what the demo mode wants.
        if self.require_login and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or b""
        try:
            key = self.outbox.add(content, envelope.mail_from or "", envelope.rcpt_tos)
        except OSError as exc:
            log.error("Local outbox could not store a message in %s: %s", self.outbox.folder, exc)
            return "451 4.3.0 The local outbox could not store the message"
        return f"250 2.0.0 OK: stored in the local outbox as {key}"


class _Authenticator:
    """Accepts exactly one user name and password (AUTH PLAIN and LOGIN)."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username.encode("utf-8")
        self._password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        import hmac

        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (isinstance(auth_data, LoginPassword)
              and hmac.compare_digest(auth_data.login, self._username)
              and hmac.compare_digest(auth_data.password, self._password))
        if not ok:
            login = auth_data.login if isinstance(auth_data, LoginPassword) else b""
            log.info("Local outbox refused a login (%s) as %r", mechanism,
                     login.decode("utf-8", "replace"))
        return AuthResult(success=ok, handled=False)


class OutboxServer:
    """An SMTP server on this computer that stores every accepted message in `outbox`.

    port=0 picks a free port; `port` tells the real one once started. With `auth` (user,
    password) the server offers AUTH PLAIN and LOGIN without TLS (loopback only) and refuses
    mail before a login with exactly those credentials; without it, anyone on this computer may
    send. A host other computers can reach is refused unless `allow_remote` is True.
    Use as a context manager, or call start() and stop().
    """

    def __init__(self, outbox: Outbox, host: str = "127.0.0.1", port: int = 0,
                 auth: tuple[str, str] | None = None, allow_remote: bool = False) -> None:
        if not allow_remote and not is_loopback(host):
            raise RemoteHostError(
                f"Refusing to listen on {host!r}: the local outbox accepts mail without TLS and "
                f"is meant for this computer only. Use 127.0.0.1, or allow other computers "
                f"explicitly (allow_remote / --allow-remote).")
        if not 0 <= port <= 65535:
            raise ValueError(f"Port {port} is out of range; use 0 (any free port) to 65535.")
        if auth is not None and not (auth[0] and auth[1]):
            raise ValueError("The outbox login needs both a user name and a password.")
        self.outbox = outbox
        self._host = host
        self._port = port
        self._auth = auth
        self._controller: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the password
        login = f", user={self._auth[0]!r}" if self._auth else ""
        return f"OutboxServer({self._host}:{self._port}{login}, {self.outbox.folder})"

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The port listened on; before start(), the one asked for (0: any free port)."""
        return self._port

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen and serve in a background thread; `ServerStartError` if that is impossible."""
        with self._lock:
            if self._controller is not None:
                raise RuntimeError("The local outbox server is already running.")
            sock = self._bind()
            controller = _make_controller(self, sock)
            try:
                controller.start()
            except BaseException:
                sock.close()
                raise
            self._controller = controller
            self._port = sock.getsockname()[1]
        log.info("Local outbox listening on %s:%s, storing mail in %s%s", self._host, self._port,
                 self.outbox.folder, f" (login as {self._auth[0]!r})" if self._auth else "")

    def stop(self) -> None:
        """Stop listening and wait for the server thread; does nothing when not running."""
        with self._lock:
            controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            log.info("Local outbox on %s:%s stopped", self._host, self._port)

    def __enter__(self) -> OutboxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        import errno
        import socket

        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        address = f"{self._host}:{self._port}"
        try:
            return socket.create_server((self._host.strip("[]"), self._port), family=family)
        except socket.gaierror as exc:
            raise ServerStartError(f"Cannot listen on {address}: unknown address ({exc}).") from exc
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = (f"Port {self._port} on {self._host} is already in use. Choose another "
                           f"port, or 0 for any free one.")
            elif exc.errno == errno.EACCES:
                message = (f"Not allowed to listen on port {self._port} (ports below 1024 need "
                           f"administrator rights). Choose a port above 1024.")
            else:
                message = f"Cannot listen on {address}: {exc.strerror or exc}."
            raise ServerStartError(message) from exc


class _DropLoginDataWarning(logging.Filter):
    """aiosmtpd 1.4 warns "Session.login_data is deprecated" on every successful login, from
    its own code; that says nothing to our users, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


def _make_controller(server: OutboxServer, sock: socket.socket) -> Any:
    import asyncio
    import socket

    from aiosmtpd.controller import Controller

    class BoundController(Controller):
        """Serves on a socket bound beforehand: the port is known and errors come early."""

        def __init__(self, handler: Any, **kwargs: Any) -> None:
            self._sock = sock
            super().__init__(handler, hostname=server.host, port=sock.getsockname()[1], **kwargs)

        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=self._sock)

        def _trigger_server(self) -> None:
            # aiosmtpd connects once to make sure the SMTP object can be built; a wildcard
            # address is reached through loopback.
            host, port = self._sock.getsockname()[:2]
            host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
            with socket.create_connection((host, port), timeout=5) as probe:
                probe.recv(1024)

    kwargs: dict[str, Any] = {"server_hostname": SERVER_NAME, "ident": IDENT}
    if server._auth is not None:
        aiosmtpd_log = logging.getLogger("mail.log")
        if not any(isinstance(f, _DropLoginDataWarning) for f in aiosmtpd_log.filters):
            aiosmtpd_log.addFilter(_DropLoginDataWarning())
        kwargs["authenticator"] = _Authenticator(*server._auth)
        kwargs["auth_require_tls"] = False  # loopback, for the demo mode
    handler = _StoringHandler(server.outbox, require_login=server._auth is not None)
    return BoundController(handler, loop=asyncio.new_event_loop(), **kwargs)
