"""Send test email and probe, from settings to outcome: the one path shared by window and CLI.

Turns settings (saved or unsaved) into a transport call: refuses when SMTP is off, picks the
default service or the user's own server, reads the password from the keyring unless one is
given, and hands everything to `smtp_desktop.mail`. Plain Python: it runs in a worker thread
in the window and directly in the CLI.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smtp_desktop.config.errors import SecretStoreError
from smtp_desktop.config.model import Service, SmtpSettings, normalize_password
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.validation import validate

if TYPE_CHECKING:  # the mail package (smtplib, ssl, email) stays off the start-up path
    from smtp_desktop.mail import CancelToken, Outcome


class CheckKind(enum.Enum):
    SEND_TEST = "send-test"
    PROBE = "probe"


@dataclass(frozen=True)
class CheckRequest:
    """Everything a check needs, gathered before it starts (on the GUI thread in the window)."""

    kind: CheckKind
    settings: SmtpSettings
    password: str | None = None  # typed or piped; None means "use the stored one"
    recipient: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class _Target:
    settings: SmtpSettings
    password: str | None
    sender: str | None


def run_check(config: ConfigService, request: CheckRequest,
              cancel: CancelToken | None = None) -> Outcome:
    """Run a test send or probe and return its outcome; never raises for expected failures."""
    from smtp_desktop import mail

    target = _resolve_target(config, request)
    if isinstance(target, mail.Outcome):
        return target

    if request.kind is CheckKind.PROBE:
        return mail.probe(target.settings, target.password, cancel=cancel)
    return mail.send_test_email(target.settings, target.password, request.recipient,
                                sender=target.sender, cancel=cancel)


def _resolve_target(config: ConfigService, request: CheckRequest) -> _Target | Outcome:
    from smtp_desktop.mail import Category, failed_outcome

    settings = request.settings
    if not settings.enabled:
        return failed_outcome(
            Category.DISABLED, "SMTP is turned off, so no email is sent.",
            advice="Turn on the SMTP Configuration toggle to send email.")
    if settings.service is Service.TESTSIGMA:
        status = config.default_service()
        if status.service is None:
            return failed_outcome(Category.NOT_PROVISIONED, status.problem or (
                "No default email service is provisioned on this computer."))
        try:
            password = config.default_service_password()
        except SecretStoreError as exc:
            return failed_outcome(Category.KEYRING, str(exc),
                                  settings=status.service.as_settings())
        return _Target(status.service.as_settings(), password,
                       request.sender or status.service.sender)
    problems = validate(settings)
    if problems:
        listed = " ".join(p.message for p in problems)
        return failed_outcome(Category.INVALID_INPUT, f"The settings are not complete: {listed}",
                              settings=settings, advice="Correct the marked fields and try again.")
    password = normalize_password(request.password).value if request.password else None
    if password is None and settings.auth_required:
        try:
            password = config.password_for(settings)
        except SecretStoreError as exc:
            return failed_outcome(Category.KEYRING, str(exc), settings=settings)
        if password is None:
            return failed_outcome(
                Category.INVALID_INPUT,
                f"No password is stored for {settings.password_account}.",
                settings=settings,
                advice="Enter the password (for Gmail, an app password) and try again.")
    return _Target(settings, password, request.sender)
