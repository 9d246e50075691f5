"""The outbox as a QA mailbox: one message read as `outbox show` prints it, and waiting for mail.

Shared by `outbox show`, `outbox wait`, the pytest plugin (and the coming HTTP API): the store
(`Outbox`) says which messages arrived when, `reading` turns one into plain data and decides
whether it is the one wanted. A wait is woken by the file system, never by a timer: a `watchdog`
observer (inotify on Linux) watches the Maildir, armed before the first look, and the messages
are looked at again only when one is renamed into `new/` or `cur/`.

No Qt and no aiosmtpd; watchdog is imported only when a wait has to wait.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from smtp_desktop.outbox.reading import (
    Since,
    WaitCriteria,
    extract_codes,
    matches,
    parse_since,
    read_message,
)
from smtp_desktop.outbox.store import Envelope, Outbox

_MAIL_FOLDERS = ("new", "cur")
# Arrival times are floats in the index and microseconds in ISO text: look a little earlier and
# let `matches` decide exactly.
_SLACK = 0.001
CANCEL_STEP = 1.0  # seconds: how soon a cancelled wait notices


def stored_message(message_id: str, envelope: Envelope, raw: bytes,
                   code_pattern: str | None = None) -> dict[str, Any]:
    """The `outbox show --json` object of a message already read (`Outbox.read`)."""
    document = envelope.to_json()
    return read_message(raw, id=message_id, received=document.pop("received"),
                        envelope=document, code_pattern=code_pattern)


class Mailbox:
    """Reads and waits on one outbox folder; several processes may share it."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def show(self, message_id: str, code_pattern: str | None = None) -> dict[str, Any]:
        """The `outbox show --json` object; `UnknownMessageError` for an unknown ID,
        `CodePatternError` for an invalid pattern."""
        envelope, raw = self.outbox.read(message_id)
        return stored_message(message_id, envelope, raw, code_pattern)

    def since(self, value: str | None, now: dt.datetime | None = None) -> Since:
        """`--since` (an ISO 8601 time or a message ID; None: 60 s before `now`); `SinceError`."""

        def arrival_of(message_id: str) -> dt.datetime | None:
            seconds = self.outbox.arrival(message_id)
            return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.timezone.utc)

        return parse_since(value, now=now, arrival_of=arrival_of)

    def find(self, criteria: WaitCriteria, code_pattern: str | None = None,
             skip: Collection[str] = ()) -> dict[str, Any] | None:
        """The oldest message that fits `criteria` (and is not in `skip`), read; or None."""
        return self._first_match(criteria, code_pattern, set(skip))

    def wait(self, criteria: WaitCriteria, timeout: float, code_pattern: str | None = None,
             skip: Collection[str] = (), on_armed: Callable[[], None] | None = None,
             cancel: threading.Event | None = None) -> dict[str, Any] | None:
        """The oldest message that fits `criteria`, waiting up to `timeout` seconds for it to
        arrive (0: look once); None when none came.

        Each message is read once; the folder is looked at again only when the watcher reports a
        message stored. `on_armed` is called once the watcher runs, before the first look.
        Setting `cancel` ends the wait (with None) within `CANCEL_STEP` seconds.
        """
        extract_codes("", code_pattern)  # an invalid pattern fails before any waiting
        checked = set(skip)
        if timeout <= 0:
            if on_armed is not None:
                on_armed()
            return self._first_match(criteria, code_pattern, checked)
        deadline = time.monotonic() + timeout
        with MailArrivals(self.outbox) as arrivals:
            if on_armed is not None:
                on_armed()
            while True:
                found = self._first_match(criteria, code_pattern, checked)
                if found is not None:
                    return found
                while True:  # until a message is stored: no new look before that
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or (cancel is not None and cancel.is_set()):
                        return None
                    if arrivals.wait(remaining if cancel is None else min(remaining, CANCEL_STEP)):
                        break

    def arrived(self, since: float) -> list[dict[str, Any]]:
        """Every message that arrived at or after `since` (seconds since the epoch), oldest first,
        read (messages deleted meanwhile are left out)."""
        from smtp_desktop.outbox.errors import UnknownMessageError

        found = []
        for summary in self.outbox.arrived_since(since - _SLACK):
            try:
                found.append(self.show(summary.id))
            except (UnknownMessageError, FileNotFoundError):
                continue
        return found

    def _first_match(self, criteria: WaitCriteria, code_pattern: str | None,
                     checked: set[str]) -> dict[str, Any] | None:
        from smtp_desktop.outbox.errors import UnknownMessageError

        since = criteria.since.time.timestamp() - _SLACK if criteria.since is not None else 0.0
        for summary in self.outbox.arrived_since(since):
            if summary.id in checked:
                continue
            checked.add(summary.id)  # messages never change: one read each
            try:
                document = self.show(summary.id, code_pattern)
            except (UnknownMessageError, FileNotFoundError):  # deleted meanwhile
                continue
            if matches(criteria, document):
                return document
        return None


class _DropStopRace(logging.Filter):
    """watchdog 7 logs an error when its inotify thread is stopped while it reads an event
    ("queue_events() called when the thread is inactive"): an expected end, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in str(record.msg)


def _quiet_watchdog_stop() -> None:
    watchdog_log = logging.getLogger("watchdog.observers.inotify")
    if not any(isinstance(f, _DropStopRace) for f in watchdog_log.filters):
        watchdog_log.addFilter(_DropStopRace())


class MailArrivals:
    """Tells when a message is stored in an outbox folder: `wait(timeout)` returns True once one
    arrived since the last call. A context manager; the watcher runs between enter and exit."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._arrived = threading.Event()
        self._observer: Any = None

    def __enter__(self) -> MailArrivals:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        arrived = self._arrived
        folders = {str(self.outbox.folder / name) for name in _MAIL_FOLDERS}

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                path = getattr(event, "dest_path", "") or event.src_path
                if not event.is_directory and os.path.dirname(os.fsdecode(path)) in folders:
                    arrived.set()

        _quiet_watchdog_stop()
        self.outbox.ensure_folders()  # a watcher needs its folder; the server would make it too
        observer = Observer()
        # The whole Maildir: a folder removed and made again by the server is followed.
        observer.schedule(Handler(), str(self.outbox.folder), recursive=True)
        observer.start()  # the inotify watches exist once this returns
        self._observer = observer
        return self

    def wait(self, timeout: float) -> bool:
        """True as soon as a message was stored since the last call; False after `timeout`."""
        if not self._arrived.wait(timeout):
            return False
        self._arrived.clear()
        return True

    def __exit__(self, *exc_info: object) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=10)
