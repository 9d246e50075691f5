"""Composition root: parse arguments, build the services, then open the window or run the CLI."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from smtp_desktop import __version__
from smtp_desktop.exit_codes import ExitCode

if TYPE_CHECKING:
    from smtp_desktop.config.paths import AppPaths


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors exit 2 as usual; with --json anywhere in the arguments, stdout also gets the
    one JSON object every command promises, whatever the exit code."""

    json_output = False  # set by main() for this process's arguments

    def error(self, message: str) -> NoReturn:
        if _ArgumentParser.json_output:
            from smtp_desktop.cli import report

            report(True, ExitCode.INVALID, f"{self.prog}: {message}")
        from smtp_desktop.text import escape

        super().error(escape(message))  # it may quote arguments as typed


def build_parser(with_commands: bool = True) -> argparse.ArgumentParser:
    """The argument parser; without commands it knows only the global options (the window's
    path, which then need not import the command-line modules)."""
    parser = _ArgumentParser(
        prog="smtp-desktop", add_help=with_commands,
        description="Configure outgoing SMTP mail. With no command, open the settings window.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config-dir", metavar="DIR",
                        help="settings folder (default: $SMTP_DESKTOP_CONFIG_DIR or the platform's)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="data folder (default: $SMTP_DESKTOP_DATA_DIR or the platform's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    parser.add_argument("--demo", action="store_true",
                        help="open the window on temporary settings, an in-memory keyring and a "
                             "local outbox (nothing of yours is touched)")
    if with_commands:
        from smtp_desktop import cli

        cli.add_subcommands(parser)
    return parser


def _configure_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `smtp-desktop` and `python -m smtp_desktop`; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    _ArgumentParser.json_output = "--json" in arguments
    args, rest = build_parser(with_commands=False).parse_known_args(arguments)
    parser = None
    if rest:  # a command, or --help: the full parser
        parser = build_parser()
        args = parser.parse_args(arguments)
    else:
        args.command = None
    _configure_logging(args.verbose)
    from smtp_desktop.config.paths import resolve_paths

    paths = resolve_paths(args.config_dir, args.data_dir)
    if args.demo and parser is not None:
        parser.error("--demo opens the window; it takes no command")
    if holds_secrets(args):
        from smtp_desktop.process import make_non_dumpable

        make_non_dumpable()
    try:
        if args.command is None:
            return run_demo() if args.demo else run_gui(paths)
        from smtp_desktop import cli

        return cli.run(args, paths)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # e.g. `smtp-desktop presets | head`: the reader left early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK


# Commands that read a password (from stdin or the keyring) into memory.
SECRET_COMMANDS = frozenset({"send-test", "probe", "import", "import-default", "show", "oauth"})


def holds_secrets(args: argparse.Namespace) -> bool:
    """Whether this run may hold a password in memory: the window (and --demo), the commands
    that read one, and `outbox serve --auth`. Those runs are made non-dumpable."""
    if args.command is None:
        return True
    if args.command == "outbox":
        return getattr(args, "outbox_command", None) == "serve" and bool(getattr(args, "auth", None))
    return args.command in SECRET_COMMANDS


def display_problem() -> str | None:
    """Why no window can open here, or None. Avoids Qt's abort on a Linux box with no display."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open. "
            "Use the command line instead: smtp-desktop --help")


def run_demo() -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return ExitCode.ENVIRONMENT
    from smtp_desktop.demo import start_demo
    from smtp_desktop.process import exit_on_stop_signals
    from smtp_desktop.ui.application import run_window

    # The window turns stop signals into closing it; before and after, they still end the
    # demo through `finally`, so its temporary folder goes in every case but SIGKILL.
    with exit_on_stop_signals():
        session = start_demo()
        try:
            return run_window(session.config, outbox=session.outbox, banner=session.banner,
                              outbox_server=session.server)
        finally:
            session.close()


def run_gui(paths: AppPaths) -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return ExitCode.ENVIRONMENT
    from smtp_desktop.config.service import ConfigService
    from smtp_desktop.ui.application import run_window

    return run_window(ConfigService(paths))
