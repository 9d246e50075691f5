"""`send-test` and `probe`: a check with the saved settings, cancellable by SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING, Any

from smtp_desktop.cli.output import Output, print_json
from smtp_desktop.cli.saved import load_saved, read_password_stdin
from smtp_desktop.config.errors import (
    ConfigError,
    PasswordInputError,
)
from smtp_desktop.config.service import ConfigService
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.text import escape

if TYPE_CHECKING:
    from smtp_desktop.checks import CheckRequest
    from smtp_desktop.mail import Outcome


def check(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    from smtp_desktop.checks import CheckKind, CheckRequest
    from smtp_desktop.mail import Category, failed_outcome

    try:
        settings = load_saved(config).settings
    except ConfigError as exc:
        outcome = failed_outcome(Category.INVALID_INPUT, str(exc))
    else:
        if getattr(args, "to", None) is not None and not args.to.strip():
            return print_check(failed_outcome(
                Category.INVALID_INPUT, "The recipient (--to) is empty.",
                advice="Give the address to send the test email to, e.g. --to me@example.com."),
                out)
        if args.password_stdin and settings.uses_oauth2:
            return print_check(failed_outcome(
                Category.INVALID_INPUT, "The login method is OAuth2: there is no password to "
                "give with --password-stdin.", advice="Sign in with smtp-desktop oauth login."),
                out)
        try:
            password = read_password_stdin() if args.password_stdin else None
        except PasswordInputError as exc:
            return print_check(failed_outcome(Category.INVALID_INPUT, str(exc)), out)
        if args.password_stdin and not password:
            outcome = failed_outcome(Category.INVALID_INPUT,
                                     "No password was given on standard input.")
            return print_check(outcome, out)
        kind = CheckKind.PROBE if args.command == "probe" else CheckKind.SEND_TEST
        request = CheckRequest(kind, settings, password=password,
                               recipient=getattr(args, "to", None),
                               sender=getattr(args, "sender", None))
        outcome = _run_cancellable(config, request)
    return print_check(outcome, out)


def _run_cancellable(config: ConfigService, request: CheckRequest) -> Outcome:
    """Run the check in a thread while this one waits: SIGINT or SIGTERM (KeyboardInterrupt
    here) cancels it through its CancelToken, and the check still ends in an Outcome (category
    `cancelled`, with the transcript so far) and in the history."""
    from smtp_desktop.checks import run_check
    from smtp_desktop.mail import CancelToken

    token = CancelToken()
    done = threading.Event()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["outcome"] = run_check(config, request, token)
        except BaseException as exc:  # handed to the waiting thread, which raises it
            result["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="smtp-desktop-check", daemon=True).start()
    while not done.is_set():
        try:
            done.wait()
        except KeyboardInterrupt:
            token.cancel()  # thread-safe; the check ends soon after, as cancelled
    if "error" in result:
        raise result["error"]
    return result["outcome"]


# The mail layer's advice speaks of the window; on the command line it speaks of the CLI.
CLI_WORDS = (
    ("Turn on the SMTP Configuration toggle to send email.",
     'Import a file with "enabled": true (smtp-desktop import FILE) to send email.'),
    ("Turn on SMTP in the settings, save, then try again.",
     'Import a file with "enabled": true (smtp-desktop import FILE), then try again.'),
    ("Correct the marked fields and try again.",
     "Correct the settings named above (smtp-desktop show), then import them again."),
    ("Correct the highlighted input, then try again.",
     "Correct the input named above, then try again."),
    ("Correct the highlighted settings, then try again.",
     "Correct the settings named above, then try again."),
    ("see the help pane on app passwords",
     "create one in your Google account under Security, App passwords"),
    ("Enter the password (for Gmail, an app password) and try again.",
     "Pipe the password in with --password-stdin (for Gmail, an app password), or store it "
     "with smtp-desktop import FILE --password-stdin."),
    ("or use an email address as the username.",
     "use an email address as the username, or pass --from ADDR."),
)


def _cli_words(text: str | None) -> str | None:
    for window_words, cli_words in CLI_WORDS:
        text = text.replace(window_words, cli_words) if text else text
    return text


def print_check(outcome: Any, out: Output) -> int:
    import dataclasses

    outcome = dataclasses.replace(outcome, advice=_cli_words(outcome.advice))
    if out.as_json:
        print_json(outcome.to_json())
    else:
        _print_outcome(outcome)
    return int(exit_code_for_outcome(outcome))


def exit_code_for_outcome(outcome: Any) -> ExitCode:
    from smtp_desktop.mail import Category

    if outcome.ok:
        return ExitCode.OK
    return {
        Category.DISABLED: ExitCode.DISABLED,
        Category.INVALID_INPUT: ExitCode.INVALID,
        Category.NOT_PROVISIONED: ExitCode.INVALID,
        Category.KEYRING: ExitCode.ENVIRONMENT,
        Category.CANCELLED: ExitCode.INTERRUPTED,
    }.get(outcome.category, ExitCode.SERVER)


def _print_outcome(outcome: Any) -> None:
    """The outcome for people; every text from the server or the settings is escaped."""
    stream = sys.stdout if outcome.ok else sys.stderr

    def say(text: str) -> None:
        print(text, file=stream)

    if outcome.ok:
        say(f"OK: {escape(outcome.message)} ({escape(outcome.server)}, {outcome.security}, "
            f"{outcome.elapsed_ms:.0f} ms)")
    else:
        say(f"FAILED: {escape(outcome.title)} [{outcome.category.value}]: {escape(outcome.message)}")
        if outcome.advice:
            say(f"Next step: {escape(outcome.advice)}")
    if outcome.unused_keys:
        say("Keys not used by this app: " + ", ".join(map(escape, outcome.unused_keys)))
    probe = getattr(outcome, "probe", None)
    if probe is not None:
        info = outcome.to_json()
        say("Capabilities: " + ", ".join(map(escape, info.get("capabilities", []))))
        say("Auth mechanisms: " + ", ".join(map(escape, info.get("auth_mechanisms", []))))
        if info.get("tls"):
            say(f"TLS: {escape(info['tls']['version'])} {escape(info['tls']['cipher'])}")
        if info.get("certificate"):
            cert = info["certificate"]
            say(f"Certificate: {escape(cert['subject'])} (issuer {escape(cert['issuer'])}, "
                f"valid until {escape(cert['not_after'])})")
        login = info.get("login")
        say("Login: " + ("not tried (no credentials)" if login is None
                         else "yes" if login else "no"))
    if outcome.transcript:
        say("Transcript:")
        for line in outcome.transcript:
            say(f"  {escape(line)}")
