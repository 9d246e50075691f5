"""Whether the port and the TLS keys agree, and a one-line account of how a configuration connects.

The rules follow the transport's reading of the keys:
  * mail.smtp.ssl.enable true: implicit TLS from the first byte (port 465);
  * otherwise STARTTLS is used when the server offers it, unless mail.smtp.starttls.enable is
    false; mail.smtp.starttls.required true makes it mandatory (and implies enable);
  * the certificate is verified unless mail.smtp.ssl.trust covers the host or
    mail.smtp.ssl.checkserveridentity is false.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from smtp_desktop.config.model import SmtpSettings

SSL_ENABLE = "mail.smtp.ssl.enable"
STARTTLS_ENABLE = "mail.smtp.starttls.enable"
STARTTLS_REQUIRED = "mail.smtp.starttls.required"
SSL_TRUST = "mail.smtp.ssl.trust"
CHECK_SERVER_IDENTITY = "mail.smtp.ssl.checkserveridentity"

IMPLICIT_TLS_PORT = 465
STARTTLS_PORTS = frozenset({25, 587})


class Severity(str, enum.Enum):
    WARNING = "warning"
    DANGER = "danger"


@dataclass(frozen=True)
class Finding:
    """One disagreement in the settings, with a one-click fix.

    `fix(settings)` returns settings whose connection keys are coherent; it touches only keys
    (never host, port or username) and leaves every other key where it was.
    """

    id: str
    severity: Severity
    message: str
    fix_label: str
    _fixer: Callable[[SmtpSettings], SmtpSettings] = field(repr=False, compare=False)

    def fix(self, settings: SmtpSettings) -> SmtpSettings:
        return self._fixer(settings)


# ---------------------------------------------------------------- reading the keys


def uses_implicit_tls(settings: SmtpSettings) -> bool:
    return settings.flag(SSL_ENABLE)


def starttls_required(settings: SmtpSettings) -> bool:
    return settings.flag(STARTTLS_REQUIRED)


def starttls_allowed(settings: SmtpSettings) -> bool:
    """STARTTLS will be tried when offered: enable true or absent, or required true."""
    return settings.flag(STARTTLS_ENABLE, default=True) or starttls_required(settings)


def is_loopback(host: str) -> bool:
    name = host.strip().rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def trust_covers(settings: SmtpSettings) -> bool:
    """mail.smtp.ssl.trust is '*' or names this host: its certificate is not verified."""
    tokens = (settings.key(SSL_TRUST) or "").lower().split()
    return "*" in tokens or settings.host.strip().lower() in tokens


# ---------------------------------------------------------------- fixing


def _set_keys(settings: SmtpSettings, changes: dict[str, str | None]) -> SmtpSettings:
    """Set (or, for None, remove) keys; existing rows keep their place, new ones go last."""
    rows: list[tuple[str, str]] = []
    done: set[str] = set()
    for key, value in settings.keys:
        if key not in changes:
            rows.append((key, value))
            continue
        new = changes[key]
        if new is not None and key not in done:
            rows.append((key, new))
        done.add(key)
    rows.extend((key, value) for key, value in changes.items() if value is not None and key not in done)
    return settings.with_changes(keys=tuple(rows))


def _use_implicit_tls(settings: SmtpSettings) -> SmtpSettings:
    return _set_keys(settings, {SSL_ENABLE: "true", STARTTLS_ENABLE: None, STARTTLS_REQUIRED: None})


def _use_starttls(settings: SmtpSettings) -> SmtpSettings:
    return _set_keys(settings, {SSL_ENABLE: None, STARTTLS_ENABLE: "true", STARTTLS_REQUIRED: "true"})


def _encrypt(settings: SmtpSettings) -> SmtpSettings:
    if settings.port == IMPLICIT_TLS_PORT:
        return _use_implicit_tls(settings)
    return _use_starttls(settings)


# ---------------------------------------------------------------- checking


def check_consistency(settings: SmtpSettings) -> list[Finding]:
    """Every disagreement between the port, the TLS keys and the login, most serious first."""
    findings: list[Finding] = []
    ssl = uses_implicit_tls(settings)
    port = settings.port

    if (settings.auth_required and not ssl and not starttls_allowed(settings)
            and not is_loopback(settings.host)):
        findings.append(Finding(
            "password-unencrypted", Severity.DANGER,
            f"The password would be sent unencrypted to {settings.host or 'the server'}: "
            f"mail.smtp.auth is true but {STARTTLS_ENABLE} is false and {SSL_ENABLE} is not true.",
            "Use implicit TLS (mail.smtp.ssl.enable)" if port == IMPLICIT_TLS_PORT
            else "Require STARTTLS",
            _encrypt))

    if port == IMPLICIT_TLS_PORT and not ssl:
        findings.append(Finding(
            "implicit-tls-port-without-ssl", Severity.WARNING,
            f"Port 465 expects TLS from the first byte, but {SSL_ENABLE} is not true; "
            f"the connection will hang or fail.",
            f"Set {SSL_ENABLE} to true", _use_implicit_tls))
    elif port in STARTTLS_PORTS and ssl:
        findings.append(Finding(
            "ssl-on-starttls-port", Severity.WARNING,
            f"Port {port} starts unencrypted and upgrades with STARTTLS, but {SSL_ENABLE} is true; "
            f"the connection will fail. Use port 465 for implicit TLS.",
            "Use STARTTLS instead (remove mail.smtp.ssl.enable)", _use_starttls))
    elif ssl and (settings.flag(STARTTLS_ENABLE) or starttls_required(settings)):
        findings.append(Finding(
            "ssl-and-starttls", Severity.WARNING,
            f"Both {SSL_ENABLE} and STARTTLS are on; with implicit TLS the connection is already "
            f"encrypted and STARTTLS never applies.",
            "Keep implicit TLS (remove the STARTTLS keys)", _use_implicit_tls))
    return findings


# ---------------------------------------------------------------- summary


def security_summary(settings: SmtpSettings, password_in_keyring: bool,
                     keyring: str = "the system keyring") -> str:
    """One line on how this configuration connects, e.g.
    "STARTTLS on 587, certificate verified, password from the system keyring".

    `keyring` names where the password lives (the demo's is in memory)."""
    port = settings.port
    host = settings.host or "the server"
    loopback = is_loopback(settings.host)
    encrypted = True
    if uses_implicit_tls(settings):
        parts = [f"Implicit TLS on {port}"]
    elif starttls_required(settings):
        parts = [f"STARTTLS on {port}"]
    elif starttls_allowed(settings):
        parts = [f"STARTTLS on {port} if {host} offers it (not required, so it may fall back to "
                 f"no encryption)"]
    else:
        encrypted = False
        parts = [f"Not encrypted: port {port} on {host}" + (" (this computer)" if loopback else "")]

    if encrypted:
        if trust_covers(settings):
            parts.append(f"certificate trusted without verification for {host} ({SSL_TRUST})")
        elif not settings.flag(CHECK_SERVER_IDENTITY, default=True):
            parts.append(f"certificate not checked against the host name ({CHECK_SERVER_IDENTITY} false)")
        else:
            parts.append("certificate verified")

    if not settings.auth_required:
        parts.append("no login")
    else:
        source = (f"password from {keyring}" if password_in_keyring
                  else f"password not stored in {keyring}")
        if not encrypted and not loopback:
            source += ", sent unencrypted"
        parts.append(source)
    return ", ".join(parts)
