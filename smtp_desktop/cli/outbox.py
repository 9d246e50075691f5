"""Subcommands for the local outbox and the test history.

    outbox serve [--port N] [--host H] [--auth USER:PASSWORD | --auth-file PATH] [--allow-remote]
                 [--max-message-size N] [--max-line-length N] [--max-recipients N] ...
                 [--fault PROFILE[:TRIGGER]]...
    outbox list [--json] [--limit N] [--before ID] [--offset N] [--search TEXT]
    outbox show ID ... | outbox wait ...   (cli_mailbox.py)
    outbox clear [--json]
    history [--json]

`serve` runs in the foreground until Ctrl-C (exit 130) or SIGTERM (exit 0, a normal stop) and
first prints one line: "Local outbox listening on HOST:PORT, storing mail in FOLDER" (then, on
stderr, the limits in force: outbox.json in the config folder, flags winning). With --json,
stdout holds exactly one JSON value: a list for `outbox list` and `history`, an object for
`outbox clear` and for any error. Exit codes follow `ExitCode`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smtp_desktop.cli.output import print_json, report
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.history import HistoryLog, HistoryRecord
from smtp_desktop.outbox import (
    DEFAULT_PORT,
    Outbox,
    OutboxConfigError,
    OutboxServer,
    RemoteHostError,
    ServerStartError,
    UnknownMessageError,
)
from smtp_desktop.outbox.auth import AUTH_ENV, parse_login, read_auth_file
from smtp_desktop.outbox.limits import LIMITS, describe, load_limits, show_value, with_overrides
from smtp_desktop.text import escape

if TYPE_CHECKING:
    from smtp_desktop.config.paths import AppPaths


def add_subcommands(sub: Any) -> None:
    """Add `outbox` and `history` to the subparsers object of the main parser."""
    outbox = sub.add_parser(
        "outbox", help="the local outbox: an SMTP server on this computer that keeps every message",
        description="The local outbox: an SMTP server on this computer that stores every message "
                    "it accepts in the data folder instead of delivering it.")
    actions = outbox.add_subparsers(dest="outbox_command", metavar="ACTION")
    actions.required = True

    serve = actions.add_parser("serve", help="run the local outbox in the foreground until Ctrl-C")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT,
                       help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this computer only)")
    login = serve.add_mutually_exclusive_group()
    login.add_argument("--auth", type=_login, metavar="USER:PASSWORD",
                       help="require this login (AUTH PLAIN/LOGIN without TLS, for demos; "
                            "other local users can see command lines: prefer --auth-file)")
    login.add_argument("--auth-file", metavar="PATH",
                       help="require the login in PATH (one USER:PASSWORD line; the file must be "
                            f"yours with mode 0600 or 0400). Without either flag, {AUTH_ENV} is used "
                            "when set")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --host other computers can reach (mail arrives unencrypted)")
    for limit in LIMITS:
        serve.add_argument(limit.flag, dest=limit.name, type=_limit_type(limit), default=None,
                           metavar="N", help=f"{limit.bounds}{_UNITS[limit.kind]}; default "
                                             f"{show_value(limit, limit.default)}"
                                             f" or as in outbox.json; past it: {limit.past_it}")
    serve.add_argument("--fault", dest="faults", action="append", type=_fault_rule, default=[],
                       metavar="PROFILE[:TRIGGER]",
                       help="answer like a real provider failing (see README 'Fault profiles'); "
                            "TRIGGER is always (default), next=N, rcpt=REGEX (RCPT and DATA "
                            "profiles) or p=0.25[,seed=42]; repeatable, the first matching rule "
                            "wins")

    serve.add_argument("--api-port", type=_port, default=None, metavar="N",
                       help="also serve the HTTP API on 127.0.0.1:N (always loopback, whatever "
                            "--host says; 0 picks a free port)")
    serve.add_argument("--api-token-file", metavar="PATH",
                       help="require this bearer token for the API (first line of PATH); "
                            "without it, SMTP_DESKTOP_OUTBOX_API_TOKEN is used when set")

    fault = actions.add_parser("fault", help="the fault rules of a running outbox, via its API")
    fault_actions = fault.add_subparsers(dest="fault_command", metavar="ACTION")
    fault_actions.required = True
    for name, text in (("list", "the fault catalogue and the rules in force"),
                       ("set", "replace the rules with one rule"),
                       ("clear", "remove every rule")):
        action = fault_actions.add_parser(name, help=text)
        if name == "set":
            action.add_argument("rule", metavar="PROFILE[:TRIGGER]")
        action.add_argument("--api", metavar="URL",
                            help="the outbox's API, e.g. http://127.0.0.1:8025/api/v1 (default: "
                                 "SMTP_DESKTOP_OUTBOX_API)")
        action.add_argument("--json", action="store_true", help="print one JSON value")

    listing = actions.add_parser("list", help="list the stored messages, newest first")
    listing.add_argument("--json", action="store_true",
                         help='print one JSON list of {"id", "date", "from", "to", "subject", '
                              '"size", "received", "envelope_from"}')
    listing.add_argument("--limit", type=_count(0), metavar="N", help="at most N messages")
    listing.add_argument("--before", metavar="ID",
                         help="only messages older than message ID (a cursor: the next page "
                              "starts after the last id shown, however much mail arrives)")
    listing.add_argument("--offset", type=_count(0), default=0, metavar="N",
                         help="skip the first N messages")
    listing.add_argument("--search", metavar="TEXT",
                         help="only messages whose From, To/Cc, envelope addresses or Subject "
                              "contain TEXT (ignoring case)")

    from smtp_desktop.cli import mailbox as cli_mailbox

    cli_mailbox.add_actions(actions)

    clear = actions.add_parser("clear", help="delete every stored message")
    clear.add_argument("--json", action="store_true", help="print one JSON object")

    history = sub.add_parser("history", help="the last test sends and probes, oldest first")
    history.add_argument("--json", action="store_true", help="print one JSON list of records")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range; use 0 (any free port) to 65535")
    return port


_UNITS = {"size": " (bytes; K, M, G allowed)", "count": "", "seconds": " (seconds)"}


def _limit_type(limit: Any) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            return limit.parse(text)  # type: ignore[no-any-return]
        except OutboxConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _fault_rule(text: str) -> Any:
    from smtp_desktop.outbox.faults import parse_rule

    try:
        return parse_rule(text)
    except OutboxConfigError as exc:  # FaultRuleError, or a broken faults.json
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more; got {value}")
        return value

    return parse


def _login(text: str) -> tuple[str, str]:
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        # Never echo the value: it holds a password.
        raise argparse.ArgumentTypeError("expected USER:PASSWORD, both non-empty")
    return user, password


def run(args: argparse.Namespace, paths: AppPaths, *, stop: threading.Event | None = None,
        on_ready: Callable[[OutboxServer], None] | None = None) -> int:
    """Run `outbox ...` or `history`; returns the exit code.

    `stop` and `on_ready` are for callers that run `outbox serve` in a thread (tests): setting
    `stop` ends it, and `on_ready` gets the running server.
    """
    as_json = getattr(args, "json", False)
    try:
        if args.command == "history":
            return _history(as_json, paths)
        if args.command == "outbox" and args.outbox_command == "serve":
            return _serve(args, paths, stop, on_ready)
        if args.command == "outbox" and args.outbox_command == "list":
            return _list(args, paths)
        if args.command == "outbox" and args.outbox_command == "clear":
            return _clear(as_json, paths)
        if args.command == "outbox" and args.outbox_command == "fault":
            from smtp_desktop.cli import faults as cli_faults

            return cli_faults.run(args)
        if args.command == "outbox" and args.outbox_command in ("show", "wait"):
            from smtp_desktop.cli import mailbox as cli_mailbox

            return cli_mailbox.run(args, paths)
    except OSError as exc:  # an unreadable data folder, a full disk
        return report(as_json, ExitCode.ENVIRONMENT, f"Cannot use the data folder: {exc}")
    raise ValueError(f"Not an outbox or history command: {args.command!r}")


def _serve(args: argparse.Namespace, paths: AppPaths, stop: threading.Event | None,
           on_ready: Callable[[OutboxServer], None] | None) -> int:
    folder = paths.outbox_folder
    try:
        auth = _serve_login(args)
        limits = with_overrides(load_limits(paths.config_dir),
                                {limit.name: getattr(args, limit.name, None) for limit in LIMITS})
        api_port = getattr(args, "api_port", None)
        server = OutboxServer(Outbox(folder), host=args.host, port=args.port, auth=auth,
                              allow_remote=args.allow_remote, limits=limits,
                              faults=getattr(args, "faults", ()), api_port=api_port,
                              api_token=_api_token(args) if api_port is not None else None)
    except (RemoteHostError, OutboxConfigError, ValueError) as exc:
        return report(False, ExitCode.INVALID, str(exc))
    stop = stop or threading.Event()
    signals: list[int] = []
    restore = _handle_stop_signals(stop, signals)
    try:
        try:
            server.start()
        except ServerStartError as exc:
            return report(False, ExitCode.ENVIRONMENT, str(exc))
        try:
            host = f"[{server.host}]" if ":" in server.host else server.host
            print(f"Local outbox listening on {host}:{server.port}, storing mail in {folder}",
                  flush=True)
            if server.api is not None:
                print(f"HTTP API on {server.api.url}", file=sys.stderr)
            if auth:
                print(f"Login required: user {auth[0]!r} with the password given.",
                      file=sys.stderr)
            print("Limits (flags, else outbox.json, else the defaults):", file=sys.stderr)
            for line in describe(limits):
                print(f"  {line}", file=sys.stderr)
            if server.fault_rules:
                print("Fault rules (the first that matches wins):", file=sys.stderr)
                for rule in server.fault_rules:
                    print(f"  {escape(rule.text)}: {rule.profile.stage.value}, "
                          f"{rule.profile.action.value}", file=sys.stderr)
            print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
            if on_ready is not None:
                on_ready(server)
            # A timeout keeps the wait interruptible on every platform (Ctrl-C on Windows).
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:  # SIGINT where no handler could be installed
            signals.append(signal.SIGINT)
        finally:
            server.stop()
    finally:
        restore()
    interrupted = signal.SIGINT in signals
    print("Local outbox stopped" + (" (interrupted)." if interrupted else "."), file=sys.stderr)
    return int(ExitCode.INTERRUPTED if interrupted else ExitCode.OK)


def _handle_stop_signals(stop: threading.Event, received: list[int]) -> Callable[[], None]:
    """SIGINT and SIGTERM set `stop`; returns a function restoring the previous handlers.

    Handlers can only be installed from the main thread; elsewhere `stop` alone ends serving.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore


