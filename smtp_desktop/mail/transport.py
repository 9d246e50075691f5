"""The one transport: every send, the test email and the probe go through the same code path.

Public API (plain Python, callable from the window's worker, the CLI, or other tools)::

    outcome = send_message(settings, password, message)            # any EmailMessage
    outcome = send_test_email(settings, password, "me@example.com")
    outcome = probe(settings, password)                            # connects, sends no mail

`settings` may be saved or unsaved form values; the password is passed separately and never
appears in an Outcome, a log record or an exception. None of these functions raises for network,
server or input problems: each returns an Outcome whose `category` says what went wrong.
Pass a CancelToken and call its `cancel()` from another thread to abandon an attempt at once.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.policy import normalize_host
from smtp_desktop.mail.cancel import CancelToken
from smtp_desktop.mail.diagnosis import ADVICE
from smtp_desktop.mail.errors import CancelledError, Category, InvalidInputError, MailError
from smtp_desktop.mail.message import bare_address, build_test_message
from smtp_desktop.mail.options import (
    ConnectionOptions,
    configured_security,
    format_server,
    options_from_settings,
    unused_keys,
)
from smtp_desktop.mail.results import Outcome, ProbeInfo, TlsInfo
from smtp_desktop.mail.transcript import Scrubber, Transcript, printable, secret_forms

if TYPE_CHECKING:
    from email.message import EmailMessage, Message

    from smtp_desktop.mail.session import Envelope, Report

__all__ = [
    "CancelToken", "Category", "Outcome", "ProbeInfo", "TlsInfo", "build_test_message",
    "failed_outcome", "probe", "send_message", "send_test_email",
]

log = logging.getLogger(__name__)

# A CR or LF that is not the start of a folded continuation line would start a new header.
_INJECTED_LINE = re.compile(r"[\r\n](?![ \t])")


def failed_outcome(category: Category, message: str | None = None, *,
                   settings: SmtpSettings | None = None, advice: str | None = None) -> Outcome:
    """An Outcome for a failure found before connecting (keyring, disabled, not provisioned...).

    `message` and `advice` default to the diagnosis table's entry for `category`.
    """
    default_message, default_advice = ADVICE[category]
    return Outcome(
        ok=False, category=category, message=message or default_message,
        advice=advice if advice is not None else default_advice, elapsed_ms=0.0,
        server=format_server(settings.host, settings.port) if settings else "",
        security=configured_security(settings) if settings else "none",
        unused_keys=unused_keys(settings) if settings else (), transcript=())


def send_message(settings: SmtpSettings, password: str | None, message: EmailMessage, *,
                 cancel: CancelToken | None = None, envelope_from: str | None = None,
                 recipients: Sequence[str] | None = None) -> Outcome:
    """Send `message` through the server `settings` describe.

    The envelope sender is `envelope_from`, else mail.smtp.from, else the message's From address;
    the recipients are `recipients`, else every To, Cc and Bcc address (Bcc is not transmitted).
    When mail.smtp.auth is true the username and `password` are required.
    """
    return _attempt(settings, password, cancel, message=message, envelope_from=envelope_from,
                    recipients=recipients)


def send_test_email(settings: SmtpSettings, password: str | None, recipient: str | None, *,
                    sender: str | None = None, cancel: CancelToken | None = None) -> Outcome:
    """Build the test email (see build_test_message) and send it with send_message."""
    try:
        message = build_test_message(settings, recipient, sender=sender)
    except InvalidInputError as exc:
        return _failure_before_connecting(settings, password, exc)
    return send_message(settings, password, message, cancel=cancel)


def probe(settings: SmtpSettings, password: str | None, *,
          cancel: CancelToken | None = None) -> Outcome:
    """Connect, EHLO, upgrade to TLS, log in when credentials are set, QUIT; sends no mail.

    The Outcome's `probe` holds capabilities, login mechanisms, whether the login worked (None
    when there were no credentials to try), the TLS version and cipher, and the certificate.
    """
    return _attempt(settings, password, cancel, probing=True)


def warm_up() -> None:
    """Load what a first connection needs, ahead of it: smtplib, ssl, the email package and the
    default TLS context (loading a system trust store takes tens of milliseconds).

    The window runs this in a worker once it has settled, so the first Send test email or
    probe does not pay for it, and a click does not wait for imports.
    """
    import importlib

    from smtp_desktop.mail import message, session

    for module in ("email.generator", "email.utils"):  # the message and envelope use them
        importlib.import_module(module)
    message.warm_up()
    try:
        session.tls_context()
    except (OSError, ValueError) as exc:  # the first real check diagnoses it properly
        log.info("TLS context not prepared ahead: %s", exc)


# ---------------------------------------------------------------- internals


def _failure_before_connecting(settings: SmtpSettings, password: str | None,
                               error: MailError) -> Outcome:
    scrub = Scrubber(secret_forms(settings.username, password, normalize_host(settings.host),
                                  settings.port))
    return Outcome(
        ok=False, category=error.category, message=scrub.printable(error.message),
        advice=scrub(error.advice) if error.advice else ADVICE[error.category][1],
        elapsed_ms=0.0, server=format_server(settings.host, settings.port),
        security=configured_security(settings), unused_keys=unused_keys(settings), transcript=())


def _envelope(opts: ConnectionOptions, message: Message, envelope_from: str | None,
              recipients: Sequence[str] | None) -> Envelope:
    import copy
    import io
    from email.generator import BytesGenerator
    from email.utils import getaddresses

    from smtp_desktop.mail.session import Envelope

    headers = [(name, _header_text(message, name, value)) for name, value in message.raw_items()]
    if envelope_from is None:
        envelope_from = opts.envelope_from
    if envelope_from is None:
        header_from = next((value for name, value in headers if name.lower() == "from"), None)
        if not header_from:
            raise InvalidInputError("The message has no From address.",
                                    advice="Add a From header, or the key mail.from.")
        envelope_from = header_from
    sender = bare_address(envelope_from, "envelope sender")
    if recipients is None:
        found = getaddresses([value for name, value in headers
                              if name.lower() in ("to", "cc", "bcc")])
        recipients = [address for _, address in found if address]
    targets = tuple(bare_address(r, "recipient") for r in recipients)
    if not targets:
        raise InvalidInputError("The message has no recipients.",
                                advice="Enter at least one recipient address.")
    outgoing = copy.copy(message)
    del outgoing["Bcc"]
    del outgoing["Resent-Bcc"]
    buffer = io.BytesIO()
    policy = outgoing.policy.clone(linesep="\r\n")
    try:
        BytesGenerator(buffer, policy=policy).flatten(outgoing, linesep="\r\n")
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"The message could not be encoded: {exc}.",
                                advice="Check the message headers for invalid characters.") \
            from None
    return Envelope(sender, targets, buffer.getvalue())


def _header_text(message: Message, name: str, value: object) -> str:
    """A header's value unfolded, for reading addresses from it.

    Raises InvalidInputError when the header would put a new line on the wire: a stored value
    whose next line does not start with white space (the generator writes each line as it is),
    or one whose encoded words decode to a line break (a long header is refolded from the
    decoded text). Addresses are read from the text as written: an encoded word is not an
    address (RFC 2047, section 5). Values with no encoded words are not parsed at all, which
    keeps the header registry off the common path.
    """
    if hasattr(value, "name"):  # a header object: its text is already unfolded and decoded
        text = decoded = str(value)
    else:
        lines = str(value).splitlines()  # the same split the generator makes when writing it
        if any(line[:1] not in (" ", "\t") for line in lines[1:]):
            raise _injected(name)
        text = decoded = "".join(lines)
        if "=?" in text:
            try:
                decoded = str(message.policy.header_fetch_parse(name, str(value)))
            except Exception as exc:  # the email package's parser fails in many ways on junk
                raise InvalidInputError(
                    f"The message header {printable(name)!r} could not be read: {exc}.",
                    advice="Check the message headers for malformed encoded words.") from None
    if _INJECTED_LINE.search(decoded) or _INJECTED_LINE.search(name):
        raise _injected(name)
    return text


def _injected(name: str) -> InvalidInputError:
    return InvalidInputError(f"The message header {printable(name)!r} contains a line break.",
                             advice="Remove line breaks from the message headers.")


def _check_login(opts: ConnectionOptions, password: str | None, probing: bool) -> bool:
    """Whether to log in; for a send, mail.smtp.auth needs both username and password."""
    if not opts.auth:
        return False
    if opts.username and password:
        return True
    if probing:
        return False
    if not opts.username:
        raise InvalidInputError("mail.smtp.auth is true but there is no username.",
                                advice="Enter the username, or set mail.smtp.auth = false.")
    raise InvalidInputError("mail.smtp.auth is true but there is no password.",
                            advice="Enter the password, or set mail.smtp.auth = false.")


def _attempt(settings: SmtpSettings, password: str | None, cancel: CancelToken | None, *,
             probing: bool = False, message: Message | None = None,
             envelope_from: str | None = None,
             recipients: Sequence[str] | None = None) -> Outcome:
    started = time.monotonic()
    token = cancel or CancelToken()
    scrub = Scrubber(secret_forms(settings.username, password, normalize_host(settings.host),
                                  settings.port))
    transcript = Transcript(scrub)
    category: Category | None = None
    text = ""
    advice: str | None = None
    report: Report | None = None
    try:
        token.raise_if_cancelled()
        opts = options_from_settings(settings)
        login = _check_login(opts, password, probing)
        envelope = None if probing or message is None else \
            _envelope(opts, message, envelope_from, recipients)
        from smtp_desktop.mail import session

        report = session.Report(security=opts.security)
        log.info("%s %s (security %s, user %s)", "probing" if probing else "sending via",
                 opts.server, opts.security, opts.username or "-")
        if probing and not login:
            transcript.note("no login tried: " + (
                "mail.smtp.auth is not true" if not opts.auth else "no username and password"))
        session.run(opts, token, transcript, report, username=opts.username,
                    password=password, login=login, envelope=envelope)
        text = report.reply or _probe_summary(opts, report)
    except MailError as exc:
        if token.cancelled and not isinstance(exc, InvalidInputError):
            exc = CancelledError()
        category, text, advice = exc.category, exc.message, exc.advice
    except Exception as exc:  # a bug: still answer with an Outcome, and log it for the report
        if token.cancelled:
            category, text, advice = Category.CANCELLED, *ADVICE[Category.CANCELLED]
        else:
            log.error("unexpected error talking to %s", settings.host, exc_info=True)
            category = Category.PROTOCOL
            text = f"Unexpected error: {type(exc).__name__}: {exc}."
            advice = "This looks like a bug in smtp-desktop; the transcript shows how far it got."
    elapsed_ms = round((time.monotonic() - started) * 1000.0, 1)
    transcript.note(f"elapsed {elapsed_ms:.0f} ms")
    if category is None:
        log.info("%s: ok: %s", format_server(settings.host, settings.port), scrub(text))
    else:
        log.info("%s: %s: %s", format_server(settings.host, settings.port), category.value,
                 scrub.printable(text))
    probe_info = None
    if probing:
        probe_info = ProbeInfo(
            capabilities=report.capabilities if report else (),
            auth_mechanisms=report.auth_mechanisms if report else (),
            login=report.login if report else None,
            tls=report.tls if report else None,
            certificate=report.certificate if report else None)
    return Outcome(
        ok=category is None, category=category, message=scrub.printable(text),
        advice=scrub(advice) if advice else (ADVICE[category][1] if category else None),
        elapsed_ms=elapsed_ms, server=format_server(settings.host, settings.port),
        security=report.security if report else configured_security(settings),
        unused_keys=unused_keys(settings), transcript=transcript.lines, probe=probe_info)


def _probe_summary(opts: ConnectionOptions, report: Report) -> str:
    how = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "no encryption"}[report.security]
    if report.tls:
        how += f" ({report.tls.version})"
    login = {True: "login accepted", False: "login refused",
             None: "login not tried"}[report.login]
    return f"Connected to {opts.server} with {how}; {login}."
