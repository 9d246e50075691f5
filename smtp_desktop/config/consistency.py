"""Whether the port, the TLS keys and the login agree, and a one-line account of how a
configuration connects.

Both read the keys through `smtp_desktop.config.policy.connection_policy`, the reading the
transport uses, so what they say is what the transport does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from smtp_desktop.config.keys import ALLOW_UNENCRYPTED_LOGIN, validate_value
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.policy import (
    CHECK_SERVER_IDENTITY,
    MECHANISMS,
    SSL_ENABLE,
    SSL_TRUST,
    STARTTLS_ENABLE,
    STARTTLS_REQUIRED,
    ConnectionPolicy,
    TlsMode,
    connection_policy,
    host_is_loopback,
)

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


def is_loopback(host: str) -> bool:
    """Whether `host` is spelled as this computer (a loopback IP or `localhost`)."""
    return host_is_loopback(host) is True


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


def _implemented_mechanisms_only(settings: SmtpSettings) -> SmtpSettings:
    policy = connection_policy(settings)
    kept = [m for m in (settings.key(MECHANISMS) or "").split()
            if m.upper() not in policy.unimplemented_mechanisms]
    return _set_keys(settings, {MECHANISMS: " ".join(kept) or None})


# ---------------------------------------------------------------- checking


def check_consistency(settings: SmtpSettings) -> list[Finding]:
    """Every disagreement between the port, the TLS keys and the login, most serious first."""
    findings: list[Finding] = []
    policy = connection_policy(settings)
    ssl = policy.implicit_tls
    port = settings.port
    host = settings.host or "the server"

    loopback = policy.host_loopback
    if policy.auth and policy.tls_mode is TlsMode.NONE and loopback is not True:
        off = f"mail.smtp.auth is true but {STARTTLS_ENABLE} is false and {SSL_ENABLE} is not true"
        secret, a_secret = (("access token", "an access token") if policy.oauth2
                            else ("password", "a password"))
        if policy.allow_unencrypted_login:
            message = (f"The {secret} will be sent unencrypted to {host}: {off}, and "
                       f"{ALLOW_UNENCRYPTED_LOGIN} is true.")
        else:
            unless = "" if loopback is False else " unless it turns out to be on this computer"
            message = (f"The login to {host} will be refused{unless}: {off}, and {a_secret} is "
                       f"never sent unencrypted to another computer.")
        findings.append(Finding(
            "password-unencrypted", Severity.DANGER, message,
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
    elif ssl and policy.starttls_requested:
        findings.append(Finding(
            "ssl-and-starttls", Severity.WARNING,
            f"Both {SSL_ENABLE} and STARTTLS are on; with implicit TLS the connection is already "
            f"encrypted and STARTTLS never applies.",
            "Keep implicit TLS (remove the STARTTLS keys)", _use_implicit_tls))

    skipped = policy.unimplemented_mechanisms
    if skipped and validate_value(MECHANISMS, settings.key(MECHANISMS) or "") is None:
        names = " ".join(skipped)
        findings.append(Finding(
            "unimplemented-mechanisms", Severity.WARNING,
            f"{MECHANISMS} lists {names}, which this app does not implement; "
            f"{'it is' if len(skipped) == 1 else 'they are'} skipped.",
            f"Remove {names} from {MECHANISMS}", _implemented_mechanisms_only))
    return findings


# ---------------------------------------------------------------- summary


def security_summary(settings: SmtpSettings, password_in_keyring: bool,
                     keyring: str = "the system keyring") -> str:
    """One line on how this configuration connects, e.g.
    "STARTTLS on 587, certificate verified, password from the system keyring".

    `keyring` names where the password lives (the demo's is in memory)."""
    policy = connection_policy(settings)
    port = settings.port
    host = settings.host or "the server"
    if policy.implicit_tls:
        parts = [f"Implicit TLS on {port}"]
    elif policy.starttls_required:
        parts = [f"STARTTLS on {port}"]
    elif policy.starttls:
        parts = [f"STARTTLS on {port} if {host} offers it (not required, so it may fall back to "
                 f"no encryption)"]
    else:
        parts = [f"Not encrypted: port {port} on {host}"
                 + (" (this computer)" if policy.host_loopback else "")]

    if policy.tls_mode is not TlsMode.NONE:
        if policy.trust_without_verification:
            parts.append(f"certificate trusted without verification for {host} ({SSL_TRUST})")
        elif not policy.check_server_identity:
            parts.append(f"certificate not checked against the host name ({CHECK_SERVER_IDENTITY} false)")
        else:
            parts.append("certificate verified")

    if not policy.auth:
        parts.append("no login")
    elif policy.oauth2:
        provider = settings.oauth2.provider.value
        parts.append(f"OAuth2 ({provider}) access token from {keyring}"
                     + _unencrypted_login(policy))
    else:
        source = (f"password from {keyring}" if password_in_keyring
                  else f"password not stored in {keyring}")
        parts.append(source + _unencrypted_login(policy))
    return ", ".join(parts)


def _unencrypted_login(policy: ConnectionPolicy) -> str:
    """What happens to the login when the connection may end up unencrypted. Before connecting
    only the host's spelling is known, so for a name both cases are said."""
    loopback = policy.host_loopback
    if policy.always_encrypted or loopback is True:
        return ""
    when = " if STARTTLS is not offered" if policy.starttls else ""
    if policy.allow_unencrypted_login:
        return f", sent unencrypted{when} ({ALLOW_UNENCRYPTED_LOGIN})"
    unless = ", unless the server is on this computer" if loopback is None else ""
    return f", never sent unencrypted: the login is refused{when}{unless}"
