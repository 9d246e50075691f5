"""The providers' endpoints and scopes, from their documentation as of December 2026 (and
tested against the suite's local authorization server, never the real ones).

Microsoft identity platform: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
and .../v2-oauth2-device-code; SMTP scope: https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
Google: https://developers.google.com/identity/protocols/oauth2/native-app and
https://developers.google.com/gmail/imap/xoauth2-protocol
"""

from __future__ import annotations

from dataclasses import dataclass

from smtp_desktop.config.model import OAuth2Provider, OAuth2Settings

_MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/"
MICROSOFT_SCOPES = ("openid", "email", "offline_access", "https://outlook.office.com/SMTP.Send")
GOOGLE_SCOPES = ("openid", "email", "https://mail.google.com/")
GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE = "https://oauth2.googleapis.com/revoke"


@dataclass(frozen=True)
class Endpoints:
    """Where a sign-in goes, after the settings' overrides: None means the provider has none."""

    authorization: str | None
    token: str | None
    device_authorization: str | None
    revocation: str | None
    scopes: tuple[str, ...]
    redirect_host: str  # the loopback redirect's host: localhost for Entra, else 127.0.0.1


def endpoints(oauth2: OAuth2Settings) -> Endpoints:
    """The provider's defaults with the non-null settings over them."""
    if oauth2.provider is OAuth2Provider.MICROSOFT:
        base = _MICROSOFT.format(tenant=oauth2.tenant or "organizations")
        defaults = Endpoints(base + "authorize", base + "token", base + "devicecode", None,
                             MICROSOFT_SCOPES, "localhost")
    elif oauth2.provider is OAuth2Provider.GOOGLE:
        # Google does not allow the Gmail scope in the device flow: no device endpoint.
        defaults = Endpoints(GOOGLE_AUTHORIZE, GOOGLE_TOKEN, None, GOOGLE_REVOKE, GOOGLE_SCOPES,
                             "127.0.0.1")
    else:
        defaults = Endpoints(None, None, None, None, (), "127.0.0.1")
    return Endpoints(
        authorization=oauth2.authorization_endpoint or defaults.authorization,
        token=oauth2.token_endpoint or defaults.token,
        device_authorization=oauth2.device_authorization_endpoint or defaults.device_authorization,
        revocation=defaults.revocation,
        scopes=defaults.scopes if oauth2.scopes is None else oauth2.scopes,
        redirect_host=defaults.redirect_host,
    )
