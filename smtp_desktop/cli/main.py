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
from typing import TYPE_CHECKING

from smtp_desktop.cli import checks, settings
from smtp_desktop.cli.output import JsonPrinted, Output
from smtp_desktop.config.errors import (
    ConfigError,
)
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.exit_codes import ExitCode

if TYPE_CHECKING:
    pass


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
        "show": settings.show, "export": settings.export, "import": settings.import_settings,
        "import-default": settings.import_default, "send-test": checks.check,
        "probe": checks.check, "presets": settings.presets, "oauth": _oauth,
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

        return checks.print_check(failed_outcome(Category.CANCELLED,
                                           "Interrupted before the check started."), out)
    return out.done(ExitCode.INTERRUPTED, "Interrupted; the command did not finish.")


