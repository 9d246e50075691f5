"""The outbox's index: one SQLite row per stored message, so listing never reads message files.

`outbox/.index.sqlite3` (WAL) holds id, arrival time, envelope, From, To/Cc, Subject and size of
each message in `new/` and `cur/`. The Maildir is the truth and the index a cache of it: before
each read, `sync()` compares the number of files and the modification times of `new/` and
`cur/` with what the index last saw, and when they differ it adds the files it does not know
(reading their envelope line and headers only) and drops rows whose file is gone. So a missing,
stale or damaged index, or a crash between storing a message and indexing it, loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

INDEX_FILE = ".index.sqlite3"
WAL_ATTEMPTS, WAL_RETRY_SECONDS = 200, 0.01  # up to 2 s for a new index's switch to WAL
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    received REAL NOT NULL,
    seq INTEGER NOT NULL,
    date TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    subject TEXT NOT NULL,
    size INTEGER NOT NULL,
    client TEXT NOT NULL,
    user TEXT,
    search TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_newest ON messages (received DESC, seq DESC, id DESC);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = ("id", "path", "received", "seq", "date", "sender", "recipients", "envelope_from",
            "subject", "size", "client", "user", "search")


@dataclass(frozen=True)
class IndexRow:
    """What the index keeps of one message (`recipients` as a tuple)."""

    id: str
    path: str  # relative to the Maildir: "new/<id>" or "cur/<id>:2,..."
    received: float
    seq: int
    date: str
    sender: str
    recipients: tuple[str, ...]
    envelope_from: str
    subject: str
    size: int
    client: str
    user: str | None
    search: str  # casefolded From, To/Cc, envelope addresses and Subject

    def values(self) -> tuple[object, ...]:
        return (self.id, self.path, self.received, self.seq, self.date, self.sender,
                json.dumps(self.recipients), self.envelope_from, self.subject, self.size,
                self.client, self.user, self.search)

    @classmethod
    def from_values(cls, values: tuple) -> IndexRow:  # type: ignore[type-arg]
        fields = dict(zip(_COLUMNS, values, strict=True))
        fields["recipients"] = tuple(json.loads(fields["recipients"]))
        return cls(**fields)


def maildir_signature(folder: Path) -> str:
    """Number of entries and modification times of new/ and cur/: changes whenever a file
    arrives, moves or goes (the count also catches changes within one mtime tick)."""
    parts = []
    for name in ("new", "cur"):
        sub = folder / name
        try:
            stat = sub.stat()
            count = len(os.listdir(sub))
        except FileNotFoundError:
            parts.append(f"{name}:-")
            continue
        parts.append(f"{name}:{count}:{stat.st_mtime_ns}")
    return " ".join(parts)


def maildir_entries(folder: Path) -> dict[str, str]:
    """id -> relative path of every message file in new/ and cur/ (dot files skipped)."""
    found: dict[str, str] = {}
    for name in ("new", "cur"):
        try:
            entries = os.scandir(folder / name)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                message_id = entry.name.split(":", 1)[0] if name == "cur" else entry.name
                found[message_id] = f"{name}/{entry.name}"
    return found


def _busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (another connection, perhaps another process, holds a lock)."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "locked" in str(exc) or "busy" in str(exc)


class OutboxIndex:
    """The SQLite index of one Maildir folder. Not thread-safe: one object per thread."""

    def __init__(self, folder: Path, in_memory: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / INDEX_FILE
        self.in_memory = in_memory  # built afresh from the Maildir: for a folder we cannot write
        self._db: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> OutboxIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- connection

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:  # damaged: it is only a cache, rebuild it
                if _busy(exc):  # another process holds it: not damage; never delete it then
                    raise
                log.warning("Rebuilding the outbox index %s: %s", self.path, exc)
                self.close()
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{self.path}{suffix}")
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        if self.in_memory:
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            db.executescript(_SCHEMA)
            return db
        # Private before SQLite opens it. Only when it is new: closing any descriptor of the file
        # would drop every POSIX lock this process holds on it, those of our other connections
        # included, and another process closing its last connection would then delete the WAL
        # and shared memory under them ("disk I/O error").
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            self._use_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")  # the Maildir is the truth; the index a cache
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._make_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _use_wal(db: sqlite3.Connection) -> None:
        """WAL mode (kept in the file). Switching a new file to it needs the file to itself, and
        SQLite answers "locked" at once rather than waiting when others are opening it too."""
        for attempt in range(WAL_ATTEMPTS):
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or attempt == WAL_ATTEMPTS - 1:
                    raise
                time.sleep(WAL_RETRY_SECONDS)

    @staticmethod
    def _make_schema(db: sqlite3.Connection) -> None:
        """(Re)make the tables in one transaction, looking at the version again inside it: two
        connections making a new index at once (the window's list and a check's outbox) once
        interleaved, one dropping the tables the other had just made ("no such table")."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS messages")
                db.execute("DROP TABLE IF EXISTS meta")
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # ---------------------------------------------------------------- writing

    def put(self, rows: Iterable[IndexRow]) -> None:
        """Add or replace rows (the storing process mirrors what it stored).

        The Maildir may have changed since those files were stored (a message deleted before
        its row arrived), so the next `sync()` compares the files again.
        """
        rows = list(rows)
        if not rows:
            return
        marks = ", ".join("?" * len(_COLUMNS))
        with self._transaction() as db:
            db.executemany(f"INSERT OR REPLACE INTO messages VALUES ({marks})",
                           [row.values() for row in rows])
            db.execute("DELETE FROM meta WHERE key = 'signature'")

    def remove(self, ids: Iterable[str]) -> None:
        ids = [(message_id,) for message_id in ids]
        if ids:
            with self._transaction() as db:
                db.executemany("DELETE FROM messages WHERE id = ?", ids)

    def sync(self) -> None:
        """Bring the index in line with the Maildir when new/ or cur/ changed since last time."""
        from smtp_desktop.outbox.store import read_index_row

        signature = maildir_signature(self.folder)  # before listing: a change meanwhile shows next time
        db = self._connect()
        known = db.execute("SELECT value FROM meta WHERE key = 'signature'").fetchone()
        if known is not None and known[0] == signature:
            return
        on_disk = maildir_entries(self.folder)
        indexed = dict(db.execute("SELECT id, path FROM messages").fetchall())
        gone = [message_id for message_id, path in indexed.items() if on_disk.get(message_id) != path]
        rows = []
        for message_id, path in on_disk.items():
            if indexed.get(message_id) == path:
                continue
            row = read_index_row(self.folder, message_id, path)
            if row is not None:
                rows.append(row)
        marks = ", ".join("?" * len(_COLUMNS))
        with self._transaction() as db:
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in gone])
            db.executemany(f"INSERT OR REPLACE INTO messages VALUES ({marks})",
                           [row.values() for row in rows])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('signature', ?)", (signature,))
        if gone or rows:
            log.debug("Outbox index %s: %d added, %d dropped", self.path, len(rows), len(gone))

    # ---------------------------------------------------------------- reading

    def page(self, limit: int | None = None, before: tuple[float, int, str] | None = None,
             offset: int = 0, search: str | None = None) -> list[IndexRow]:
        """Rows newest first: older than the `before` position, matching `search`, paged."""
        where, args = [], []  # type: ignore[var-annotated]
        if before is not None:
            where.append("(received, seq, id) < (?, ?, ?)")
            args.extend(before)
        if search:
            where.append("instr(search, ?) > 0")
            args.append(search.casefold())
        sql = f"SELECT {', '.join(_COLUMNS)} FROM messages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY received DESC, seq DESC, id DESC LIMIT ? OFFSET ?"
        args.extend((-1 if limit is None else limit, offset))
        return [IndexRow.from_values(values) for values in self._connect().execute(sql, args)]

    def arrived_since(self, received: float) -> list[IndexRow]:
        """Rows of messages that arrived at or after `received`, oldest first."""
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM messages WHERE received >= ? "
               "ORDER BY received, seq, id")
        return [IndexRow.from_values(values) for values in self._connect().execute(sql, (received,))]

    def position(self, message_id: str) -> tuple[float, int, str] | None:
        found = self._connect().execute(
            "SELECT received, seq, id FROM messages WHERE id = ?", (message_id,)).fetchone()
        return None if found is None else (found[0], found[1], found[2])

    def oldest(self) -> Iterator[tuple[str, str, int]]:
        """(id, path, size) of every message, oldest first."""
        yield from self._connect().execute(
            "SELECT id, path, size FROM messages ORDER BY received, seq, id")

    def totals(self) -> tuple[int, int]:
        """How many messages, and their bytes."""
        count, size = self._connect().execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages").fetchone()
        return int(count), int(size)
