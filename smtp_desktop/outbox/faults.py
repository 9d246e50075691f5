"""Fault profiles: the outbox answers one SMTP stage the way a real provider does.

The profiles live in resources/faults.json (each with its reply text, source link and the date it
was confirmed) and are checked when loaded. A rule pairs a profile with a trigger:

    PROFILE[:TRIGGER]    TRIGGER = always | next=N | rcpt=REGEX | p=P[,seed=S]

- `always` (the default): every time the profile's stage is reached;
- `next=N`: the next N connections (greeting, AUTH and MAIL stages) or messages (RCPT and DATA
  stages), counted from when the rule was set; a connection or message that got the fault keeps
  it (a second AUTH on the same connection fails too);
- `rcpt=REGEX`: recipients the regular expression matches (re.search); RCPT and DATA stages only;
- `p=P,seed=S`: each connection or message with probability P; with a seed the choices repeat
  exactly from run to run.

`FaultRules` holds the rules in force; the first rule whose profile's stage is reached and whose
trigger fires wins. It may be replaced at run time from any thread (`OutboxServer.set_fault_rules`).
Plain Python: no Qt, no aiosmtpd.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import random
import re
import threading
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtp_desktop.outbox.errors import OutboxConfigError

FAULTS_FILE = "faults.json"
FILE_VERSION = 1


class FaultsFileError(OutboxConfigError):
    """faults.json is missing, unreadable or has a wrong entry."""


class FaultRuleError(OutboxConfigError):
    """A --fault rule names no known profile or has a trigger that cannot work."""


class Stage(str, enum.Enum):
    """Where in the SMTP dialogue a profile strikes."""

    GREETING = "greeting"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the reply after the final dot (or the DATA transfer itself)

    @property
    def per_message(self) -> bool:
        """True when `next=N` and `p=` count messages here, False when they count connections."""
        return self in (Stage.RCPT, Stage.DATA)


class Action(str, enum.Enum):
    """What the server does at the stage."""

    REPLY = "reply"  # answer with the reply; the connection stays open
    REPLY_CLOSE = "reply-close"  # answer with the reply, then close the connection
    HANG = "hang"  # say nothing more (greeting: after it; data: after the final dot)
    DROP = "drop"  # close the connection after the first chunk of DATA


_ACTION_STAGES = {
    Action.REPLY: set(Stage) - {Stage.GREETING},
    Action.REPLY_CLOSE: set(Stage),
    Action.HANG: {Stage.GREETING, Stage.DATA},
    Action.DROP: {Stage.DATA},
}
_CATEGORIES = ("auth", "tls", "unavailable", "recipient-rejected", "sender-rejected", "rejected",
               "timeout", "connection-lost")


@dataclass(frozen=True)
class FaultProfile:
    """One provider answer: at `stage`, do `action` with the `reply` lines (as sent on the wire).

    `category` is the failure category the app's own Send test email ends in against it.
    """

    id: str
    provider: str
    stage: Stage
    action: Action
    reply: tuple[str, ...]
    category: str
    source: str | None
    confirmed: str
    seen: str | None = None
    note: str = ""

    @property
    def code(self) -> int | None:
        return int(self.reply[0][:3]) if self.reply else None

    @property
    def wire(self) -> str:
        """The reply as one string of CRLF-separated lines (no final CRLF)."""
        return "\r\n".join(self.reply)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "stage": self.stage.value,
                "action": self.action.value, "reply": list(self.reply), "category": self.category,
                "source": self.source, "seen": self.seen, "confirmed": self.confirmed,
                "note": self.note}


# ---------------------------------------------------------------- loading the catalogue


_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_REPLY_LINE = re.compile(r"([45]\d\d)([- ])([\x20-\x7e]*)")
_REQUIRED = ("id", "provider", "stage", "action", "reply", "category", "source", "confirmed")
_OPTIONAL = ("seen", "note")
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")


def _fail(source: str, where: str, field: str, message: str) -> FaultsFileError:
    return FaultsFileError(f"{source}: {where}, field '{field}': {message}")


def _read_profile(obj: Any, source: str, index: int) -> FaultProfile:
    where = f"profile {index + 1}"
    if not isinstance(obj, dict):
        raise FaultsFileError(f"{source}: {where} must be a JSON object.")
    if isinstance(obj.get("id"), str):
        where = f"profile '{obj['id']}'"
    for name in _REQUIRED:
        if name not in obj:
            raise _fail(source, where, name, "is missing.")
    for name in obj:
        if name not in _REQUIRED and name not in _OPTIONAL:
            raise _fail(source, where, name, "is not a known field.")

    def text(name: str, *, optional: bool = False) -> str | None:
        value = obj.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise _fail(source, where, name, "must be a non-empty string.")
        return value

    profile_id = text("id") or ""
    if not _ID.fullmatch(profile_id):
        raise _fail(source, where, "id", "must be lower-case letters, digits and '-'.")
    try:
        stage = Stage(obj["stage"])
    except ValueError:
        raise _fail(source, where, "stage", f"must be one of {', '.join(s.value for s in Stage)}.") \
            from None
    try:
        action = Action(obj["action"])
    except ValueError:
        raise _fail(source, where, "action",
                    f"must be one of {', '.join(a.value for a in Action)}.") from None
    if stage not in _ACTION_STAGES[action]:
        raise _fail(source, where, "action", f"'{action.value}' cannot happen at the {stage.value} stage.")
    reply = obj["reply"]
    if not isinstance(reply, list) or not all(isinstance(line, str) for line in reply):
        raise _fail(source, where, "reply", "must be a list of reply lines.")
    if action in (Action.HANG, Action.DROP):
        if reply:
            raise _fail(source, where, "reply", f"must be empty: '{action.value}' sends no reply.")
    else:
        _check_reply(reply, lambda message: _fail(source, where, "reply", message))
    category = text("category") or ""
    if category not in _CATEGORIES:
        raise _fail(source, where, "category", f"must be one of {', '.join(_CATEGORIES)}.")
    link = text("source", optional=True)
    note = text("note", optional=True) or ""
    if link is None and not note:
        raise _fail(source, where, "note", "must say why there is no source link.")
    for name, value in (("source", link), ("seen", text("seen", optional=True))):
        if value is not None and not value.startswith("https://"):
            raise _fail(source, where, name, "must be an https:// link.")
    confirmed = text("confirmed") or ""
    if not _DATE.fullmatch(confirmed):
        raise _fail(source, where, "confirmed", f"'{confirmed}' must be a date (YYYY-MM-DD) or month "
                                                "(YYYY-MM).")
    return FaultProfile(id=profile_id, provider=text("provider") or "", stage=stage, action=action,
                        reply=tuple(reply), category=category, source=link, confirmed=confirmed,
                        seen=text("seen", optional=True), note=note)


def _check_reply(lines: Sequence[str], fail: Any) -> None:
    if not lines:
        raise fail("must hold at least one line.")
    codes = set()
    for number, line in enumerate(lines, 1):
        match = _REPLY_LINE.fullmatch(line)
        if match is None:
            raise fail(f"line {number} must be a 4xx or 5xx code, '-' or ' ', and printable ASCII.")
        if len(line) > 510:
            raise fail(f"line {number} is longer than SMTP allows (510 characters).")
        last = number == len(lines)
        if (match.group(2) == " ") != last:
            raise fail(f"line {number}: every line but the last continues with 'CODE-', the last "
                       "is 'CODE '.")
        codes.add(match.group(1))
    if len(codes) != 1:
        raise fail("all lines must carry the same code.")


def parse_catalogue(data: Any, source: str) -> dict[str, FaultProfile]:
    """The profiles of a parsed faults.json, by id; FaultsFileError names the entry and field."""
    if not isinstance(data, dict):
        raise FaultsFileError(f"{source}: must be a JSON object.")
    if data.get("version") != FILE_VERSION:
        raise FaultsFileError(f"{source}: field 'version' must be {FILE_VERSION}.")
    profiles = data.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        raise FaultsFileError(f"{source}: field 'profiles' must be a non-empty list.")
    catalogue: dict[str, FaultProfile] = {}
    for index, obj in enumerate(profiles):
        profile = _read_profile(obj, source, index)
        if profile.id in catalogue:
            raise FaultsFileError(f"{source}: profile '{profile.id}' is listed twice.")
        catalogue[profile.id] = profile
    return catalogue


def load_catalogue(path: Path | None = None) -> dict[str, FaultProfile]:
    """The profiles of `path` (default: the bundled faults.json), by id, in file order."""
    if path is None:
        return dict(_bundled())
    return _load(path)


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[tuple[str, FaultProfile], ...]:
    from smtp_desktop.resource_files import resource_path

    return tuple(_load(resource_path(FAULTS_FILE)).items())


def _load(path: Path) -> dict[str, FaultProfile]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FaultsFileError(f"The fault profiles file {path} is missing.") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FaultsFileError(f"Cannot read the fault profiles file {path}: {exc}") from None
    return parse_catalogue(data, str(path))


# ---------------------------------------------------------------- rules and triggers


class TriggerKind(str, enum.Enum):
    ALWAYS = "always"
    NEXT = "next"
    RCPT = "rcpt"
    PROBABILITY = "p"


@dataclass(frozen=True)
class Trigger:
    """When a rule fires; `text` is how it was written (and how it is shown)."""

    kind: TriggerKind
    count: int = 0  # next=N
    pattern: str = ""  # rcpt=REGEX
    probability: float = 1.0  # p=P
    seed: int | None = None  # p=P,seed=S

    @property
    def text(self) -> str:
        if self.kind is TriggerKind.NEXT:
            return f"next={self.count}"
        if self.kind is TriggerKind.RCPT:
            return f"rcpt={self.pattern}"
        if self.kind is TriggerKind.PROBABILITY:
            seed = "" if self.seed is None else f",seed={self.seed}"
            return f"p={self.probability:g}{seed}"
        return "always"


@dataclass(frozen=True)
class FaultRule:
    """A profile and the trigger that decides when it strikes."""

    profile: FaultProfile
    trigger: Trigger

    @property
    def text(self) -> str:
        return f"{self.profile.id}:{self.trigger.text}"

    def to_json(self) -> dict[str, str]:
        return {"profile": self.profile.id, "trigger": self.trigger.text}


def parse_trigger(text: str) -> Trigger:
    """`always`, `next=N`, `rcpt=REGEX` or `p=P[,seed=S]`; FaultRuleError says what is wrong."""
    if text == "always":
        return Trigger(TriggerKind.ALWAYS)
    name, equals, value = text.partition("=")
    if name == "next" and equals:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise FaultRuleError(f"Trigger '{text}': next= needs a whole number of 1 or more.")
        return Trigger(TriggerKind.NEXT, count=count)
    if name == "rcpt" and equals:
        if not value:
            raise FaultRuleError("Trigger 'rcpt=': give a regular expression for the recipients.")
        try:
            re.compile(value)
        except re.error as exc:
            raise FaultRuleError(f"Trigger '{text}': not a valid regular expression ({exc}).") from None
        return Trigger(TriggerKind.RCPT, pattern=value)
    if name == "p" and equals:
        probability_text, comma, seed_text = value.partition(",")
        try:
            probability = float(probability_text)
        except ValueError:
            probability = -1.0
        if not 0.0 <= probability <= 1.0:
            raise FaultRuleError(f"Trigger '{text}': p= needs a probability from 0 to 1, e.g. p=0.25.")
        seed = None
        if comma:
            seed_name, seed_equals, seed_value = seed_text.partition("=")
            try:
                seed = int(seed_value) if seed_name == "seed" and seed_equals else None
            except ValueError:
                seed = None
            if seed is None:
                raise FaultRuleError(f"Trigger '{text}': after p= only ',seed=N' (a whole number) "
                                     "may follow, e.g. p=0.25,seed=42.")
        return Trigger(TriggerKind.PROBABILITY, probability=probability, seed=seed)
    raise FaultRuleError(f"Unknown trigger '{text}': use always, next=N, rcpt=REGEX or "
                         "p=0.25[,seed=42].")


def parse_rule(text: str, catalogue: Mapping[str, FaultProfile] | None = None) -> FaultRule:
    """A rule from `PROFILE[:TRIGGER]`; FaultRuleError for an unknown profile or a bad trigger
    (rcpt= on a stage before RCPT is one: there is no recipient yet)."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    profile_id, colon, trigger_text = text.strip().partition(":")
    profile = catalogue.get(profile_id)
    if profile is None:
        known = ", ".join(catalogue)
        raise FaultRuleError(f"Unknown fault profile '{profile_id}'; use one of: {known}.")
    trigger = parse_trigger(trigger_text if colon else "always")
    if trigger.kind is TriggerKind.RCPT and not profile.stage.per_message:
        raise FaultRuleError(f"'{text}': rcpt= needs a profile of the RCPT or DATA stage; "
                             f"{profile.id} strikes at the {profile.stage.value} stage, before any "
                             "recipient is known. Use always, next=N or p=.")
    return FaultRule(profile, trigger)


