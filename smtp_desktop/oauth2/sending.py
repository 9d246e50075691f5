"""A send or probe with an OAuth2 login: a fresh access token first, and after a refused token
(the server's error challenge) one refresh and one retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from smtp_desktop.config.errors import SecretStoreError
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.tokens import TokenStore
from smtp_desktop.mail.errors import Category
from smtp_desktop.mail.results import Outcome
from smtp_desktop.oauth2.errors import OAuth2Error
from smtp_desktop.oauth2.token_endpoint import access_token


def _token_refused(outcome: Outcome) -> bool:
    from smtp_desktop.mail.sasl import ERROR_CHALLENGE

    return outcome.category is Category.AUTH and any(
        line.startswith("* ") and ERROR_CHALLENGE in line for line in outcome.transcript)


def with_access_token(settings: SmtpSettings, store: TokenStore,
                      attempt: Callable[[str], Outcome], *,
                      lock_folder: Path | None = None) -> Outcome:
    """Run `attempt(access_token)`; a token the server refuses is refreshed and tried once more.
    Failures to get a token come back as an Outcome (category auth, keyring, network...)."""
    from smtp_desktop.mail.transport import failed_outcome

    def token(**kwargs: object) -> str | Outcome:
        try:
            return access_token(settings, store, lock_folder=lock_folder, **kwargs)  # type: ignore[arg-type]
        except OAuth2Error as exc:
            return failed_outcome(exc.category, exc.message, settings=settings, advice=exc.advice)
        except SecretStoreError as exc:
            return failed_outcome(Category.KEYRING, str(exc), settings=settings)

    first = token()
    if isinstance(first, Outcome):
        return first
    outcome = attempt(first)
    if not _token_refused(outcome):
        return outcome
    second = token(force_refresh=True, stale=first)
    if isinstance(second, Outcome):
        return second
    return attempt(second)
