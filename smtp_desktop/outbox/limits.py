"""The outbox's limits: one table of name, flag, default and bounds; outbox.json reads and writes them.

Every limit is a field of `OutboxLimits`, a flag of `outbox serve` and a field of `outbox.json`
in the config folder. The table `LIMITS` is the one place that says so: the CLI builds its flags
from it, the loader validates with it, and `describe()` prints it.

    {"version": 1, "max_message_size": 33554432, "max_recipients": 1000, ...}

Every field but `version` may be left out (its default applies); unknown fields are an error.
Sizes are bytes in the file; flags also take K, M and G (binary units: 1K = 1024).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtp_desktop.outbox.errors import OutboxConfigError

CONFIG_FILE = "outbox.json"  # in the config folder
FILE_VERSION = 1
KiB, MiB, GiB = 1024, 1024**2, 1024**3


@dataclass(frozen=True)
class OutboxLimits:
    """What one outbox accepts before it answers with a standard refusal."""

    max_message_size: int = 32 * MiB  # bytes of DATA; announced as SIZE in EHLO
    max_line_length: int = 1 * MiB  # bytes in one line of DATA
    max_recipients: int = 1000  # RCPT TO per message
    max_connections: int = 100  # open at once
    max_connections_per_client: int = 50  # open at once from one address (loopback is one)
    idle_timeout: float = 300.0  # seconds without a command (or DATA bytes)
    max_messages: int = 5000  # stored; the oldest are pruned first
    max_bytes: int = 1 * GiB  # stored; the oldest are pruned first


@dataclass(frozen=True)
class Limit:
    """One row of the table: a field of OutboxLimits, its flag, its unit and its bounds."""

    name: str
    kind: str  # "size" (bytes, K/M/G allowed), "count" or "seconds"
    minimum: float
    maximum: float
    past_it: str  # what the server does past it, for --help and describe()

    @property
    def bounds(self) -> str:
        """The values allowed, as people read them: "1 KiB to 4 GiB"."""
        return f"{show_value(self, self.minimum)} to {show_value(self, self.maximum)}"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def default(self) -> int | float:
        return getattr(OutboxLimits(), self.name)  # type: ignore[no-any-return]

    def check(self, value: Any, where: str) -> int | float:
        """The value if it is a number of the right kind within bounds, else OutboxConfigError."""
        whole = self.kind != "seconds"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                whole and not isinstance(value, int)) or not math.isfinite(value):
            kind = "a whole number" if whole else "a number"
            raise OutboxConfigError(f"{where} must be {kind}{' of bytes' if self.kind == 'size' else ''}.")
        if not self.minimum <= value <= self.maximum:
            raise OutboxConfigError(f"{where} must be between {show_value(self, self.minimum)} and "
                                    f"{show_value(self, self.maximum)}; got {show_value(self, value)}.")
        return value

    def parse(self, text: str) -> int | float:
        """A flag's text: a number, for sizes with an optional K, M or G (KiB, MiB, GiB)."""
        where = self.flag
        if self.kind == "size":
            match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)(?:i?B)?\s*", text, re.IGNORECASE)
            if not match:
                raise OutboxConfigError(f"{where} expects bytes, optionally with K, M or G "
                                        f"(like 32M); got {text!r}.")
            factor = {"": 1, "K": KiB, "M": MiB, "G": GiB}[match.group(2).upper()]
            return self.check(int(match.group(1)) * factor, where)
        try:
            value: int | float = int(text) if self.kind == "count" else float(text)
        except ValueError:
            raise OutboxConfigError(f"{where} expects a number; got {text!r}.") from None
        return self.check(value, where)


def show_value(limit: Limit, value: float) -> str:
    """`value` of `limit` as people read it: "32 MiB", "300 s", "1000"."""
    if limit.kind == "size":
        for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
            if value >= size and value % size == 0:
                return f"{int(value // size)} {unit}"
        return f"{int(value)} bytes"
    if limit.kind == "seconds":
        return f"{value:g} s"
    return str(int(value))


