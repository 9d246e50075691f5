"""Subcommands for QA and automation: print results, return exit codes, never open a window.

Every command follows one exit-code rule (see `ExitCode`). With --json, stdout holds exactly one
JSON object whatever the exit code; messages for people go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from smtp_desktop.config.errors import (
    ConfigError,
    FutureVersionError,
    SecretStoreError,
    SettingsFileError,
    SettingsLockedError,
)
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.store import settings_to_document
from smtp_desktop.exit_codes import ExitCode


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

    from smtp_desktop import cli_outbox

    cli_outbox.add_subcommands(sub)

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


def report(as_json: bool, code: ExitCode, message: str, **fields: Any) -> int:
    """Print a command's result: one JSON object with --json, else a line for people.

    Returns the exit code, so commands can end with `return report(...)`.
    """
    if as_json:
        document = {"ok": code == ExitCode.OK, "exit_code": int(code), "message": message}
        document.update(fields)
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(message, file=sys.stdout if code == ExitCode.OK else sys.stderr)
    return int(code)


class _Output:
    """Collects the one JSON object (with --json) or prints lines for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def done(self, code: ExitCode, message: str, **fields: Any) -> int:
        return report(self.as_json, code, message, **fields)

    def failed(self, exc: Exception) -> int:
        problems = [str(p) for p in getattr(exc, "problems", ())]
        return self.done(exit_code_for(exc), str(exc), problems=problems)


def exit_code_for(exc: Exception) -> ExitCode:
    if isinstance(exc, (SecretStoreError, SettingsLockedError)):
        return ExitCode.ENVIRONMENT  # no secure keyring, a locked keyring, settings in use
    return ExitCode.INVALID


def _read_password_stdin() -> str:
    from smtp_desktop.config.model import normalize_password

    text = sys.stdin.readline()
    return normalize_password(text).value


def run(args: argparse.Namespace, paths: AppPaths, config: ConfigService | None = None) -> int:
    """Run one subcommand; `config` may be injected (tests use an in-memory keyring)."""
    from smtp_desktop.environment import environment_warnings

    for warning in environment_warnings():
        print(f"Warning: {warning}", file=sys.stderr)
    if args.command in ("outbox", "history"):
        from smtp_desktop import cli_outbox

        return cli_outbox.run(args, paths)
    config = config or ConfigService(paths)
    handler = {
        "show": _show, "export": _export, "import": _import, "import-default": _import_default,
        "send-test": _check, "probe": _check, "presets": _presets,
    }[args.command]
    out = _Output(getattr(args, "json", False))
    try:
        return handler(args, config, out)
    except ConfigError as exc:
        return out.failed(exc)
    except OSError as exc:  # a file argument that cannot be read or written
        return out.done(ExitCode.ENVIRONMENT, f"{exc.strerror or exc}: {exc.filename or ''}")


def _load_strict(config: ConfigService) -> Any:
    """Saved settings for commands that act on them. A damaged file is an error that changes
    nothing (the window, or an import, sets it aside), never silent defaults."""
    try:
        result = config.load(set_aside=False)
    except FutureVersionError:
        raise
    except SettingsFileError as exc:
        raise SettingsFileError(
            f"{exc} Open the window to set the damaged file aside, or import a good one.") from None
    if result.read_only:
        raise FutureVersionError(result.notice or "settings.json is from a newer version.")
    return result


def _show(args: argparse.Namespace, config: ConfigService, out: _Output) -> int:
    from smtp_desktop.environment import environment_warnings

    result = _load_strict(config)
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
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return int(ExitCode.INVALID if problems else ExitCode.OK)
    own = settings
    lines = [
        f"Settings file:   {config.paths.settings_file}" + ("" if result.exists else " (not saved yet)"),
        f"SMTP:            {'on' if own.enabled else 'off (no emails are sent)'}",
        f"Service:         {'@own' if own.service.value == 'own' else 'Testsigma (default service)'}",
        f"Host:            {own.host or '-'}",
        f"Port:            {own.port}",
        f"Username:        {own.username or '-'}",
        "Password:        " + ({True: "stored in the system keyring", False: "not stored",
                                None: "unknown (no secure keyring)"}[stored]),
        "Keys:",
        *[f"  {k}: {v}" for k, v in own.keys],
    ]
    if default.service:
        lines.append(f"Default service: {default.service.host}:{default.service.port}, "
                     f"sender {default.service.sender}")
    else:
        lines.append(f"Default service: {default.problem or 'not provisioned'}")
    lines += [f"Problem: {p}" for p in problems]
    print("\n".join(lines))
    return int(ExitCode.INVALID if problems else ExitCode.OK)


