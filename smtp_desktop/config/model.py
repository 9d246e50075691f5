"""Plain values: the SMTP settings, the default service, and password normalisation."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from smtp_desktop.config.keys import DEFAULT_KEYS, parse_bool

KEYRING_SERVICE = "smtp-desktop"
DEFAULT_SERVICE_ACCOUNT = "default-service"
DEFAULT_PORT = 587


class Service(str, enum.Enum):
    TESTSIGMA = "testsigma"
    OWN = "own"


class AuthMethod(str, enum.Enum):
    """How the login proves who it is: a password in the keyring, or OAuth2 tokens."""

    PASSWORD = "password"
    OAUTH2 = "oauth2"


class OAuth2Provider(str, enum.Enum):
    MICROSOFT = "microsoft"
    GOOGLE = "google"
    CUSTOM = "custom"


@dataclass(frozen=True)
class OAuth2Settings:
    """The registered OAuth2 client a sign-in uses (settings.json `own.oauth2`).

    None for an endpoint or the scopes means the provider's default; `tenant` is read for
    microsoft only. A client secret is never here: it lives in the keyring.
    """

    provider: OAuth2Provider = OAuth2Provider.MICROSOFT
    client_id: str = ""
    tenant: str | None = "organizations"
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    scopes: tuple[str, ...] | None = None

    def with_changes(self, **changes: object) -> OAuth2Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


Keys = tuple[tuple[str, str], ...]


def keys_from(mapping: Mapping[str, str] | Iterable[tuple[str, str]]) -> Keys:
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return tuple((str(k), str(v)) for k, v in items)


@dataclass(frozen=True)
class SmtpSettings:
    """What settings.json holds. The password is kept apart, in the keyring.

    `keys` is an ordered sequence of (key, value) pairs so that an edited table with duplicate
    or empty keys can be represented and flagged by validation before it is saved.
    """

    enabled: bool = False
    service: Service = Service.TESTSIGMA
    host: str = ""
    port: int = DEFAULT_PORT
    username: str = ""
    keys: Keys = field(default=DEFAULT_KEYS)
    auth: AuthMethod = AuthMethod.PASSWORD
    oauth2: OAuth2Settings = field(default_factory=OAuth2Settings)

    @property
    def uses_oauth2(self) -> bool:
        return self.auth is AuthMethod.OAUTH2

    @property
    def keys_dict(self) -> dict[str, str]:
        return dict(self.keys)

    def key(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.keys:
            if key == name:
                return value
        return default

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.key(name)
        return default if value is None else parse_bool(value)

    @property
    def auth_required(self) -> bool:
        return self.flag("mail.smtp.auth")

    @property
    def password_account(self) -> str | None:
        """The keyring account holding this configuration's password (username@host)."""
        if not self.username or not self.host:
            return None
        return f"{self.username}@{self.host}"

    def with_changes(self, **changes: object) -> SmtpSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DefaultService:
    """The vendor's default email service, provisioned per machine by an administrator."""

    host: str
    port: int
    username: str
    sender: str
    keys: Keys = ()

    def as_settings(self) -> SmtpSettings:
        """The connection as settings, so one transport serves both services."""
        return SmtpSettings(
            enabled=True, service=Service.OWN, host=self.host, port=self.port,
            username=self.username, keys=self.keys,
        )


_APP_PASSWORD_SHAPE = re.compile(r"[A-Za-z]{4}( [A-Za-z]{4}){3}")


@dataclass(frozen=True)
class NormalizedPassword:
    value: str
    regrouped: bool  # True when Google-style "abcd efgh ijkl mnop" spaces were removed


def normalize_password(text: str) -> NormalizedPassword:
    """Drop the cosmetic spaces of a Google app password; otherwise only trim the ends."""
    stripped = text.strip()
    if _APP_PASSWORD_SHAPE.fullmatch(stripped):
        return NormalizedPassword(stripped.replace(" ", ""), True)
    return NormalizedPassword(stripped, False)
