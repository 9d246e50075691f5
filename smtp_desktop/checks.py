"""Send test email and probe, from settings to outcome: the one path shared by window and CLI.

Turns settings (saved or unsaved) into a transport call: refuses when SMTP is off, picks the
default service, the embedded local outbox or the user's own server, reads the password from
the keyring unless one is given, hands everything to `smtp_desktop.mail`, and records the
result in the test history. Plain Python: it runs in a worker thread in the window and
directly in the CLI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smtp_desktop.config.errors import SecretStoreError
from smtp_desktop.config.model import Service, SmtpSettings, normalize_password
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.validation import validate

if TYPE_CHECKING:  # the mail package (smtplib, ssl, email) stays off the start-up path
    from smtp_desktop.mail import CancelToken, Outcome
    from smtp_desktop.outbox.faults import FaultRule

log = logging.getLogger(__name__)

LOCAL_OUTBOX = "local-outbox"
LOCAL_OUTBOX_SENDER = "smtp-desktop@localhost.localdomain"


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
    # The keyring account whose stored password to use: the saved one, which Save would move to
    # the settings' account (None: the settings' own account).
    password_account: str | None = None
    settings_state: str = "saved"  # "unsaved": the window's edits, not yet saved
    # How the embedded local outbox answers this check (the window's `outboxFaultCombo`): fault
    # rules, first match first; empty: it accepts the message.
    outbox_faults: tuple[FaultRule, ...] = ()


@dataclass(frozen=True)
class _Target:
    settings: SmtpSettings
    password: str | None
    sender: str | None
    service: str  # for the history: "own", "testsigma" or "local-outbox"
    oauth2: bool = False  # log in with an OAuth2 access token (refreshed as needed)


def warm_up() -> None:
    """Load, ahead of a first check, what it needs: the transport (`mail.warm_up`) and the file
    lock the history writer takes. The window runs this in a worker once it has settled."""
    import importlib

    from smtp_desktop import mail

    importlib.import_module("filelock")
    mail.warm_up()


def run_check(config: ConfigService, request: CheckRequest,
              cancel: CancelToken | None = None) -> Outcome:
    """Run a test send or probe, record it in the history, and return its outcome.

    Never raises for expected failures: they come back as an Outcome with a category.
    """
    target = _resolve_target(config, request)
    from smtp_desktop import mail

    if isinstance(target, mail.Outcome):
        outcome = target
        service = request.settings.service.value
    else:
        service = target.service
        if target.service == LOCAL_OUTBOX:
            with _local_outbox(config, request.outbox_faults) as (outbox_settings, password):
                outcome = _transport(request, dataclasses.replace(
                    target, settings=outbox_settings, password=password), cancel)
            if outcome.ok and request.kind is CheckKind.SEND_TEST:
                outcome = dataclasses.replace(outcome, delivered_to=LOCAL_OUTBOX)
        elif target.oauth2:
            from smtp_desktop.oauth2.sending import with_access_token

            outcome = with_access_token(
                target.settings, config.tokens,
                lambda token: _transport(request, dataclasses.replace(target, password=token),
                                         cancel),
                lock_folder=config.paths.config_dir)
        else:
            outcome = _transport(request, target, cancel)
    _record(config, request, service, outcome)
    return outcome


def _transport(request: CheckRequest, target: _Target, cancel: CancelToken | None) -> Outcome:
    from smtp_desktop import mail

    if request.kind is CheckKind.PROBE:
        return mail.probe(target.settings, target.password, cancel=cancel)
    return mail.send_test_email(target.settings, target.password, request.recipient,
                                sender=target.sender, cancel=cancel)


# The login the embedded outbox is sent when a fault rule answers at AUTH: it offers AUTH for such
# a rule and answers with the rule, so the check must log in to meet it. Not a secret: nothing
# but that rule ever reads it.
REHEARSAL_LOGIN = ("rehearsal@outbox.test", "rehearsal-login")


@contextlib.contextmanager
def _local_outbox(config: ConfigService,
                  faults: tuple[FaultRule, ...] = ()) -> Iterator[tuple[SmtpSettings, str | None]]:
    """The embedded outbox for one check, answering with `faults`: an SMTP server on loopback
    storing into the Maildir. Yields the settings that reach it and the password to log in with
    (None: no login)."""
    from smtp_desktop.outbox import Outbox, OutboxConfigError, OutboxServer, load_limits
    from smtp_desktop.outbox.faults import Stage

    try:
        limits = load_limits(config.paths.config_dir)
    except OutboxConfigError as exc:  # the test send still works, with the default limits
        log.warning("Ignoring outbox.json, using the default limits: %s", exc)
        limits = None
    login = any(rule.profile.stage is Stage.AUTH for rule in faults)
    server = OutboxServer(Outbox(config.paths.outbox_folder), limits=limits, faults=faults)
    server.start()
    settings = SmtpSettings(enabled=True, service=Service.OWN, host=server.host, port=server.port,
                            username=REHEARSAL_LOGIN[0] if login else "",
                            keys=(("mail.smtp.auth", "true" if login else "false"),
                                  ("mail.smtp.starttls.enable", "false")))
    try:
        yield settings, (REHEARSAL_LOGIN[1] if login else None)
    finally:
        server.stop()


def _record(config: ConfigService, request: CheckRequest, service: str, outcome: Outcome) -> None:
    from smtp_desktop.history import HistoryLog, record_from_outcome

    recipient = request.recipient if request.kind is CheckKind.SEND_TEST else None
    rehearsal = (tuple(rule.text for rule in request.outbox_faults) if service == LOCAL_OUTBOX
                 else ())
    try:
        HistoryLog(config.paths.history_file).append(
            record_from_outcome(request.kind.value, service, outcome, recipient,
                                settings=request.settings_state, rehearsal=rehearsal))
    except OSError as exc:  # the history is a convenience; a full disk must not fail the test
        log.warning("could not record the test in the history: %s", exc)


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
            if status.problem:  # provisioned but unusable: say so, never fall back silently
                return failed_outcome(Category.NOT_PROVISIONED, status.problem)
            return _Target(settings, None, request.sender or LOCAL_OUTBOX_SENDER, LOCAL_OUTBOX)
        try:
            password = config.default_service_password()
        except SecretStoreError as exc:
            return failed_outcome(Category.KEYRING, str(exc),
                                  settings=status.service.as_settings())
        return _Target(status.service.as_settings(), password,
                       request.sender or status.service.sender, Service.TESTSIGMA.value)
    problems = validate(settings)
    if problems:
        listed = " ".join(p.message for p in problems)
        return failed_outcome(Category.INVALID_INPUT, f"The settings are not complete: {listed}",
                              settings=settings, advice="Correct the marked fields and try again.")
    if settings.uses_oauth2 and settings.auth_required:
        return _Target(settings, None, request.sender, Service.OWN.value, oauth2=True)
    password = normalize_password(request.password).value if request.password else None
    if password is None and settings.auth_required:
        account = request.password_account or settings.password_account
        try:
            password = config.secrets.get(account) if account else None
        except SecretStoreError as exc:
            return failed_outcome(Category.KEYRING, str(exc), settings=settings)
        if password is None:
            return failed_outcome(
                Category.INVALID_INPUT,
                f"No password is stored for {account or settings.password_account}.",
                settings=settings,
                advice="Enter the password (for Gmail, an app password) and try again.")
    return _Target(settings, password, request.sender, Service.OWN.value)
