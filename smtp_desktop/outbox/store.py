"""The outbox's Maildir: messages stored with their envelope, listed from the index.

Each message file starts with one line the outbox writes, holding the envelope as JSON:

    X-Outbox-Envelope: {"from": "a@example.test", "to": ["b@example.test"], "received": ...}

followed by the message exactly as received (dot-unstuffed, line endings stored as "\\n", the
Maildir convention on Unix). The envelope is read from that first line only, so nothing in the
content (a folded continuation line, a header of the same name) can extend or forge it. `raw()`,
`get()` and `save_eml()` return the content without that line. Files written by older versions
(headers `X-Outbox-Envelope-From` / `-To` first) are still read.

Messages are written to `tmp/` as they arrive and renamed into `new/` once complete (the Maildir
protocol): a reader never sees half a message, and `sweep_tmp()` removes what dead processes left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtp_desktop.config.paths import OUTBOX_FOLDER, make_private_folder, open_private_file
from smtp_desktop.outbox.errors import UnknownMessageError
from smtp_desktop.outbox.index import IndexRow, OutboxIndex

if TYPE_CHECKING:  # email stays off the start-up path
    from email.message import EmailMessage

log = logging.getLogger(__name__)

FOLDER_NAME = OUTBOX_FOLDER  # below the data folder
ENVELOPE_HEADER = "X-Outbox-Envelope"
ENVELOPE_FROM_HEADER = "X-Outbox-Envelope-From"  # files of older versions
ENVELOPE_TO_HEADER = "X-Outbox-Envelope-To"  # files of older versions
LOCK_FILE = ".lock"
_ENVELOPE_PREFIX = f"{ENVELOPE_HEADER}: ".encode("ascii")
_LEGACY_PREFIXES = (f"{ENVELOPE_FROM_HEADER}:".encode("ascii"), f"{ENVELOPE_TO_HEADER}:".encode("ascii"))
HEADER_LIMIT = 1024 * 1024  # bytes of header block read for the index; the rest is never parsed
TMP_MAX_AGE = 36 * 3600  # seconds: the Maildir convention for abandoned tmp files
# "<seconds>.M<micro>P<pid>Q<counter>.<host>": the names Python's mailbox gives, and ours.
_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)P(\d+)Q(\d+)\.(.*)$")
_SAFE_ID = re.compile(r"^[^/\\:\x00]+$")
_counter = itertools.count(1)
_HOST = socket.gethostname().replace("/", r"\057").replace(":", r"\072")


def outbox_folder(data_dir: Path) -> Path:
    """Where the app keeps its local outbox."""
    return Path(data_dir) / FOLDER_NAME


@dataclass(frozen=True)
class Envelope:
    """What the SMTP dialogue said about a message, as opposed to what its headers claim."""

    mail_from: str | None  # MAIL FROM ("<>" for the null sender); None: not given
    rcpt_tos: tuple[str, ...]
    received: float  # seconds since the epoch
    client: str = ""  # "127.0.0.1:40312"
    user: str | None = None  # the authenticated login, if any

    def line(self) -> bytes:
        data = {"from": self.mail_from, "to": list(self.rcpt_tos), "received": self.received,
                "client": self.client, "user": self.user}
        return _ENVELOPE_PREFIX + json.dumps(data, ensure_ascii=True).encode("ascii") + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> Envelope | None:
        try:
            data = json.loads(line[len(_ENVELOPE_PREFIX):])
            return cls(mail_from=data["from"], rcpt_tos=tuple(str(r) for r in data["to"]),
                       received=float(data["received"]), client=str(data.get("client") or ""),
                       user=data.get("user"))
        except (ValueError, KeyError, TypeError):
            return None

    def to_json(self) -> dict[str, Any]:
        return {"from": self.mail_from, "to": list(self.rcpt_tos), "received": _iso(self.received),
                "client": self.client, "user": self.user}


@dataclass(frozen=True)
class OutboxMessage:
    """One stored message, as the outbox list shows it."""

    id: str
    date: str  # ISO 8601: from the Date header, else the time the message arrived
    sender: str  # the From header, else the envelope sender
    recipients: tuple[str, ...]  # the envelope recipients, else To/Cc/Bcc
    subject: str
    size: int = 0  # bytes of the message as received (without the envelope line)
    received: str = ""  # ISO 8601 UTC: when the outbox received it
    envelope_from: str = ""  # MAIL FROM ("<>": the null sender; "": unknown)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "date": self.date, "from": self.sender,
                "to": list(self.recipients), "subject": self.subject, "size": self.size,
                "received": self.received, "envelope_from": self.envelope_from}

    @classmethod
    def from_row(cls, row: IndexRow) -> OutboxMessage:
        return cls(id=row.id, date=row.date, sender=row.sender, recipients=row.recipients,
                   subject=row.subject, size=row.size, received=_iso(row.received),
                   envelope_from=row.envelope_from)


def new_message_name(now: float) -> tuple[str, float]:
    """A unique Maildir name for a message arriving at `now`, and the time it encodes."""
    seconds, micro = int(now), int((now % 1) * 1_000_000)
    name = f"{seconds}.M{micro:06d}P{os.getpid()}Q{next(_counter)}.{_HOST}"
    return name, seconds + micro / 1_000_000


class MessageWriter:
    """One message being written to tmp/; `commit()` renames it into new/, `abort()` removes it.

    The envelope line goes first; `write()` takes content with "\\n" line endings. The header
    block is kept (up to HEADER_LIMIT) so the index row needs no second read.
    """

    def __init__(self, outbox: Outbox, envelope: Envelope, name: str,
                 blank: tuple[str, int] | None = None) -> None:
        self._outbox = outbox
        self.name = name
        self.envelope = envelope
        # Plain strings and a bare descriptor: this runs for every message (see bench_outbox.py).
        self._tmp, self._fd = blank if blank is not None else create_blank(outbox)
        self._head = bytearray()
        self._head_done = False
        self.size = 0
        self._closed = False
        self._pending = envelope.line()  # written with the first content: one system call

    @classmethod
    def start(cls, outbox: Outbox, envelope_args: dict[str, Any],
              blank: tuple[str, int] | None = None) -> MessageWriter:
        """A writer for a message arriving now (the name and envelope carry the same time),
        into `blank` (a file made by `create_blank`) or a new tmp file."""
        name, received = new_message_name(time.time())
        return cls(outbox, Envelope(received=received, **envelope_args), name, blank)

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._head_done:
            start = max(0, len(self._head) - 1)
            self._head += data
            end = _header_end(self._head, start)
            if end >= 0:
                del self._head[end:]
                self._head_done = True
            elif len(self._head) > HEADER_LIMIT:
                del self._head[HEADER_LIMIT:]
                self._head_done = True
        self.size += len(data)
        if self._pending:
            data, self._pending = self._pending + data, b""
        self._write_all(data)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # an unbuffered file may take less than all (a signal, a nearly full disk)
            written = os.write(self._fd, view)
            if not written:
                raise OSError(f"Could not write {self._tmp}")
            view = view[written:]

    def commit(self) -> StoredMessage:
        """Make the message visible in new/; returns what the index needs to know of it."""
        if self._pending:  # an empty message: only the envelope line
            self._write_all(self._pending)
            self._pending = b""
        self._closed = True
        os.close(self._fd)
        target = os.path.join(self._outbox.folder, "new", self.name)
        try:
            try:
                os.rename(self._tmp, target)
            except FileNotFoundError:
                if not os.path.exists(self._tmp):
                    raise
                # new/ was removed meanwhile (the folder deleted while serving): make it again.
                self._outbox.ensure_folders(again=True)
                os.rename(self._tmp, target)
        except BaseException:
            self.abort()
            raise
        return StoredMessage(self.name, self.envelope, bytes(self._head), self.size)

    def abort(self) -> None:
        """Drop the message: close and remove the tmp file (never raises for a missing file)."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


