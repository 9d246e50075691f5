"""Test history: the last test sends and probes, one JSON object a line in the data folder.

The file (the app uses data_dir/"history.jsonl") keeps at most `limit` records, oldest first.
Each append writes one whole line; when the file grows past the limit it is rewritten through a
temporary file and `os.replace`, so a reader sees the old file or the new one, never half of
either. A damaged line is skipped and logged. A record has no field for a password, so none can
be written. Text from outside (recipient, server) is stored with control characters escaped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtp_desktop.config.paths import (
    HISTORY_FILE,
    PRIVATE_FILE_MODE,
    make_private_folder,
    open_private_file,
    restrict_file,
)

log = logging.getLogger(__name__)

FILE_NAME = HISTORY_FILE  # below the data folder
DEFAULT_LIMIT = 200
KIND_SEND_TEST = "send-test"
KIND_PROBE = "probe"
KINDS = (KIND_SEND_TEST, KIND_PROBE)
SETTINGS_STATES = ("saved", "unsaved")


def history_file(data_dir: Path) -> Path:
    """Where the app keeps its test history."""
    return Path(data_dir) / FILE_NAME


class HistoryRecordError(ValueError):
    """A history line does not hold a valid record."""


@dataclass(frozen=True)
class HistoryRecord:
    """One test send or probe: when, against what, and how it ended."""

    time: str  # ISO 8601, UTC
    kind: str  # "send-test" or "probe"
    service: str  # "testsigma", "own", "local-outbox"...
    server: str  # "host:port"
    recipient: str | None  # send-test only
    ok: bool
    category: str | None  # the failure category's value; None when ok
    elapsed_ms: float
    settings: str = "saved"  # "saved", or "unsaved": the window's edits, tested before a Save
    # The fault rules the local outbox answered with (the window's rehearsal), e.g.
    # ("greylisted:always",); empty for a real test.
    rehearsal: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"rehearsal": list(self.rehearsal)}

    @property
    def service_text(self) -> str:
        """The service as people read it: "local-outbox (rehearsal: greylisted)"."""
        if not self.rehearsal:
            return self.service
        return f"{self.service} (rehearsal: {', '.join(r.split(':')[0] for r in self.rehearsal)})"

    @classmethod
    def from_json(cls, data: Any) -> HistoryRecord:
        """The record in `data`; `HistoryRecordError` saying what is wrong. Extra keys are ignored."""
        if not isinstance(data, dict):
            raise HistoryRecordError("not a JSON object")
        checks: dict[str, tuple[type, ...]] = {
            "time": (str,), "kind": (str,), "service": (str,), "server": (str,),
            "recipient": (str, type(None)), "ok": (bool,), "category": (str, type(None)),
            "elapsed_ms": (int, float),
        }
        for name, types in checks.items():
            if name not in data:
                raise HistoryRecordError(f"no {name!r}")
            value = data[name]
            if not isinstance(value, types) or (name == "elapsed_ms" and isinstance(value, bool)):
                raise HistoryRecordError(f"{name!r} has the wrong type")
        if data["kind"] not in KINDS:
            raise HistoryRecordError(f"unknown kind {data['kind']!r}")
        try:
            dt.datetime.fromisoformat(data["time"])
        except ValueError:
            raise HistoryRecordError(f"'time' is not ISO 8601: {data['time']!r}") from None
        settings = data.get("settings", "saved")  # records before it was kept: saved
        if settings not in SETTINGS_STATES:
            raise HistoryRecordError(f"unknown settings {settings!r}")
        rehearsal = data.get("rehearsal", [])  # records before it was kept: none
        if not isinstance(rehearsal, list) or not all(isinstance(r, str) for r in rehearsal):
            raise HistoryRecordError("'rehearsal' is not a list of fault rules")
        return cls(**{name: data[name] for name in checks}
                   | {"elapsed_ms": float(data["elapsed_ms"]), "settings": settings,
                      "rehearsal": tuple(rehearsal)})


def now_utc() -> str:
    """The current time as the records store it: ISO 8601, UTC, milliseconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _value(item: Any) -> Any:
    """An enum's value, or the thing itself (kinds and services come as either)."""
    return getattr(item, "value", item)


