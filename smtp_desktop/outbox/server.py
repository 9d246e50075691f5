"""The outbox's SMTP server: aiosmtpd on loopback, DATA streamed to the Maildir, every limit enforced.

What it adds to aiosmtpd (the replies are Postfix's):
- TCP_NODELAY on every accepted connection: a multi-line EHLO reply must not wait for the
  client's delayed ACK (40 ms on Linux loopback);
- DATA written to `tmp/` as it arrives, in chunks of at most `CHUNK` bytes, so memory per
  connection is bounded whatever the lines look like; 250 only after the rename into `new/`;
- the limits of `OutboxLimits`: message size (552 5.3.4 after the final dot), line length
  (500 5.5.2), recipients (452 4.5.3 per further RCPT), connections in all and per client
  (421 4.7.0 at the greeting), idle time (421 4.4.2), free disk (452 4.3.1), stored messages and
  bytes (oldest pruned first);
- failed logins answered one second later each time, and the connection closed (421 4.7.0)
  after the third;
- an envelope (sender, recipients, arrival, client, login) stored apart from the content;
- fault profiles (faults.py): at the stage a rule names, the answer a real provider gives, a
  hang or a dropped connection, replaceable while running (`set_fault_rules`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable
from typing import Any

from smtp_desktop.config.consistency import is_loopback
from smtp_desktop.outbox.errors import OutboxConfigError, RemoteHostError, ServerStartError
from smtp_desktop.outbox.faults import Action, FaultProfile, FaultRule, FaultRules, Stage
from smtp_desktop.outbox.index import OutboxIndex
from smtp_desktop.outbox.limits import OutboxLimits, consistency_problems
from smtp_desktop.outbox.store import MessageWriter, Outbox, StoredMessage, create_blank

log = logging.getLogger(__name__)

DEFAULT_PORT = 2525  # what `outbox serve` listens on unless told otherwise
SERVER_NAME = "localhost"
IDENT = "smtp-desktop local outbox"
CHUNK = 64 * 1024  # bytes: the most DATA read at once (and the stream buffer's limit)
BACKLOG = 1024  # pending connections the kernel keeps: a burst of connects is answered, not dropped
MAX_AUTH_FAILURES = 3
INDEX_FLUSH_DELAY = 0.05  # seconds: stored messages reach the index in batches

REPLY_TOO_BIG = "552 5.3.4 Message too big for the local outbox (limit {} bytes)"
# aiosmtpd's own answer to MAIL FROM with SIZE= above the limit, which has no enhanced code.
_AIOSMTPD_TOO_BIG = "552 Error: message size exceeds"
REPLY_LINE_TOO_LONG = "500 5.5.2 Line too long for the local outbox (limit {} bytes)"
REPLY_TOO_MANY_RECIPIENTS = "452 4.5.3 Error: too many recipients"
REPLY_TOO_MANY_CONNECTIONS = "421 4.7.0 {} Error: too many connections"
REPLY_TOO_MANY_FROM_CLIENT = "421 4.7.0 {} Error: too many connections from your address"
REPLY_TIMEOUT = "421 4.4.2 {} Error: timeout exceeded"
REPLY_NO_SPACE = "452 4.3.1 Insufficient system storage"
REPLY_CANNOT_STORE = "451 4.3.0 The local outbox could not store the message"
REPLY_TOO_MANY_AUTH = "421 4.7.0 {} Error: too many failed logins"


def client_key(peer: Any) -> str:
    """Whom a connection counts against: its address, with all of loopback as one client."""
    host = peer[0] if isinstance(peer, tuple) and peer else str(peer)
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return str(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return "loopback" if address.is_loopback else str(address)


class _Blanks:
    """Empty tmp/ files made ahead by a background thread, so that DATA need not create one.

    Left-overs of a killed process are swept at the next start (their pid is in the name).
    """

    SPARE = 4

    def __init__(self, outbox: Outbox) -> None:
        import queue

        self._outbox = outbox
        self._ready: queue.Queue[tuple[str, int]] = queue.Queue(self.SPARE)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="outbox-blanks", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        while not self._stopping.is_set():
            try:
                blank = create_blank(self._outbox)
            except OSError as exc:  # DATA will try itself and answer 451
                log.debug("Local outbox could not prepare a file: %s", exc)
                return
            while not self._stopping.is_set():
                with contextlib.suppress(Exception):
                    self._ready.put(blank, timeout=0.5)
                    break
            else:
                _discard(blank)

    def take(self) -> tuple[str, int] | None:
        """A prepared file, or None when none is ready."""
        import queue

        while True:
            try:
                blank = self._ready.get_nowait()
            except queue.Empty:
                return None
            if os.path.exists(blank[0]):
                return blank
            _discard(blank)  # the folder was removed meanwhile

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        while (blank := self.take()) is not None:
            _discard(blank)


def _discard(blank: tuple[str, int]) -> None:
    with contextlib.suppress(OSError):
        os.close(blank[1])
    with contextlib.suppress(FileNotFoundError):
        os.unlink(blank[0])


class _Context:
    """What every connection of one server shares (used on the server's event-loop thread)."""

    def __init__(self, outbox: Outbox, limits: OutboxLimits, auth_delay: float,
                 faults: FaultRules, login_required: bool) -> None:
        self.outbox = outbox
        self.limits = limits
        self.auth_delay = auth_delay
        self.faults = faults
        self.login_required = login_required
        self.connections = 0
        self.per_client: Counter[str] = Counter()
        self._pending: list[StoredMessage] = []
        self._flush: asyncio.TimerHandle | None = None
        self._index: OutboxIndex | None = None
        self._count, self._bytes = outbox.count()
        self._disk_checked = -1e9
        self._disk_low = False
        self.blanks: _Blanks | None = None

    # ---------------------------------------------------------------- connections

    def admit(self, client: str) -> str | None:
        """None when the connection may proceed, else the 421 reply to send before closing."""
        if self.connections >= self.limits.max_connections:
            return REPLY_TOO_MANY_CONNECTIONS.format(SERVER_NAME)
        if self.per_client[client] >= self.limits.max_connections_per_client:
            return REPLY_TOO_MANY_FROM_CLIENT.format(SERVER_NAME)
        self.connections += 1
        self.per_client[client] += 1
        return None

    def release(self, client: str) -> None:
        self.connections -= 1
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]

    # ---------------------------------------------------------------- storing

    def disk_low(self) -> bool:
        """True when less room is left than one message of the largest size allowed (asked of
        the file system at most once a second)."""
        now = time.monotonic()
        if now - self._disk_checked >= 1.0:
            self._disk_checked = now
            self._disk_low = self._check_disk()
        return self._disk_low

    def _check_disk(self) -> bool:
        folder = self.outbox.folder
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            stat = os.statvfs(folder)
        except (OSError, AttributeError):  # no statvfs (Windows): let the write tell
            return False
        return stat.f_bavail * stat.f_frsize < self.limits.max_message_size

    def stored(self, message: StoredMessage) -> None:
        """Account for a message just renamed into new/: index it (batched), prune if over."""
        self._pending.append(message)
        self._count += 1
        self._bytes += message.size
        limits = self.limits
        if self._count > limits.max_messages or self._bytes > limits.max_bytes:
            self.flush()
            # Prune a little below the limits, so that a full outbox does not prune every time.
            try:
                self.outbox.prune(limits.max_messages - limits.max_messages // 100,
                                  limits.max_bytes - limits.max_bytes // 100)
                self._count, self._bytes = self.outbox.count()
            except Exception as exc:  # the message is stored: tell the log, try again next time
                log.error("Local outbox could not delete old messages in %s: %s",
                          self.outbox.folder, exc)
        elif self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(INDEX_FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        """Write the pending index rows (the index is a cache: a failure is caught up later)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        stored, self._pending = self._pending, []
        if not stored:
            return
        try:
            if self._index is None:
                self._index = OutboxIndex(self.outbox.folder)
            self._index.put(message.row() for message in stored)
        except Exception as exc:  # sqlite3.Error, OSError: the next sync indexes the files
            log.warning("Local outbox could not update its index: %s", exc)
            self.close()

    def close(self) -> None:
        if self.blanks is not None:
            self.blanks.close()
            self.blanks = None
        if self._index is not None:
            self._index.close()
            self._index = None


def _smtp_class() -> type:
    """aiosmtpd's SMTP with our connection gate, streaming DATA, idle reply and login delays."""
    from aiosmtpd.smtp import SMTP, syntax

    class OutboxSMTP(SMTP):
        line_length_limit = CHUNK  # the stream buffer's limit; command lines are still 512

        def __dir__(self) -> list[str]:
            # aiosmtpd finds its smtp_* and auth_* methods with dir() and inspect.getmembers()
            # on every new connection, about 50 us of each message; the names never change.
            return _COMMAND_NAMES

        def __init__(self, handler: Any, *, context: _Context, **kwargs: Any) -> None:
            super().__init__(handler, **kwargs)
            self._context = context
            self._client: str | None = None
            self._refused = False
            self._auth_failures = 0
            self._in_auth = False
            # Fault decisions (see FaultRules.decide) for this connection and its current message.
            self._connection_faults: dict[int, bool] = {}
            self._message_faults: dict[int, bool] = {}
            self._hang_after_greeting = False
            self._close_after_reply = False

        # ------------------------------------------------------------ connection

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if self.transport is None and self._original_transport is None:  # not STARTTLS
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                client = client_key(transport.get_extra_info("peername"))
                refusal = self._context.admit(client)
                fault = None
                if refusal is None:
                    fault = self._context.faults.decide(Stage.GREETING, self._connection_faults)
                    if fault is not None and fault.action is Action.REPLY_CLOSE:
                        self._context.release(client)
                        refusal = fault.wire
                    elif fault is not None:  # Action.HANG
                        self._hang_after_greeting = True
                if refusal is not None:
                    if fault is None:
                        log.warning("Local outbox refused a connection from %s: %s", client, refusal)
                    else:
                        log.info("Local outbox fault %s: refused a connection", fault.id)
                    self._refused = True
                    transport.write(refusal.encode("ascii") + b"\r\n")  # type: ignore[attr-defined]
                    transport.close()
                    return
                self._client = client
            super().connection_made(transport)

        async def _handle_client(self) -> None:
            if not self._hang_after_greeting:
                await super()._handle_client()
                return
            # hang-after-greeting: greet, then read nothing and answer nothing until the client
            # closes (eof_received cancels this task) or the idle timeout closes the connection.
            await self.push(f"220 {self.hostname} {self.__ident__}")
            await self._ignore_input()

        async def _ignore_input(self) -> None:
            """Read and drop whatever the client sends, answering nothing, without resetting the
            idle timer: its 421 then reaches the client (unread input would turn the close into
            a reset). Returns when the client closes; the idle timeout cancels it."""
            while await self._reader.read(CHUNK):
                pass
            await asyncio.get_running_loop().create_future()  # cancelled by connection_lost

        def connection_lost(self, error: Exception | None) -> None:
            if self._refused:
                return
            if self._client is not None:
                self._context.release(self._client)
                self._client = None
            super().connection_lost(error)

        def eof_received(self) -> bool | None:
            if self._refused:
                return False
            return super().eof_received()

        def _timeout_cb(self) -> None:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(REPLY_TIMEOUT.format(SERVER_NAME).encode("ascii") + b"\r\n")
            super()._timeout_cb()

        # ------------------------------------------------------------ AUTH

        async def smtp_AUTH(self, arg: str) -> None:
            session = self.session
            if arg and session is not None and session.extended_smtp and not session.authenticated \
                    and not self._auth_require_tls:
                fault = self.fault_at(Stage.AUTH)
                if fault is not None:
                    await self._play_auth_fault(fault, arg)
                    return
            self._in_auth = True
            try:
                await super().smtp_AUTH(arg)
            finally:
                self._in_auth = False

        def push(self, status: Any) -> Any:
            # A plain method returning the coroutine: no extra frame on every reply.
            if self._in_auth:
                return self._push_in_auth(status)
            if self._close_after_reply:
                return self._push_and_close(status)
            if status[:3] == "552" and status.startswith(_AIOSMTPD_TOO_BIG):  # SIZE= in MAIL
                status = REPLY_TOO_BIG.format(self._context.limits.max_message_size)
            return SMTP.push(self, status)

        async def _push_and_close(self, status: Any) -> None:
            self._close_after_reply = False
            await SMTP.push(self, status)
            if self.transport is not None:
                self.transport.close()
            await asyncio.get_running_loop().create_future()  # cancelled by connection_lost

        # ------------------------------------------------------------ faults

        def fault_at(self, stage: Stage) -> FaultProfile | None:
            """The fault profile to play at `stage` of this connection or message, if any."""
            if stage.per_message:
                recipients = self.envelope.rcpt_tos
                decided = self._message_faults
            else:
                recipients, decided = [], self._connection_faults
            fault = self._context.faults.decide(stage, decided, recipients)
            if fault is not None:
                log.info("Local outbox fault %s at %s", fault.id, stage.value)
            return fault

        def fault_at_rcpt(self, address: str) -> FaultProfile | None:
            fault = self._context.faults.decide(Stage.RCPT, self._message_faults, [address])
            if fault is not None:
                log.info("Local outbox fault %s at rcpt", fault.id)
            return fault

        def fault_reply(self, fault: FaultProfile) -> str:
            """The fault's reply, to be answered (and the connection closed if it says so)."""
            self._close_after_reply = fault.action is Action.REPLY_CLOSE
            return fault.wire

        def new_message(self) -> None:
            """A MAIL command starts a message: RCPT and DATA faults decide afresh."""
            self._message_faults = {}

        @syntax("EHLO hostname")
        async def smtp_EHLO(self, hostname: str) -> None:
            # AUTH-stage profiles need a login to refuse: offer AUTH even without --auth.
            context = self._context
            if not context.login_required and self._tls_protocol is None:
                self._auth_require_tls = not context.faults.has_stage(Stage.AUTH)
            await super().smtp_EHLO(hostname)

        async def _play_auth_fault(self, fault: FaultProfile, arg: str) -> None:
            """Answer AUTH as the provider does: after the credentials, except for 504 (an
            unknown mechanism is refused at once). The credentials are read, never kept."""
            from aiosmtpd.smtp import MISSING

            words = arg.split()
            mechanism = words[0].upper()
            if fault.code != 504 and mechanism in ("PLAIN", "LOGIN"):
                if len(words) == 1 and await self.challenge_auth(
                        "" if mechanism == "PLAIN" else self.AuthLoginUsernameChallenge) is MISSING:
                    return
                if mechanism == "LOGIN" and await self.challenge_auth(
                        self.AuthLoginPasswordChallenge) is MISSING:
                    return
            await self.push(self.fault_reply(fault))

        async def _push_in_auth(self, status: Any) -> None:
            text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
            if text.startswith("535"):
                # Each failure answers one step later than the last; the third closes.
                self._auth_failures += 1
                delay = (self._auth_failures - 1) * self._context.auth_delay
                if delay > 0:
                    await asyncio.sleep(delay)
                if self._auth_failures >= MAX_AUTH_FAILURES:
                    await super().push(REPLY_TOO_MANY_AUTH.format(SERVER_NAME))
                    if self.transport is not None:
                        self.transport.close()
                    return
            await super().push(status)

        # ------------------------------------------------------------ DATA

        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            if await self.check_helo_needed():
                return
            if await self.check_auth_needed("DATA"):
                return
            envelope = self.envelope
            if not envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            context = self._context
            fault = self.fault_at(Stage.DATA)
            if fault is not None:
                await self._play_data_fault(fault)
                return
            if context.disk_low():
                await self.push(REPLY_NO_SPACE)
                return
            reply: str | None = None
            writer: MessageWriter | None = None
            try:
                blank = context.blanks.take() if context.blanks is not None else None
                writer = MessageWriter.start(context.outbox, self._envelope_fields(), blank)
            except OSError as exc:
                log.error("Local outbox could not store a message in %s: %s",
                          context.outbox.folder, exc)
                reply = REPLY_CANNOT_STORE
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            try:
                reply = await self._receive(writer, reply)
                if reply is None and writer is not None:
                    try:
                        stored = writer.commit()
                    except OSError as exc:
                        log.error("Local outbox could not store a message in %s: %s",
                                  context.outbox.folder, exc)
                        reply = REPLY_CANNOT_STORE
                    else:
                        writer = None
                        context.stored(stored)
                        log.info("Local outbox stored message %s (from %s to %s)", stored.id,
                                 stored.envelope.mail_from, ", ".join(envelope.rcpt_tos))
                        reply = f"250 2.0.0 OK: stored in the local outbox as {stored.id}"
            finally:
                if writer is not None:
                    writer.abort()
            self._set_post_data_state()
            await self.push(reply)

        async def _play_data_fault(self, fault: FaultProfile) -> None:
            """DATA under a fault: nothing is stored whatever happens."""
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            if fault.action is Action.DROP:
                await self._reader.read(CHUNK)
                if self.transport is not None:
                    self.transport.close()
                await asyncio.get_running_loop().create_future()  # cancelled by connection_lost
            await self._receive(None, fault.wire or fault.action.value)
            self._set_post_data_state()
            if fault.action is Action.HANG:
                # Silence after the final dot: until the client closes or the idle timeout.
                await self._ignore_input()
            await self.push(self.fault_reply(fault))

        def _envelope_fields(self) -> dict[str, Any]:
            peer = self.session.peer
            client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else ""
            auth = self.session.auth_data
            login = getattr(auth, "login", None)
            user = login.decode("utf-8", "replace") if isinstance(login, bytes) else login
            mail_from = self.envelope.mail_from
            return {"mail_from": " ".join((mail_from or "<>").splitlines()) or "<>",
                    "rcpt_tos": tuple(" ".join(r.splitlines()) for r in self.envelope.rcpt_tos),
                    "client": client, "user": user}

        async def _receive(self, writer: MessageWriter | None, reply: str | None) -> str | None:
            """Read DATA up to the final dot, writing it to `writer` while no limit is crossed.

            Returns the refusal to answer after the final dot, or None when all is well.
            """
            limits = self._context.limits
            reader = self._reader
            # The end of data is CRLF "." CRLF; a virtual CRLF ahead of the first line lets one
            # search find it even for an empty message, and is dropped from what is stored.
            reader._buffer[0:0] = b"\r\n"  # type: ignore[attr-defined]
            carry = b""
            first = True
            size = -2
            line = 0  # bytes of the current line so far
            while True:
                try:
                    chunk = await reader.readuntil(b"\r\n.\r\n")
                    last = True
                except asyncio.LimitOverrunError as exc:
                    chunk = await reader.read(exc.consumed)
                    last = False
                except asyncio.IncompleteReadError as exc:
                    raise ConnectionResetError("connection closed during DATA") from exc
                self._reset_timeout()
                if last:
                    data, carry = carry + chunk[:-3], b""
                else:
                    data = carry + chunk
                    # Keep a trailing CR or CRLF: it may begin a line end or a stuffed dot.
                    keep = 2 if data.endswith(b"\r\n") else 1 if data.endswith(b"\r") else 0
                    data, carry = (data[:-keep], data[-keep:]) if keep else (data, b"")
                if not data:
                    continue
                size += len(data)
                first_end = data.find(b"\r\n")
                if first_end < 0:
                    line += len(data)
                    longest = line
                else:
                    last_end = data.rfind(b"\r\n")
                    longest = line + first_end
                    if last_end - first_end - 2 > limits.max_line_length:
                        inner = data[first_end + 2:last_end].split(b"\r\n")
                        longest = max(longest, *map(len, inner))
                    line = len(data) - last_end - 2
                    longest = max(longest, line)
                if reply is None and longest > limits.max_line_length:
                    reply = REPLY_LINE_TOO_LONG.format(limits.max_line_length)
                elif reply is None and size > limits.max_message_size:
                    reply = REPLY_TOO_BIG.format(limits.max_message_size)
                if reply is not None:
                    if writer is not None:
                        writer.abort()
                        writer = None
                else:
                    text = data.replace(b"\r\n.", b"\r\n").replace(b"\r\n", b"\n")
                    if first:
                        text = text[1:]  # the virtual line end
                    try:
                        writer.write(text)  # type: ignore[union-attr]
                    except OSError as exc:
                        log.error("Local outbox could not write a message: %s", exc)
                        reply = REPLY_NO_SPACE if exc.errno == errno.ENOSPC else REPLY_CANNOT_STORE
                first = False
                if last:
                    return reply

    _COMMAND_NAMES = sorted(name for name in dir(OutboxSMTP)
                            if name.startswith(("smtp_", "auth_")))
    return OutboxSMTP


class _Handler:
    """aiosmtpd hooks: no MAIL before login when one is required, no mail when the disk is
    full, at most `max_recipients` RCPT per message."""

    def __init__(self, context: _Context, require_login: bool) -> None:
        self.context = context
        self.require_login = require_login

    def __dir__(self) -> list[str]:
        # What aiosmtpd looks for on every connection (see OutboxSMTP.__dir__).
        return [name for name in type(self).__dict__ if name.startswith("handle_")]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        server.new_message()
        fault = server.fault_at(Stage.MAIL)
        if fault is not None:
            return server.fault_reply(fault)
        # Checked here rather than with aiosmtpd's auth_required, which warns on every
        # connection without TLS; on loopback plain AUTH is what the demo mode wants.
        if self.require_login and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if self.context.disk_low():
            return REPLY_NO_SPACE
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        fault = server.fault_at_rcpt(address)
        if fault is not None:
            return server.fault_reply(fault)
        if len(envelope.rcpt_tos) >= self.context.limits.max_recipients:
            return REPLY_TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"


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
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=LoginPassword(auth_data.login, b""))


class _AnyLogin:
    """Without --auth the outbox needs no login; one offered for a fault profile's sake (and
    not refused by it) is accepted as it is."""

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        login = auth_data.login if isinstance(auth_data, LoginPassword) else b""
        return AuthResult(success=True, auth_data=LoginPassword(login, b""))


class OutboxServer:
    """An SMTP server on this computer that stores every accepted message in `outbox`.

    port=0 picks a free port; `port` tells the real one once started. With `auth` (user,
    password) the server offers AUTH PLAIN and LOGIN without TLS (loopback only) and refuses
    mail before a login with exactly those credentials; without it, anyone on this computer may
    send. A host other computers can reach is refused unless `allow_remote` is True. `limits`
    bound what it accepts (see `OutboxLimits`); `auth_delay` is the step by which each failed
    login on a connection answers later. `faults` are the fault rules in force from the start
    (see faults.py; `set_fault_rules` replaces them while running). Use as a context manager,
    or call start() and stop().
    """

    def __init__(self, outbox: Outbox, host: str = "127.0.0.1", port: int = 0,
                 auth: tuple[str, str] | None = None, allow_remote: bool = False,
                 limits: OutboxLimits | None = None, auth_delay: float = 1.0,
                 faults: Iterable[FaultRule] = (), api_port: int | None = None,
                 api_token: str | None = None) -> None:
        if not allow_remote and not is_loopback(host):
            raise RemoteHostError(
                f"Refusing to listen on {host!r}: the local outbox accepts mail without TLS and "
                f"is meant for this computer only. Use 127.0.0.1, or allow other computers "
                f"explicitly (allow_remote / --allow-remote).")
        if not 0 <= port <= 65535:
            raise ValueError(f"Port {port} is out of range; use 0 (any free port) to 65535.")
        if auth is not None and not (auth[0] and auth[1]):
            raise ValueError("The outbox login needs both a user name and a password.")
        limits = limits or OutboxLimits()
        problems = consistency_problems(limits)
        if problems:
            raise OutboxConfigError(problems[0])
        self.outbox = outbox
        self.limits = limits
        self._host = host
        self._port = port
        self._auth = auth
        self._auth_delay = auth_delay
        self._controller: Any = None
        self._context: _Context | None = None
        self._lock = threading.Lock()
        self._fault_rules = tuple(faults)
        self._api_port = api_port
        self._api_token = api_token
        self.api: Any = None  # the OutboxApi while running with api_port
        # Empty until the server has started, so that aiosmtpd's own start-up probe connection
        # neither counts for next=N nor draws from p='s random sequence.
        self._faults = FaultRules()

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

    @property
    def fault_rules(self) -> tuple[FaultRule, ...]:
        """The fault rules in force (or to be, before start), first match first."""
        with self._lock:
            return self._fault_rules

    def set_fault_rules(self, rules: Iterable[FaultRule]) -> None:
        """Replace the fault rules; safe from any thread. Counts (next=N) and random sequences
        (p=) start afresh; a connection already past a stage keeps what it was answered."""
        rules = tuple(rules)
        with self._lock:
            self._fault_rules = rules
            if self._controller is not None:
                self._faults.replace(rules)
        log.info("Local outbox fault rules: %s", ", ".join(r.text for r in rules) or "none")

    def start(self) -> None:
        """Listen and serve in a background thread; `ServerStartError` if that is impossible.

        Unfinished messages of dead processes are removed from tmp/ first, and the stored
        messages counted (and pruned, if the limits were lowered).
        """
        with self._lock:
            if self._controller is not None:
                raise RuntimeError("The local outbox server is already running.")
            sock = self._bind()
            context = None
            try:
                self.outbox.sweep_tmp()
                context = _Context(self.outbox, self.limits, self._auth_delay, self._faults,
                                   login_required=self._auth is not None)
                if context._count > self.limits.max_messages or context._bytes > self.limits.max_bytes:
                    self.outbox.prune(self.limits.max_messages, self.limits.max_bytes)
                    context._count, context._bytes = self.outbox.count()
                with contextlib.suppress(OSError):  # unusable folder: DATA answers 451
                    self.outbox.ensure_folders()
                    context.blanks = _Blanks(self.outbox)
                controller = _make_controller(self, sock, context)
                controller.start()
                self._faults.replace(self._fault_rules)
                if self._api_port is not None:
                    self.api = self._start_api(controller)
            except BaseException:
                sock.close()
                if context is not None:
                    context.close()
                raise
            self._controller = controller
            self._context = context
            self._port = sock.getsockname()[1]
        log.info("Local outbox listening on %s:%s, storing mail in %s%s", self._host, self._port,
                 self.outbox.folder, f" (login as {self._auth[0]!r})" if self._auth else "")

    def stop(self) -> None:
        """Stop listening and wait for the server thread; does nothing when not running."""
        with self._lock:
            controller, self._controller = self._controller, None
            context, self._context = self._context, None
        if controller is not None:
            api, self.api = self.api, None
            if api is not None:
                api.stop()
            controller.stop()
            if context is not None:  # the loop has stopped: nothing else uses the context
                context.flush()
                context.close()
            self._faults.replace(())
            log.info("Local outbox on %s:%s stopped", self._host, self._port)

    def _start_api(self, controller: Any) -> Any:
        """The HTTP API on the controller's event loop, always on 127.0.0.1."""
        from smtp_desktop.outbox.api import OutboxApi

        api = OutboxApi(self, self._api_port or 0, self._api_token)
        try:
            api.start(controller.loop)
        except OSError as exc:
            controller.stop()
            raise ServerStartError(f"Cannot serve the HTTP API on 127.0.0.1:{self._api_port}: "
                                   f"{exc.strerror or exc}") from None
        return api

    def __enter__(self) -> OutboxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        address = f"{self._host}:{self._port}"
        try:
            host = self._host.strip("[]")
            info = socket.getaddrinfo(host, self._port, family, socket.SOCK_STREAM,
                                      socket.IPPROTO_TCP)
            # proto IPPROTO_TCP (create_server leaves 0): asyncio then also sets TCP_NODELAY.
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise ServerStartError(f"Cannot listen on {address}: unknown address ({exc}).") from exc
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(info[0][4])
            sock.listen(BACKLOG)
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                message = (f"Port {self._port} on {self._host} is already in use. Choose another "
                           f"port, or 0 for any free one.")
            elif exc.errno == errno.EACCES:
                message = (f"Not allowed to listen on port {self._port} (ports below 1024 need "
                           f"administrator rights). Choose a port above 1024.")
            else:
                message = f"Cannot listen on {address}: {exc.strerror or exc}."
            raise ServerStartError(message) from exc
        return sock


class _DropLoginDataWarning(logging.Filter):
    """aiosmtpd 1.4 warns "Session.login_data is deprecated" on every successful login, from
    its own code; that says nothing to our users, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


def _make_controller(server: OutboxServer, sock: socket.socket, context: _Context) -> Any:
    from aiosmtpd.controller import Controller

    smtp_class = _smtp_class()
    connections: weakref.WeakSet[Any] = weakref.WeakSet()  # the SMTP protocol of each connection

    class BoundController(Controller):
        """Serves on a socket bound beforehand: the port is known and errors come early."""

        def __init__(self, handler: Any, **kwargs: Any) -> None:
            self._sock = sock
            super().__init__(handler, hostname=server.host, port=sock.getsockname()[1], **kwargs)

        def factory(self) -> Any:
            protocol = smtp_class(self.handler, context=context, **self.SMTP_kwargs)
            connections.add(protocol)
            return protocol

        def cancel_tasks(self, stop_loop: bool = True) -> None:
            # Stopping closes the connections still open (a hanging fault, an idle client):
            # from CPython 3.12.1 on, the server's wait_closed() in stop() waits for every one
            # of them, which for a silent client meant the whole idle timeout (5 minutes).
            for protocol in list(connections):
                if protocol.transport is not None:
                    protocol.transport.close()
            super().cancel_tasks(stop_loop)

        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=self._sock, backlog=BACKLOG)

        def _trigger_server(self) -> None:
            # aiosmtpd connects once to make sure the SMTP object can be built; a wildcard
            # address is reached through loopback.
            host, port = self._sock.getsockname()[:2]
            host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
            with socket.create_connection((host, port), timeout=5) as probe:
                probe.recv(1024)

    limits = server.limits
    kwargs: dict[str, Any] = {"server_hostname": SERVER_NAME, "ident": IDENT,
                              "data_size_limit": limits.max_message_size,
                              "timeout": limits.idle_timeout}
    aiosmtpd_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _DropLoginDataWarning) for f in aiosmtpd_log.filters):
        aiosmtpd_log.addFilter(_DropLoginDataWarning())
    if server._auth is not None:
        kwargs["authenticator"] = _Authenticator(*server._auth)
        kwargs["auth_require_tls"] = False  # loopback, for the demo mode
    else:
        # AUTH stays unoffered (aiosmtpd offers it only over TLS, which the outbox has not)
        # unless a fault profile of the AUTH stage is in force: see smtp_EHLO.
        kwargs["authenticator"] = _AnyLogin()
    handler = _Handler(context, require_login=server._auth is not None)
    return BoundController(handler, loop=asyncio.new_event_loop(), **kwargs)