def create_blank(outbox: Outbox) -> tuple[str, int]:
    """A new empty file in tmp/ (path, open descriptor) for a message to be written into.

    Creating a file is the costliest step of storing (0.2-0.7 ms on a busy ext4 disk); the
    server makes a few ahead of time, off the reply's path.
    """
    outbox.ensure_folders()
    name, _ = new_message_name(time.time())
    path = os.path.join(outbox.folder, "tmp", name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        return path, os.open(path, flags, 0o600)
    except FileNotFoundError:  # the folder was removed while in use: make it again
        outbox.ensure_folders(again=True)
        return path, os.open(path, flags, 0o600)


@dataclass(frozen=True)
class StoredMessage:
    """A message just renamed into new/; `row()` parses its headers for the index (later, off
    the reply's path)."""

    id: str
    envelope: Envelope
    head: bytes
    size: int

    def row(self) -> IndexRow:
        return summarize(self.id, f"new/{self.id}", self.envelope, self.head, self.size)


def _header_end(data: bytes | bytearray, start: int = 0) -> int:
    """Where the header block ends (before the empty line), or -1 if not seen yet."""
    if data.startswith(b"\n"):
        return 0
    found = data.find(b"\n\n", start)
    return found + 1 if found >= 0 else -1


class Outbox:
    """A Maildir folder of received messages. The folder is created when the first one arrives.

    Every method reads the folder (through its index) afresh, so several `Outbox` objects (and
    processes) may share one folder: the server stores while the window lists.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._folders_made = False

    def __repr__(self) -> str:
        return f"Outbox({str(self.folder)!r})"

    # ---------------------------------------------------------------- reading

    def list(self) -> list[OutboxMessage]:
        """Every stored message, newest first; unreadable files are skipped (and logged)."""
        return self.page()

    def page(self, limit: int | None = None, before: str | None = None, offset: int = 0,
             search: str | None = None) -> list[OutboxMessage]:
        """Up to `limit` messages newest first, from the index (message files are not read).

        `before` is a message id: only older messages are listed, however many arrive
        meanwhile (a cursor; the id may have been deleted since). `search` keeps messages whose
        From, To/Cc, envelope addresses or Subject contain it, ignoring case.
        """
        if not self.exists():
            if before is not None and _key_position(before) is None:
                raise UnknownMessageError(before)
            return []
        with self._index() as index:
            position = None
            if before is not None:
                position = index.position(before) or _key_position(before)
                if position is None:
                    raise UnknownMessageError(before)
            rows = index.page(limit, position, offset, search)
        return [OutboxMessage.from_row(row) for row in rows]

    def arrived_since(self, seconds: float) -> list[OutboxMessage]:
        """Messages that arrived at or after `seconds` (since the epoch), oldest first."""
        if not self.exists():
            return []
        with self._index() as index:
            return [OutboxMessage.from_row(row) for row in index.arrived_since(seconds)]

    def arrival(self, message_id: str) -> float | None:
        """When a stored message arrived (seconds since the epoch); None if there is none."""
        if not self.exists():
            return None
        with self._index() as index:
            position = index.position(message_id)
        return None if position is None else position[0]

    def count(self) -> tuple[int, int]:
        """How many messages are stored, and their bytes (from the index)."""
        if not self.exists():
            return 0, 0
        with self._index() as index:
            return index.totals()

    def _index(self) -> OutboxIndex:
        """The index, in line with the Maildir; built in memory if the file cannot be used
        (a read-only folder, a full disk): slower, but nothing is lost."""
        import sqlite3

        index = OutboxIndex(self.folder)
        try:
            index.sync()
        except (sqlite3.Error, OSError) as exc:
            index.close()
            log.warning("Outbox index %s unusable (%s); reading the folder instead", index.path, exc)
            index = OutboxIndex(self.folder, in_memory=True)
            index.sync()
        return index

    def get(self, message_id: str) -> EmailMessage:
        """The message, parsed with `email.policy.default` (this file only)."""
        from email import policy
        from email.parser import BytesParser

        message = BytesParser(policy=policy.default).parsebytes(self.raw(message_id))
        return message  # type: ignore[return-value]  # policy.default builds EmailMessage

    def raw(self, message_id: str) -> bytes:
        """The message's bytes as received, without the outbox's envelope line."""
        data = self._path(message_id).read_bytes()
        return data[_content_offset(data):]

    def read(self, message_id: str) -> tuple[Envelope, bytes]:
        """The envelope and the bytes as received, from one read of the file. A file without an
        envelope (dropped in by hand) gets an empty one, arrived when its name or mtime says."""
        path = self._path(message_id)
        data = path.read_bytes()
        envelope, offset = _read_envelope(data[:HEADER_LIMIT], path)
        if envelope is None:
            key = _key_position(message_id)
            envelope = Envelope(None, (), key[0] if key else path.stat().st_mtime)
        return envelope, data[offset:]

    def envelope(self, message_id: str) -> Envelope | None:
        """The stored envelope; None for a file without one (dropped in by hand)."""
        path = self._path(message_id)
        with open(path, "rb") as file:
            head = file.read(HEADER_LIMIT)
        envelope, _ = _read_envelope(head, path)
        return envelope

    def save_eml(self, message_id: str, path: Path) -> None:
        """Write the message as received to `path` as an .eml file (replacing it if it exists),
        0600: a message may hold codes and links meant for one person."""
        data = self.raw(message_id)
        fd = open_private_file(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with open(fd, "wb") as file:
            file.write(data)

    def to_json(self) -> list[dict[str, Any]]:
        """`list()` as JSON-ready dicts (see `OutboxMessage.to_json`)."""
        return [message.to_json() for message in self.list()]

    def exists(self) -> bool:
        return all((self.folder / name).is_dir() for name in ("new", "cur"))

    # ---------------------------------------------------------------- changing

    def add(self, raw: bytes, mail_from: str | None = None, rcpt_tos: Iterable[str] = (),
            client: str = "", user: str | None = None) -> str:
        """Store one message with its envelope; returns the new message's id."""
        recipients = tuple(_one_line(r) for r in rcpt_tos)
        sender = None if mail_from is None else (_one_line(mail_from) or "<>")
        writer = MessageWriter.start(self, {"mail_from": sender, "rcpt_tos": recipients,
                                            "client": client, "user": user})
        try:
            writer.write(raw.replace(b"\r\n", b"\n"))
            row = writer.commit().row()
        except BaseException:
            writer.abort()
            raise
        with contextlib.suppress(OSError, Exception), OutboxIndex(self.folder) as index:
            index.put([row])  # a cache: a failure here is caught up by the next sync
        log.info("Local outbox stored message %s (from %s to %s)", row.id, sender,
                 ", ".join(recipients))
        return row.id

    def delete(self, message_id: str) -> None:
        """Remove one message; `UnknownMessageError` if there is none with that id."""
        try:
            os.unlink(self._path(message_id))
        except FileNotFoundError:
            raise UnknownMessageError(message_id) from None

    def clear(self) -> int:
        """Remove every message; returns how many were removed."""
        from smtp_desktop.outbox.index import maildir_entries

        removed = 0
        for path in maildir_entries(self.folder).values():
            try:
                os.unlink(self.folder / path)
            except FileNotFoundError:  # someone else removed it first
                continue
            removed += 1
        return removed

    def prune(self, max_messages: int, max_bytes: int) -> list[str]:
        """Delete the oldest messages until at most `max_messages` and `max_bytes` are left,
        under the outbox's lock file; returns the ids removed."""
        from filelock import FileLock

        if not self.exists():
            return []
        removed: list[str] = []
        with FileLock(str(self.folder / LOCK_FILE)), self._index() as index:
            count, size = index.totals()
            for message_id, path, message_size in list(index.oldest()):
                if count <= max_messages and size <= max_bytes:
                    break
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.folder / path)
                removed.append(message_id)
                count, size = count - 1, size - message_size
            index.remove(removed)
        if removed:
            log.info("Local outbox pruned the %d oldest messages (limits: %d messages, %d bytes)",
                     len(removed), max_messages, max_bytes)
        return removed

    def sweep_tmp(self) -> int:
        """Remove tmp/ files left by processes that are gone (or older than 36 hours)."""
        removed = 0
        try:
            entries = list(os.scandir(self.folder / "tmp"))
        except OSError:  # no tmp/ yet, or unusable (storing will say so)
            return 0
        now = time.time()
        for entry in entries:
            match = _KEY_TIME.match(entry.name)
            try:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > TMP_MAX_AGE
            except FileNotFoundError:
                continue
            if match and match.group(5) == _HOST and not stale:
                stale = not _process_alive(int(match.group(3)))
            if stale:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
        if removed:
            log.info("Local outbox removed %d unfinished messages from %s", removed,
                     self.folder / "tmp")
        return removed

    def ensure_folders(self, again: bool = False) -> None:
        """Make the Maildir (private to the user) unless this object made it already."""
        if self._folders_made and not again:
            return
        for name in ("tmp", "new", "cur"):
            make_private_folder(self.folder / name)
        self._folders_made = True

    # ---------------------------------------------------------------- internals

    def _path(self, message_id: str) -> Path:
        if not _SAFE_ID.match(message_id) or message_id.startswith("."):
            raise UnknownMessageError(message_id)
        new = self.folder / "new" / message_id
        if new.is_file():
            return new
        cur = self.folder / "cur"
        try:
            with os.scandir(cur) as entries:
                for entry in entries:
                    if entry.name == message_id or entry.name.startswith(message_id + ":"):
                        return Path(entry.path)
        except FileNotFoundError:
            pass
        raise UnknownMessageError(message_id)


