"""Turn SmtpSettings and their JavaMail keys into the options one connection attempt uses.

The keys are read by `smtp_desktop.config.policy` (the one reading shared with validation, the
consistency checks and the security summary); this module validates the settings and adds what
only a send needs (addresses, EHLO name, local address). Safe defaults apply when a key is
absent: certificates are verified with a host-name check, STARTTLS is used when offered, a login
never goes unencrypted to another computer, and every wait is finite.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from smtp_desktop.config.keys import IMPLEMENTED_MECHANISMS, is_ip_address, is_used
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.policy import ConnectionPolicy, connection_policy
from smtp_desktop.config.validation import host_problem, key_problems, port_problem, username_problem
from smtp_desktop.mail.errors import InvalidInputError
from smtp_desktop.mail.transcript import printable

SUPPORTED_MECHANISMS = IMPLEMENTED_MECHANISMS


@dataclass(frozen=True)
class ConnectionOptions(ConnectionPolicy):
    """Everything one attempt needs to know, already validated: the policy, and for a send."""

    header_from: str | None = None
    envelope_from: str | None = None
    ehlo_name: str | None = None
    local_address: str | None = None
    unused_keys: tuple[str, ...] = ()

    @property
    def server(self) -> str:
        return format_server(self.host, self.port)


def format_server(host: str, port: int | str) -> str:
    """'host:port' for display, with IPv6 addresses bracketed and control characters escaped."""
    shown = f"[{host}]" if ":" in host and is_ip_address(host) else host
    return printable(f"{shown}:{port}")


def unused_keys(settings: SmtpSettings) -> tuple[str, ...]:
    """Keys the transport does not act on: catalogue entries marked unused and unknown keys."""
    seen: list[str] = []
    for key, _ in settings.keys:
        name = key.strip()
        if name and not is_used(name) and name not in seen:
            seen.append(name)
    return tuple(seen)


def _text(settings: SmtpSettings, name: str) -> str | None:
    value = settings.key(name)
    return value.strip() or None if value is not None else None


def options_from_settings(settings: SmtpSettings) -> ConnectionOptions:
    """Validate `settings` for connecting; raises InvalidInputError naming the first problem.

    Settings and options are immutable, so repeated attempts with the same settings share one
    result (a failure is not cached: it is raised again). The port's type is part of the key:
    True == 1 and 587.0 == 587, but only an int is a valid port.
    """
    return _options(settings, type(settings.port))


@functools.lru_cache(maxsize=16)
def _options(settings: SmtpSettings, _port_type: type) -> ConnectionOptions:
    problems: list[str] = []
    if message := host_problem(settings.host):
        problems.append(message)
    if message := port_problem(settings.port):
        problems.append(message)
    if message := username_problem(settings.username):
        problems.append(message)
    problems.extend(p.message for p in key_problems(settings.keys))
    for key, value in settings.keys:
        if any(c in value for c in "\0") or any(c in key for c in "\r\n\0"):
            problems.append(f"The key {key.strip()!r} or its value contains control characters.")
    if problems:
        extra = f" ({len(problems) - 1} more problem(s) in the settings.)" if len(problems) > 1 else ""
        raise InvalidInputError(
            problems[0] + extra,
            advice="Correct the highlighted settings, then try again.")

    policy = connection_policy(settings)
    return ConnectionOptions(
        **{f.name: getattr(policy, f.name) for f in dataclasses.fields(ConnectionPolicy)},
        header_from=_text(settings, "mail.from"),
        envelope_from=_text(settings, "mail.smtp.from"),
        ehlo_name=_text(settings, "mail.smtp.localhost"),
        local_address=_text(settings, "mail.smtp.localaddress"),
        unused_keys=unused_keys(settings),
    )


def configured_security(settings: SmtpSettings) -> str:
    """The security the settings ask for, without validating them."""
    return connection_policy(settings).security
