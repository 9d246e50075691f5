"""Subcommands for QA and automation: print results, return exit codes, never open a window.

Every command follows one exit-code rule (see `ExitCode`). With --json, stdout holds exactly one
JSON object whatever the exit code, SIGINT and SIGTERM included (exit 130; a check running then
is cancelled and reports category `cancelled` with its transcript so far); messages for people
go to stderr, with untrusted text escaped (`smtp_desktop.text`).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtp_desktop.cli.output import JsonPrinted, Output, print_json
from smtp_desktop.cli.saved import load_saved
from smtp_desktop.config.errors import (
    ConfigError,
    FutureVersionError,
    PasswordInputError,
    SettingsFileError,
    SettingsWriteError,
)
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.store import settings_to_document
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.text import escape, escape_lines

if TYPE_CHECKING:
    from smtp_desktop.checks import CheckRequest
    from smtp_desktop.mail import Outcome


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    show = sub.add_parser("show", help="print the settings and whether a password is stored")
    show.add_argument("--json", action="store_true", help="print one JSON object")

    export = sub.add_parser("export", help="write the settings to FILE (never the password)")
    export.add_argument("file", metavar="FILE", help="where to write; - for standard output")
    export.add_argument("--json", action="store_true", help="print one JSON object")

    imp = sub.add_parser("import", help="replace the settings with FILE (settings.json shape)")
    imp.add_argument("file", metavar="FILE", help="a file in the settings.json shape")
    imp.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input and store it in the keyring")
    imp.add_argument("--client-secret-stdin", action="store_true",
                     help="read the OAuth2 client secret (Google desktop clients) from standard "
                          "input and store it in the keyring")
    imp.add_argument("--dry-run", action="store_true", help="validate only; change nothing")
    imp.add_argument("--json", action="store_true", help="print one JSON object")

    imp_default = sub.add_parser(
        "import-default", help="provision the default email service from FILE")
    imp_default.add_argument("file", metavar="FILE", help="a file in the default-service.json shape")
    imp_default.add_argument("--password-stdin", action="store_true",
                             help="read the service's password from standard input")
    imp_default.add_argument("--json", action="store_true", help="print one JSON object")

    presets = sub.add_parser("presets", help="list the provider presets")
    presets.add_argument("--json", action="store_true", help="print one JSON list")

    from smtp_desktop.cli import oauth as cli_oauth
    from smtp_desktop.cli import outbox as cli_outbox

    cli_outbox.add_subcommands(sub)
    cli_oauth.add_subcommands(sub)

    for name, text in (("send-test", "send a test email with the saved settings"),
                       ("probe", "connect, upgrade TLS and log in, then quit; sends no mail")):
        check = sub.add_parser(name, help=text)
        if name == "send-test":
            check.add_argument("--to", required=True, metavar="ADDR", help="recipient address")
            check.add_argument("--from", dest="sender", metavar="ADDR",
                               help="From address when the settings give none")
        check.add_argument("--password-stdin", action="store_true",
                           help="try this password (from standard input) without storing it")
        check.add_argument("--json", action="store_true", help="print one JSON object")


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM interrupts it as SIGINT does (KeyboardInterrupt), unless
    its JSON value is being printed. Only the main thread can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        if not JsonPrinted.started:
            raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT,
                                                                         signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _read_password_stdin() -> str:
    """The first line of standard input, decoded strictly: bytes that are not UTF-8 are
    refused (PasswordInputError), never guessed at or passed on to the keyring."""
    from smtp_desktop.config.model import normalize_password

    binary = getattr(sys.stdin, "buffer", None)
    line = binary.readline() if binary is not None else sys.stdin.readline()
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        text.encode("utf-8")  # a str stream may hold surrogates standing for undecodable bytes
    except UnicodeError:
        raise PasswordInputError(
            "The password on standard input is not UTF-8 text; nothing was changed.") from None
    return normalize_password(text).value


def run(args: argparse.Namespace, paths: AppPaths, config: ConfigService | None = None) -> int:
    """Run one subcommand; `config` may be injected (tests use an in-memory keyring)."""
    from smtp_desktop.environment import environment_warnings

    for warning in environment_warnings():
        print(f"Warning: {warning}", file=sys.stderr)
    JsonPrinted.started = False
    out = Output(getattr(args, "json", False))
    try:
        with _signals_interrupt():
            return _dispatch(args, paths, config, out)
    except KeyboardInterrupt:  # SIGINT or SIGTERM before a check started, or in another command
        return _interrupted(args, out)


def _dispatch(args: argparse.Namespace, paths: AppPaths, config: ConfigService | None,
              out: Output) -> int:
    if args.command in ("outbox", "history"):
        from smtp_desktop.cli import outbox as cli_outbox

        return cli_outbox.run(args, paths)
    config = config or ConfigService(paths)
    handler = {
        "show": _show, "export": _export, "import": _import, "import-default": _import_default,
        "send-test": _check, "probe": _check, "presets": _presets, "oauth": _oauth,
    }[args.command]
    try:
        return handler(args, config, out)
    except ConfigError as exc:
        return out.failed(exc)
    except OSError as exc:  # a file argument that cannot be read or written
        return out.done(ExitCode.ENVIRONMENT, f"{exc.strerror or exc}: {exc.filename or ''}")


def _oauth(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    from smtp_desktop.cli import oauth as cli_oauth

    return cli_oauth.run(args, config, out)


def _interrupted(args: argparse.Namespace, out: Output) -> int:
    if not out.as_json:
        print("Interrupted.", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    if JsonPrinted.started:  # the command's own value is out (or on its way): no second one
        return int(ExitCode.INTERRUPTED)
    if args.command in ("send-test", "probe"):
        from smtp_desktop.mail import Category, failed_outcome

        return _print_check(failed_outcome(Category.CANCELLED,
                                           "Interrupted before the check started."), out)
    return out.done(ExitCode.INTERRUPTED, "Interrupted; the command did not finish.")


def _show(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    from smtp_desktop.environment import environment_warnings

    result = load_saved(config)
    settings = result.settings
    from smtp_desktop.config.validation import validate

    secure = config.keyring_is_secure
    stored = config.password_status(settings).stored if secure else None
    default = config.default_service()
    problems = [str(p) for p in validate(settings)]
    document = {
        "config_dir": str(config.paths.config_dir),
        "data_dir": str(config.paths.data_dir),
        "settings_file": str(config.paths.settings_file),
        "saved": result.exists,
        "settings": settings_to_document(settings),
        "password_stored": stored,
        "keyring": {"secure": secure, "backend": config.secrets.description},
        "default_service": None if default.service is None else {
            "host": default.service.host, "port": default.service.port,
            "username": default.service.username, "sender": default.service.sender,
        },
        "default_service_problem": default.problem,
        "problems": problems,
        "environment_warnings": environment_warnings(),
    }
    if out.as_json:
        print_json(document)
        return int(ExitCode.INVALID if problems else ExitCode.OK)
    own = settings
    lines = [
        f"Settings file:   {escape(str(config.paths.settings_file))}"
        + ("" if result.exists else " (not saved yet)"),
        f"SMTP:            {'on' if own.enabled else 'off (no emails are sent)'}",
        f"Service:         {'@own' if own.service.value == 'own' else 'Testsigma (default service)'}",
        f"Host:            {escape(own.host) or '-'}",
        f"Port:            {own.port}",
        f"Username:        {escape(own.username) or '-'}",
        "Password:        " + ({True: "stored in the system keyring", False: "not stored",
                                None: "unknown (no secure keyring)"}[stored]),
        "Keys:",
        *[f"  {escape(k)}: {escape(v)}" for k, v in own.keys],
    ]
    if default.service:
        lines.append(f"Default service: {escape(default.service.host)}:{default.service.port}, "
                     f"sender {escape(default.service.sender)}")
    else:
        lines.append(f"Default service: {escape_lines(default.problem or 'not provisioned')}")
    lines += [f"Problem: {escape(p)}" for p in problems]
    print("\n".join(lines))
    return int(ExitCode.INVALID if problems else ExitCode.OK)


def _presets(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    from smtp_desktop.config.presets import bundled_presets, presets_json

    if out.as_json:
        print_json(presets_json())
        return int(ExitCode.OK)
    print(f"{'ID':<14} {'NAME':<34} {'SERVER':<38} {'LOGIN':<13} REGIONS")
    for preset in bundled_presets():
        where = f"{preset.host}:{preset.port}" if preset.host else f"(your server):{preset.port}"
        regions = ", ".join(r.id for r in preset.regions)
        print(f"{preset.id:<14} {preset.name:<34} {where:<38} {preset.auth.value:<13} "
              f"{regions}".rstrip())
    return int(ExitCode.OK)


def _export(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    settings = load_saved(config).settings
    if args.file == "-":
        from smtp_desktop.config.store import dumps

        text = dumps(settings_to_document(settings))
        JsonPrinted.started = True  # the document is this command's one JSON value
        sys.stdout.write(text)
        return int(ExitCode.OK)
    target = Path(args.file)
    try:
        config.export(settings, target)
    except SettingsWriteError as exc:  # FILE is the caller's choice, not a file of ours
        return out.done(ExitCode.INVALID, str(exc))
    return out.done(ExitCode.OK, f"Settings exported to {target} (the password is not included).",
                    file=str(target))


def _import(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    settings = config.read_import(Path(args.file))
    try:
        previous: SmtpSettings | None = load_saved(config).settings
    except FutureVersionError:
        raise
    except SettingsFileError:
        previous = None  # a damaged file is what an import repairs; it is set aside first
    if args.password_stdin and settings.uses_oauth2:
        return out.done(ExitCode.INVALID, f'{args.file} logs in with OAuth2 ("auth": "oauth2"): '
                        "there is no password to store; nothing was changed.")
    if args.password_stdin and args.client_secret_stdin:
        return out.done(ExitCode.INVALID, "Give either --password-stdin or --client-secret-stdin.")
    client_secret = _read_password_stdin() if args.client_secret_stdin else None
    if args.client_secret_stdin and not (client_secret and settings.oauth2.client_id):
        return out.done(ExitCode.INVALID, "No client secret was given on standard input, or "
                        f"{args.file} has no oauth2.client_id; nothing was changed.")
    if client_secret and not args.dry_run:
        config.secrets.require_secure()
        config.tokens.set_client_secret(settings.oauth2.client_id, client_secret)
    password = _read_password_stdin() if args.password_stdin else None
    if args.password_stdin and not password:
        return out.done(ExitCode.INVALID, "No password was given on standard input.")
    if password and settings.password_account is None:
        return out.done(ExitCode.INVALID, f"{args.file} has no host and username for the "
                        "password to belong to; nothing was changed.")
    if password and not config.keyring_is_secure:
        config.secrets.require_secure()  # raises NoSecureKeyringError with advice
    if args.dry_run:
        return out.done(ExitCode.OK, f"{args.file} is valid; nothing was changed (dry run).",
                        dry_run=True, settings=settings_to_document(settings))
    if previous is None:
        config.load()  # sets the damaged file aside (settings.json.corrupt-<time>)
    saved = config.save(settings, password, previous=previous)
    if saved.password_error:
        return out.done(ExitCode.ENVIRONMENT, saved.message,
                        settings=settings_to_document(settings))
    return out.done(ExitCode.OK, f"Imported {args.file}. {saved.message}",
                    settings=settings_to_document(settings))


def _import_default(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    service = config.read_default_service(Path(args.file))
    password = _read_password_stdin() if args.password_stdin else None
    if args.password_stdin and not password:
        return out.done(ExitCode.INVALID, "No password was given on standard input.")
    config.save_default_service(service, password)
    return out.done(ExitCode.OK, f"Default email service provisioned: {service.host}:{service.port}, "
                    f"sender {service.sender}.")


def _check(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    from smtp_desktop.checks import CheckKind, CheckRequest
    from smtp_desktop.mail import Category, failed_outcome

    try:
        settings = load_saved(config).settings
    except ConfigError as exc:
        outcome = failed_outcome(Category.INVALID_INPUT, str(exc))
    else:
        if getattr(args, "to", None) is not None and not args.to.strip():
            return _print_check(failed_outcome(
                Category.INVALID_INPUT, "The recipient (--to) is empty.",
                advice="Give the address to send the test email to, e.g. --to me@example.com."),
                out)
        if args.password_stdin and settings.uses_oauth2:
            return _print_check(failed_outcome(
                Category.INVALID_INPUT, "The login method is OAuth2: there is no password to "
                "give with --password-stdin.", advice="Sign in with smtp-desktop oauth login."),
                out)
        try:
            password = _read_password_stdin() if args.password_stdin else None
        except PasswordInputError as exc:
            return _print_check(failed_outcome(Category.INVALID_INPUT, str(exc)), out)
        if args.password_stdin and not password:
            outcome = failed_outcome(Category.INVALID_INPUT,
                                     "No password was given on standard input.")
            return _print_check(outcome, out)
        kind = CheckKind.PROBE if args.command == "probe" else CheckKind.SEND_TEST
        request = CheckRequest(kind, settings, password=password,
                               recipient=getattr(args, "to", None),
                               sender=getattr(args, "sender", None))
        outcome = _run_cancellable(config, request)
    return _print_check(outcome, out)


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


def _print_check(outcome: Any, out: Output) -> int:
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