def _serve_login(args: argparse.Namespace) -> tuple[str, str] | None:
    """--auth (with a warning), --auth-file, else the environment variable, else no login."""
    import os

    if args.auth:
        print("Warning: --auth puts the password on the command line, where other local users "
              "can read it; prefer --auth-file or " + AUTH_ENV + ".", file=sys.stderr)
        return args.auth  # type: ignore[no-any-return]
    if args.auth_file:
        return read_auth_file(args.auth_file)
    from_env = os.environ.get(AUTH_ENV)
    return parse_login(from_env, AUTH_ENV) if from_env else None


def _api_token(args: argparse.Namespace) -> str | None:
    """--api-token-file, else the environment variable, else no token (never argv)."""
    import os

    from smtp_desktop.outbox.api import TOKEN_ENV, read_token_file

    if getattr(args, "api_token_file", None):
        return read_token_file(args.api_token_file)
    return os.environ.get(TOKEN_ENV) or None


def _list(args: argparse.Namespace, paths: AppPaths) -> int:
    as_json = args.json
    outbox = Outbox(paths.outbox_folder)
    try:
        messages = outbox.page(limit=args.limit, before=args.before, offset=args.offset,
                               search=args.search)
    except UnknownMessageError as exc:
        return report(as_json, ExitCode.INVALID, f"--before: {exc}")
    if as_json:
        print_json([m.to_json() for m in messages])
        return int(ExitCode.OK)
    if not messages:
        filtered = args.search or args.before or args.offset or args.limit == 0
        print(f"No messages match ({outbox.folder})." if filtered
              else f"The local outbox is empty ({outbox.folder}).")
        return int(ExitCode.OK)
    count = f"{len(messages)} message" + ("" if len(messages) == 1 else "s")
    lines = [f"{count} in {outbox.folder}, newest first:"]
    for message in messages:
        # Headers and envelope come from whoever sent the mail: escaped, one line each.
        recipients = ", ".join(map(escape, message.recipients))
        lines.append(f"{escape(message.date)}  {escape(message.subject) or '(no subject)'}")
        lines.append(f"    from {escape(message.sender) or '-'} to {recipients or '-'}")
        lines.append(f"    id {escape(message.id)}")
    print("\n".join(lines))
    return int(ExitCode.OK)


def _clear(as_json: bool, paths: AppPaths) -> int:
    outbox = Outbox(paths.outbox_folder)
    removed = outbox.clear()
    noun = "message" if removed == 1 else "messages"
    return report(as_json, ExitCode.OK, f"Deleted {removed} {noun} from the local outbox "
                 f"({outbox.folder}).", removed=removed)


def _history(as_json: bool, paths: AppPaths) -> int:
    log = HistoryLog(paths.history_file)
    records = log.records()
    if as_json:
        print_json([r.to_json() for r in records])
        return int(ExitCode.OK)
    if not records:
        print(f"No tests yet ({log.path}).")
        return int(ExitCode.OK)
    print("\n".join(_history_line(record) for record in records))
    return int(ExitCode.OK)


def _history_line(record: HistoryRecord) -> str:
    result = "OK" if record.ok else f"FAILED [{escape(record.category or 'unknown')}]"
    recipient = f" to {escape(record.recipient)}" if record.recipient else ""
    return (f"{escape(record.time)}  {record.kind:<9}  {escape(record.service_text)}  "
            f"{escape(record.server)}{recipient}  {result}  {record.elapsed_ms:.0f} ms")
