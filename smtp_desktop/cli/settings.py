"""`show`, `export`, `import`, `import-default` and `presets`: the saved settings and the catalogue."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from smtp_desktop.cli.output import JsonPrinted, Output, print_json
from smtp_desktop.cli.saved import load_saved, read_password_stdin
from smtp_desktop.config.errors import (
    FutureVersionError,
    SettingsFileError,
    SettingsWriteError,
)
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.store import settings_to_document
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.text import escape, escape_lines

if TYPE_CHECKING:
    pass


def show(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
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


def presets(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
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


def export(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
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


def import_settings(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
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
    client_secret = read_password_stdin() if args.client_secret_stdin else None
    if args.client_secret_stdin and not (client_secret and settings.oauth2.client_id):
        return out.done(ExitCode.INVALID, "No client secret was given on standard input, or "
                        f"{args.file} has no oauth2.client_id; nothing was changed.")
    if client_secret and not args.dry_run:
        config.secrets.require_secure()
        config.tokens.set_client_secret(settings.oauth2.client_id, client_secret)
    password = read_password_stdin() if args.password_stdin else None
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


def import_default(args: argparse.Namespace, config: ConfigService, out: Output) -> int:
    service = config.read_default_service(Path(args.file))
    password = read_password_stdin() if args.password_stdin else None
    if args.password_stdin and not password:
        return out.done(ExitCode.INVALID, "No password was given on standard input.")
    config.save_default_service(service, password)
    return out.done(ExitCode.OK, f"Default email service provisioned: {service.host}:{service.port}, "
                    f"sender {service.sender}.")