def _process_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows: trust the age rule
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _key_position(message_id: str) -> tuple[float, int, str] | None:
    match = _KEY_TIME.match(message_id)
    if not match:
        return None
    return int(match.group(1)) + int(match.group(2)) / 1_000_000, int(match.group(4)), message_id


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()).strip()


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat(timespec="microseconds")


def _content_offset(data: bytes) -> int:
    """Where the message as received starts: after our envelope line (or older headers)."""
    if data.startswith(_ENVELOPE_PREFIX):
        end = data.find(b"\n")
        return len(data) if end < 0 else end + 1
    offset = 0
    while data.startswith(_LEGACY_PREFIXES, offset):
        end = data.find(b"\n", offset)
        while end >= 0 and data[end + 1:end + 2] in (b" ", b"\t"):  # folded continuation
            end = data.find(b"\n", end + 1)
        offset = len(data) if end < 0 else end + 1
    return offset


def _read_envelope(head: bytes, path: Path) -> tuple[Envelope | None, int]:
    """The envelope at the start of a file, and where the content starts."""
    offset = _content_offset(head)
    if head.startswith(_ENVELOPE_PREFIX):
        return Envelope.from_line(head[:offset]), offset
    if offset == 0:
        return None, 0
    # Older files: envelope headers ahead of the message's own.
    from email import policy
    from email.parser import BytesHeaderParser
    from email.utils import getaddresses

    legacy = BytesHeaderParser(policy=policy.compat32).parsebytes(head[:offset])
    sender = legacy.get(ENVELOPE_FROM_HEADER)
    recipients = [addr for _, addr in getaddresses([str(legacy.get(ENVELOPE_TO_HEADER) or "")])
                  if addr]
    received = _key_position(path.name.split(":", 1)[0])
    when = received[0] if received else path.stat().st_mtime
    return Envelope(None if sender is None else str(sender), tuple(recipients), when), offset