def _presets(args: argparse.Namespace, config: ConfigService, out: _Output) -> int:
    from smtp_desktop.config.presets import bundled_presets, presets_json

    if out.as_json:
        print(json.dumps(presets_json(), indent=2, ensure_ascii=False))
        return int(ExitCode.OK)
    print(f"{'ID':<14} {'NAME':<34} {'SERVER':<38} {'LOGIN':<13} REGIONS")
    for preset in bundled_presets():
        where = f"{preset.host}:{preset.port}" if preset.host else f"(your server):{preset.port}"
        regions = ", ".join(r.id for r in preset.regions)
        print(f"{preset.id:<14} {preset.name:<34} {where:<38} {preset.auth.value:<13} "
              f"{regions}".rstrip())
    return int(ExitCode.OK)


def _export(args: argparse.Namespace, config: ConfigService, out: _Output) -> int:
    settings = _load_strict(config).settings
    if args.file == "-":
        from smtp_desktop.config.store import dumps

        sys.stdout.write(dumps(settings_to_document(settings)))
        return int(ExitCode.OK)
    target = Path(args.file)
    config.export(settings, target)
    return out.done(ExitCode.OK, f"Settings exported to {target} (the password is not included).",
                    file=str(target))


def _import(args: argparse.Namespace, config: ConfigService, out: _Output) -> int:
    settings = config.read_import(Path(args.file))
    try:
        previous: SmtpSettings | None = _load_strict(config).settings
    except FutureVersionError:
        raise
    except SettingsFileError:
        previous = None  # a damaged file is what an import repairs; it is set aside first
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


def _import_default(args: argparse.Namespace, config: ConfigService, out: _Output) -> int:
    service = config.read_default_service(Path(args.file))
    password = _read_password_stdin() if args.password_stdin else None
    if args.password_stdin and not password:
        return out.done(ExitCode.INVALID, "No password was given on standard input.")
    config.save_default_service(service, password)
    return out.done(ExitCode.OK, f"Default email service provisioned: {service.host}:{service.port}, "
                    f"sender {service.sender}.")


def _check(args: argparse.Namespace, config: ConfigService, out: _Output) -> int:
    from smtp_desktop.checks import CheckKind, CheckRequest, run_check
    from smtp_desktop.mail import Category, failed_outcome

    try:
        settings = _load_strict(config).settings
    except ConfigError as exc:
        outcome = failed_outcome(Category.INVALID_INPUT, str(exc))
    else:
        password = _read_password_stdin() if args.password_stdin else None
        if args.password_stdin and not password:
            outcome = failed_outcome(Category.INVALID_INPUT,
                                     "No password was given on standard input.")
            return _print_check(outcome, out)
        kind = CheckKind.PROBE if args.command == "probe" else CheckKind.SEND_TEST
        request = CheckRequest(kind, settings, password=password,
                               recipient=getattr(args, "to", None),
                               sender=getattr(args, "sender", None))
        outcome = run_check(config, request)
    return _print_check(outcome, out)


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


def _print_check(outcome: Any, out: _Output) -> int:
    import dataclasses

    outcome = dataclasses.replace(outcome, advice=_cli_words(outcome.advice))
    if out.as_json:
        print(json.dumps(outcome.to_json(), indent=2, ensure_ascii=False))
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
    stream = sys.stdout if outcome.ok else sys.stderr
    if outcome.ok:
        print(f"OK: {outcome.message} ({outcome.server}, {outcome.security}, "
              f"{outcome.elapsed_ms:.0f} ms)", file=stream)
    else:
        print(f"FAILED: {outcome.title} [{outcome.category.value}]: {outcome.message}",
              file=stream)
        if outcome.advice:
            print(f"Next step: {outcome.advice}", file=stream)
    if outcome.unused_keys:
        print("Keys not used by this app: " + ", ".join(outcome.unused_keys), file=stream)
    probe = getattr(outcome, "probe", None)
    if probe is not None:
        info = outcome.to_json()
        print("Capabilities: " + ", ".join(info.get("capabilities", [])), file=stream)
        print("Auth mechanisms: " + ", ".join(info.get("auth_mechanisms", [])), file=stream)
        if info.get("tls"):
            print(f"TLS: {info['tls']['version']} {info['tls']['cipher']}", file=stream)
        if info.get("certificate"):
            cert = info["certificate"]
            print(f"Certificate: {cert['subject']} (issuer {cert['issuer']}, "
                  f"valid until {cert['not_after']})", file=stream)
        login = info.get("login")
        print("Login: " + ("not tried (no credentials)" if login is None
                           else "yes" if login else "no"), file=stream)
    if outcome.transcript:
        print("Transcript:", file=stream)
        for line in outcome.transcript:
            print(f"  {line}", file=stream)
