"""Turn SmtpSettings and their JavaMail keys into the options one connection attempt uses.

Safe defaults apply when a key is absent: certificates are verified with a host-name check,
STARTTLS is used when offered, and every wait is finite.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from smtp_desktop.config.keys import BY_NAME, is_ip_address, is_used, parse_bool
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.validation import host_problem, key_problems, port_problem
from smtp_desktop.mail.errors import InvalidInputError
from smtp_desktop.mail.transcript import printable

SUPPORTED_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")
_TLS_ORDER = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_BAD_CHARS = ("\r", "\n", "\0")


@dataclass(frozen=True)
class ConnectionOptions:
    """Everything one attempt needs to know, already validated."""

    host: str
    port: int
    username: str
    auth: bool
    mechanisms: tuple[str, ...]
    implicit_tls: bool
    starttls: bool
    starttls_required: bool
    trust_without_verification: bool
    check_server_identity: bool
    min_tls: str | None
    max_tls: str | None
    connect_timeout: float  # seconds
    read_timeout: float
    write_timeout: float
    header_from: str | None
    envelope_from: str | None
    ehlo_name: str | None
    local_address: str | None
    unused_keys: tuple[str, ...]

    @property
    def server(self) -> str:
        return format_server(self.host, self.port)

    @property
    def security(self) -> str:
        """What is configured: "ssl", "starttls" or "none"."""
        if self.implicit_tls:
            return "ssl"
        return "starttls" if self.starttls else "none"


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


def _millis(settings: SmtpSettings, name: str) -> float:
    value = settings.key(name)
    if value is None or not value.strip():
        value = BY_NAME[name].default
    return int(value.strip()) / 1000.0


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
    if any(c in settings.username for c in _BAD_CHARS):
        problems.append("The username cannot contain line breaks.")
    elif settings.username != settings.username.strip():
        problems.append("The username cannot start or end with spaces.")
    problems.extend(p.message for p in key_problems(settings.keys))
    for key, value in settings.keys:
        if any(c in value for c in "\0") or any(c in key for c in _BAD_CHARS):
            problems.append(f"The key {key.strip()!r} or its value contains control characters.")
    if problems:
        extra = f" ({len(problems) - 1} more problem(s) in the settings.)" if len(problems) > 1 else ""
        raise InvalidInputError(
            problems[0] + extra,
            advice="Correct the highlighted settings, then try again.")

    flag = settings.flag
    trust = (settings.key("mail.smtp.ssl.trust") or "").split()
    host = settings.host.rstrip(".").lower()
    trusted = "*" in trust or host in {t.rstrip(".").lower() for t in trust}
    protocols = sorted(set((settings.key("mail.smtp.ssl.protocols") or "").split()),
                       key=_TLS_ORDER.index)
    mechanisms = (_text(settings, "mail.smtp.auth.mechanisms")
                  or BY_NAME["mail.smtp.auth.mechanisms"].default).upper().split()
    if flag("mail.smtp.auth.login.disable"):
        mechanisms = [m for m in mechanisms if m != "LOGIN"]
    if flag("mail.smtp.auth.plain.disable"):
        mechanisms = [m for m in mechanisms if m != "PLAIN"]
    required = flag("mail.smtp.starttls.required")
    return ConnectionOptions(
        host=settings.host,
        port=settings.port,
        username=settings.username,
        auth=settings.auth_required,
        mechanisms=tuple(dict.fromkeys(mechanisms)),
        implicit_tls=flag("mail.smtp.ssl.enable"),
        # JavaMail's rule: "required" implies "use it". Absent means yes; "false" is obeyed.
        starttls=flag("mail.smtp.starttls.enable", True) or required,
        starttls_required=required,
        trust_without_verification=trusted,
        check_server_identity=flag("mail.smtp.ssl.checkserveridentity", True),
        min_tls=protocols[0] if protocols else None,
        max_tls=protocols[-1] if protocols else None,
        connect_timeout=_millis(settings, "mail.smtp.connectiontimeout"),
        read_timeout=_millis(settings, "mail.smtp.timeout"),
        write_timeout=_millis(settings, "mail.smtp.writetimeout"),
        header_from=_text(settings, "mail.from"),
        envelope_from=_text(settings, "mail.smtp.from"),
        ehlo_name=_text(settings, "mail.smtp.localhost"),
        local_address=_text(settings, "mail.smtp.localaddress"),
        unused_keys=unused_keys(settings),
    )


def configured_security(settings: SmtpSettings) -> str:
    """The security the settings ask for, without validating them."""
    if parse_bool(settings.key("mail.smtp.ssl.enable") or "false"):
        return "ssl"
    starttls = settings.flag("mail.smtp.starttls.enable", True)
    return "starttls" if starttls or settings.flag("mail.smtp.starttls.required") else "none"
