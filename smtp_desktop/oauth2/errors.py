"""Errors of the OAuth2 layer, each with a failure category and advice a user can act on."""

from __future__ import annotations

from smtp_desktop.mail.errors import Category


class OAuth2Error(Exception):
    """A sign-in or token refresh failed; `category` is the send's failure category."""

    def __init__(self, message: str, advice: str, category: Category = Category.AUTH,
                 error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.advice = advice
        self.category = category
        self.error = error  # the token endpoint's `error` code, when it sent one


class NotSignedInError(OAuth2Error):
    """No tokens are stored for this account."""


SIGN_IN_AGAIN = "Sign in again (smtp-desktop oauth login, or Sign in in the window)."


def token_endpoint_error(error: str, description: str | None) -> OAuth2Error:
    """The token endpoint's error (RFC 6749 5.2) in plain words."""
    said = f" The provider said: {description}" if description else ""
    if error == "invalid_grant":
        return OAuth2Error("The sign-in has expired or was revoked (invalid_grant)." + said,
                           SIGN_IN_AGAIN, error=error)
    if error in ("invalid_client", "unauthorized_client"):
        return OAuth2Error(f"The provider does not accept this client ID ({error})." + said,
                           "Check the client ID (and the tenant); a Google desktop client also "
                           "needs its client secret.", error=error)
    if "redirect" in (description or "").lower() or error == "redirect_uri_mismatch":
        return OAuth2Error("The provider refused the redirect address." + said,
                           "Register http://localhost (Microsoft Entra: Mobile and desktop "
                           "applications) or use a Desktop app client (Google).", error=error)
    return OAuth2Error(f"The token endpoint refused the request ({error})." + said,
                       SIGN_IN_AGAIN, error=error)