_SERIALS = itertools.count()


class _Armed:
    """A rule with its running state: the count left (next=N) and its random generator (p=)."""

    def __init__(self, rule: FaultRule) -> None:
        self.rule = rule
        self.serial = next(_SERIALS)  # the key of its decisions, never reused
        trigger = rule.trigger
        self.left = trigger.count
        self.random = random.Random(trigger.seed)
        self.regex = re.compile(trigger.pattern) if trigger.kind is TriggerKind.RCPT else None

    def fires(self, decided: MutableMapping[int, bool], recipients: Sequence[str]) -> bool:
        kind = self.rule.trigger.kind
        if kind is TriggerKind.ALWAYS:
            return True
        if self.regex is not None:
            return any(self.regex.search(address) for address in recipients)
        # One decision per connection or message, made when it first reaches the stage.
        key = self.serial
        if key not in decided:
            if kind is TriggerKind.NEXT:
                decided[key] = self.left > 0
                self.left = max(0, self.left - 1)
            else:
                decided[key] = self.random.random() < self.rule.trigger.probability
        return decided[key]


class FaultRules:
    """The rules in force, first match wins; safe to replace from any thread.

    `decide` is called by the server for each stage it reaches, with the decisions already made
    for the current connection (greeting, AUTH, MAIL) or message (RCPT, DATA).
    """

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self._lock = threading.Lock()
        self._armed: tuple[_Armed, ...] = tuple(_Armed(rule) for rule in rules)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        with self._lock:
            return tuple(armed.rule for armed in self._armed)

    def replace(self, rules: Iterable[FaultRule]) -> None:
        """Put `rules` in force; counts and random sequences start afresh."""
        armed = tuple(_Armed(rule) for rule in rules)
        with self._lock:
            self._armed = armed

    def has_stage(self, stage: Stage) -> bool:
        with self._lock:
            return any(armed.rule.profile.stage is stage for armed in self._armed)

    def decide(self, stage: Stage, decided: MutableMapping[int, bool],
               recipients: Sequence[str] = ()) -> FaultProfile | None:
        """The profile to play at `stage`, or None to answer normally."""
        if not self._armed:  # the usual case, and on every command: no lock needed to see it
            return None
        with self._lock:
            for armed in self._armed:
                if armed.rule.profile.stage is stage and armed.fires(decided, recipients):
                    return armed.rule.profile
        return None