LIMITS: tuple[Limit, ...] = (
    Limit("max_message_size", "size", 1 * KiB, 4 * GiB,
          "rest of DATA read and discarded, then 552 5.3.4"),
    Limit("max_line_length", "size", 1000, 64 * MiB, "500 5.5.2 after DATA, connection kept"),
    Limit("max_recipients", "count", 1, 1_000_000, "452 4.5.3 for each further RCPT"),
    Limit("max_connections", "count", 1, 100_000, "421 4.7.0 at the greeting, then close"),
    Limit("max_connections_per_client", "count", 1, 100_000,
          "421 4.7.0 at the greeting, then close (loopback is one client)"),
    Limit("idle_timeout", "seconds", 1, 86_400, "421 4.4.2, then close"),
    Limit("max_messages", "count", 1, 10_000_000, "the oldest messages are deleted first"),
    Limit("max_bytes", "size", 1 * MiB, 1024 * GiB, "the oldest messages are deleted first"),
)
_BY_NAME = {limit.name: limit for limit in LIMITS}


def limits_from_document(doc: Any, source: str = CONFIG_FILE) -> OutboxLimits:
    """outbox.json's content, validated; OutboxConfigError names every problem."""
    if not isinstance(doc, dict):
        raise OutboxConfigError(f"{source} must hold a JSON object.")
    problems: list[str] = []
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append("version must be the number 1.")
    elif version > FILE_VERSION:
        raise OutboxConfigError(
            f"{source} was written by a newer smtp-desktop (file version {version}; this version "
            f"reads {FILE_VERSION}). Update smtp-desktop; the file is left untouched.")
    values: dict[str, int | float] = {}
    for name, value in doc.items():
        if name == "version":
            continue
        limit = _BY_NAME.get(name)
        if limit is None:
            problems.append(f"unknown field {name!r} (known: {', '.join(_BY_NAME)}).")
            continue
        try:
            values[name] = limit.check(value, name)
        except OutboxConfigError as exc:
            problems.append(str(exc))
    if not problems:
        limits = OutboxLimits(**values)  # type: ignore[arg-type]
        problems.extend(consistency_problems(limits))
    if problems:
        raise OutboxConfigError(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))
    return limits


def consistency_problems(limits: OutboxLimits) -> list[str]:
    """What makes a set of limits unusable together (each limit being valid on its own)."""
    if limits.max_message_size > limits.max_bytes:
        return [f"max_message_size ({limits.max_message_size} bytes) must not exceed max_bytes "
                f"({limits.max_bytes} bytes): one message could never be kept."]
    return []


def limits_to_document(limits: OutboxLimits) -> dict[str, Any]:
    return {"version": FILE_VERSION, **dataclasses.asdict(limits)}


def load_limits(config_dir: Path) -> OutboxLimits:
    """outbox.json from the config folder; the defaults when there is none."""
    path = Path(config_dir) / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return OutboxLimits()
    except (OSError, UnicodeDecodeError) as exc:
        raise OutboxConfigError(f"Cannot read {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise OutboxConfigError(f"{path} is not valid JSON: {exc}") from None
    return limits_from_document(doc, str(path))


def save_limits(config_dir: Path, limits: OutboxLimits) -> Path:
    """Write outbox.json atomically (temp file, fsync, rename), like settings.json."""
    from smtp_desktop.config.errors import SettingsWriteError
    from smtp_desktop.config.store import dumps, write_atomically

    path = Path(config_dir) / CONFIG_FILE
    try:
        write_atomically(path, dumps(limits_to_document(limits)))
    except SettingsWriteError as exc:
        raise OutboxConfigError(str(exc)) from None
    return path


def with_overrides(limits: OutboxLimits, overrides: Mapping[str, int | float | None]) -> OutboxLimits:
    """`limits` with every override that is not None (flags win over outbox.json)."""
    chosen = {name: value for name, value in overrides.items() if value is not None}
    return dataclasses.replace(limits, **chosen)


def describe(limits: OutboxLimits) -> list[str]:
    """One line per limit, as `outbox serve` prints them at start."""
    return [f"{limit.flag} {show_value(limit, getattr(limits, limit.name))}  ({limit.past_it})"
            for limit in LIMITS]