def record_from_outcome(kind: Any, service: Any, outcome: Any,
                        recipient: str | None = None, time: str | None = None,
                        settings: str = "saved", rehearsal: tuple[str, ...] = ()) -> HistoryRecord:
    """A record of one check from the transport's `Outcome` (ok, category, server, elapsed_ms).

    `kind` and `service` may be strings or enums with string values (CheckKind, Service).
    """
    category = outcome.category
    return HistoryRecord(
        time=time or now_utc(),
        kind=str(_value(kind)),
        service=str(_value(service)),
        server=_storable(str(outcome.server)),
        recipient=None if recipient is None else _storable(recipient),
        ok=bool(outcome.ok),
        category=None if category is None else str(_value(category)),
        elapsed_ms=float(outcome.elapsed_ms),
        settings=settings,
        rehearsal=tuple(_storable(rule) for rule in rehearsal),
    )


def _storable(text: str) -> str:
    """`text` as the history keeps it: control characters (a CR/LF in a refused recipient),
    bidi controls and anything UTF-8 cannot encode (a lone surrogate from a command-line
    argument that was not valid UTF-8) written as visible escapes such as \\x0d or \\udcff,
    so `history` and `history --json` show the same one-line text."""
    from smtp_desktop.text import escape

    return escape(text)


class HistoryLog:
    """The bounded log file: `append` a record, read them back with `records`."""

    def __init__(self, path: Path, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("The history limit must be at least 1.")
        self.path = Path(path)
        self.limit = limit

    def __repr__(self) -> str:
        return f"HistoryLog({str(self.path)!r}, limit={self.limit})"

    def _lock(self) -> Any:
        """A lock file beside the log: every writer, in any thread or process (the window and
        the CLI at once, or a cancelled check still finishing), appends and trims in turn."""
        import filelock

        return filelock.FileLock(str(self.path.with_name(f".{self.path.name}.lock")),
                                 mode=PRIVATE_FILE_MODE, timeout=10)

    def append(self, record: HistoryRecord) -> None:
        """Add one record; the oldest ones go when there are more than `limit`."""
        line = json.dumps(record.to_json(), ensure_ascii=False) + "\n"
        make_private_folder(self.path.parent)
        with self._lock():
            text = self._read_text()
            existing = _lines(text)
            if len(existing) + 1 > self.limit:
                kept = existing[len(existing) + 1 - self.limit:]
                self._rewrite([*kept, line])
                return
            # A line cut short (a crash mid-write) must not swallow the next record.
            prefix = "\n" if text and not text.endswith("\n") else ""
            fd = open_private_file(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            with os.fdopen(fd, "a", encoding="utf-8", newline="\n") as file:
                file.write(prefix + line)  # one write: appends of whole lines do not interleave

    def records(self) -> list[HistoryRecord]:
        """The last `limit` records, oldest first; damaged lines are skipped and logged."""
        # No lock needed: trimming replaces the file atomically and appends are whole lines.
        lines = _lines(self._read_text())
        found: list[HistoryRecord] = []
        for number, line in enumerate(lines, start=1):
            try:
                found.append(HistoryRecord.from_json(json.loads(line)))
            except (ValueError, HistoryRecordError) as exc:
                log.warning("Skipping damaged line %d of %s: %s", number, self.path, exc)
        return found[-self.limit:]

    def to_json(self) -> list[dict[str, Any]]:
        return [record.to_json() for record in self.records()]

    def clear(self) -> None:
        """Forget every record."""
        if not self.path.parent.is_dir():
            return
        with self._lock(), contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _read_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _rewrite(self, lines: list[str]) -> None:
        import tempfile

        handle, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                             dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
                restrict_file(file.fileno())
                file.writelines(lines)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise


def _lines(text: str) -> list[str]:
    """The non-blank lines, each ending with a newline.

    Split on "\n" only: str.splitlines would also split at U+2028 and friends, which JSON
    written with ensure_ascii=False keeps as they are inside strings.
    """
    return [line.rstrip("\r") + "\n" for line in text.split("\n") if line.strip()]