def read_index_row(folder: Path, message_id: str, relative: str) -> IndexRow | None:
    """The index row of one message file, from its envelope line and headers only."""
    path = folder / relative
    try:
        with open(path, "rb") as file:
            head = file.read(64 * 1024)
            while _header_end(head) < 0 and len(head) < HEADER_LIMIT:
                more = file.read(64 * 1024)
                if not more:
                    break
                head += more
            size = os.fstat(file.fileno()).st_size
        envelope, offset = _read_envelope(head, path)
        if envelope is None:
            envelope = Envelope(None, (), path.stat().st_mtime)
            key = _key_position(message_id)
            if key is not None:
                envelope = Envelope(None, (), key[0])
    except (OSError, ValueError) as exc:  # removed meanwhile, unreadable
        log.warning("Skipping outbox message %s: %s", message_id, exc)
        return None
    block = head[offset:]
    end = _header_end(block)
    return summarize(message_id, relative, envelope, block[:end] if end >= 0 else block[:HEADER_LIMIT],
                     size - offset)


def summarize(message_id: str, relative: str, envelope: Envelope, header_block: bytes,
              size: int) -> IndexRow:
    """An index row from the envelope and the header block (never the body)."""
    from email.utils import getaddresses

    headers = _header_fields(header_block)

    def header(name: str) -> str:
        value = headers.get(name.lower())
        return "" if value is None else decoded_header(value)

    recipients = list(envelope.rcpt_tos)
    header_to = " ".join(header(name) for name in ("To", "Cc"))
    if not recipients:
        fields = [header(name) for name in ("To", "Cc", "Bcc")]
        recipients = [addr for _, addr in getaddresses([f for f in fields if f]) if addr]
    sender = header("From") or (envelope.mail_from or "")
    subject = header("Subject")
    envelope_from = envelope.mail_from or ""
    search = " ".join([sender, header_to, envelope_from, *envelope.rcpt_tos, subject]).casefold()
    key = _key_position(message_id)
    return IndexRow(
        id=message_id, path=relative, received=envelope.received, seq=key[1] if key else 0,
        date=_iso_date(header("Date"), envelope.received), sender=sender,
        recipients=tuple(recipients), envelope_from=envelope_from, subject=subject, size=size,
        client=envelope.client, user=envelope.user, search=search)


