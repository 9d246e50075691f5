"""OAuth2 tokens and client secrets in the keyring, never in a file.

Tokens: account `oauth2:<username>@<host>`, value JSON `{refresh_token, access_token,
expires_at, scopes, account, client}` (expires_at: the access token's expiry, ISO 8601 UTC, or
null; client: the provider, client ID and tenant they were issued to).
A client secret (Google desktop clients have one): account `oauth2-client:<client_id>`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, replace

from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.secrets import SecretStore

EXPIRY_MARGIN_S = 60.0  # an access token this close to its expiry is refreshed before a send


@dataclass(frozen=True)
class TokenSet:
    """What a sign-in left: the refresh token, the current access token and who signed in."""

    refresh_token: str | None
    access_token: str | None
    expires_at: str | None  # ISO 8601 UTC
    scopes: tuple[str, ...] = ()
    account: str | None = None  # the id_token's email
    client: str | None = None  # the client they were issued to (`client_key`); None: unknown

    def expired(self, now: dt.datetime | None = None) -> bool:
        """Whether the access token is missing or (nearly) past its expiry."""
        if not self.access_token:
            return True
        if self.expires_at is None:
            return False
        now = now or dt.datetime.now(dt.timezone.utc)
        expiry = dt.datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        return (expiry - now).total_seconds() <= EXPIRY_MARGIN_S

    def to_json(self) -> str:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> TokenSet | None:
        """The token set in `text`, or None when it is not one (a damaged entry)."""
        try:
            data = json.loads(text)
            scopes = data.get("scopes") or []
            tokens = cls(refresh_token=data.get("refresh_token"),
                         access_token=data.get("access_token"),
                         expires_at=data.get("expires_at"),
                         scopes=tuple(str(s) for s in scopes), account=data.get("account"),
                         client=data.get("client"))
            tokens.expired()  # the expiry must parse
        except (ValueError, TypeError, AttributeError):
            return None
        return tokens

    def with_changes(self, **changes: object) -> TokenSet:
        return replace(self, **changes)  # type: ignore[arg-type]


def expiry_after(seconds: float | int | None, now: dt.datetime | None = None) -> str | None:
    """`expires_in` seconds from now as ISO 8601 UTC (None: the provider did not say)."""
    if seconds is None:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    return (now + dt.timedelta(seconds=float(seconds))).isoformat(timespec="seconds") \
        .replace("+00:00", "Z")


def token_account(settings: SmtpSettings) -> str | None:
    """The keyring account of `settings`' tokens: `oauth2:<username>@<host>`."""
    account = settings.password_account
    return f"oauth2:{account}" if account else None


def client_key(settings: SmtpSettings) -> str:
    """Which client tokens belong to: provider, client ID and tenant."""
    oauth2 = settings.oauth2
    return f"{oauth2.provider.value}|{oauth2.client_id}|{oauth2.tenant or ''}"


def same_client(a: SmtpSettings, b: SmtpSettings) -> bool:
    """Whether tokens of `a` are valid for `b`: the same provider, client ID and tenant."""
    x, y = a.oauth2, b.oauth2
    return (x.provider, x.client_id, x.tenant) == (y.provider, y.client_id, y.tenant)


def client_secret_account(client_id: str) -> str:
    return f"oauth2-client:{client_id}"


class TokenStore:
    """Reads and writes token sets and client secrets through the SecretStore (secure only)."""

    def __init__(self, secrets: SecretStore) -> None:
        self.secrets = secrets

    def get(self, settings: SmtpSettings) -> TokenSet | None:
        account = token_account(settings)
        text = self.secrets.get(account) if account else None
        return TokenSet.from_json(text) if text else None

    def set(self, settings: SmtpSettings, tokens: TokenSet) -> None:
        account = token_account(settings)
        if account is None:
            raise ValueError("tokens belong to a username and host")
        self.secrets.set(account, tokens.to_json())

    def delete(self, settings: SmtpSettings) -> bool:
        account = token_account(settings)
        return bool(account) and self.secrets.delete(account)

    def client_secret(self, client_id: str) -> str | None:
        return self.secrets.get(client_secret_account(client_id)) if client_id else None

    def set_client_secret(self, client_id: str, secret: str) -> None:
        self.secrets.set(client_secret_account(client_id), secret)