_LISTED = frozenset({"from", "to", "cc", "bcc", "subject", "date"})


def _header_fields(block: bytes) -> dict[str, str]:
    """The first From, To, Cc, Bcc, Subject and Date of a header block, unfolded (lower-case
    names). A plain scan: the email package's parser costs several times more per message."""
    fields: dict[str, str] = {}
    current: str | None = None
    for line in block.decode("utf-8", "replace").split("\n"):
        if line[:1] in (" ", "\t"):
            if current is not None:
                fields[current] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        key = name.rstrip().lower()
        current = key if colon and key in _LISTED and key not in fields else None
        if current is not None:
            fields[current] = value.strip()
    return fields


def decoded_header(value: str) -> str:
    """A header's text: unfolded, RFC 2047 encoded words decoded."""
    value = re.sub(r"\r?\n[ \t]", " ", value).strip()
    if "=?" not in value:
        return value
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):  # a header the email package cannot decode
        return value


def _iso_date(date_header: str, arrived: float) -> str:
    from email.utils import parsedate_to_datetime

    when: dt.datetime | None = None
    if date_header:
        try:
            when = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError, OverflowError):  # a year beyond datetime's
            when = None
    if when is None:
        when = dt.datetime.fromtimestamp(arrived, dt.timezone.utc).replace(microsecond=0)
    elif when.tzinfo is None:  # "-0000": the sender did not say; RFC 5322 means UTC then
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.isoformat()
