"""`outbox show` and `outbox wait`: the local outbox as a QA mailbox (codes and links included).

    outbox show ID [--json] [--code-pattern REGEX]
    outbox wait [--to ADDR] [--from ADDR] [--subject REGEX] [--contains TEXT] [--since TIME|ID]
                [--timeout SECONDS] [--extract code|link] [--code-pattern REGEX] [--json]

With --json, stdout holds exactly one JSON value: the message (`Mailbox.show`), plus
`"extracted"` with --extract; or `{"ok": false, "exit_code", "category", "message", ...}`.
A wait that times out, or whose message lacks the code or link asked for, exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

from smtp_desktop.cli.output import print_json, report
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.text import escape, escape_lines

if TYPE_CHECKING:
    from smtp_desktop.config.paths import AppPaths
    from smtp_desktop.outbox.mailbox import Mailbox

DEFAULT_TIMEOUT = 30.0  # seconds


def add_actions(actions: Any) -> None:
    """Add `show` and `wait` to the subparsers object of `outbox`."""
    show = actions.add_parser("show", help="one stored message: headers, text, links and codes")
    show.add_argument("id", metavar="ID", help="a message id, as `outbox list` shows it")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    _code_pattern(show)

    wait = actions.add_parser(
        "wait", help="wait for a message that fits every criterion given, then show it",
        description="Wait until a message that fits every criterion given is in the local "
                    "outbox (one that arrived up to 60 s before the wait counts), then show it, "
                    "or only its first code or link. Exit 1 when none came in time.")
    wait.add_argument("--to", metavar="ADDR",
                      help="an envelope recipient or a To/Cc address (exact, any case)")
    wait.add_argument("--from", dest="sender", metavar="ADDR",
                      help="the From address or the envelope sender (exact, any case)")
    wait.add_argument("--subject", metavar="REGEX",
                      help="a Python regular expression searched in the subject")
    wait.add_argument("--contains", metavar="TEXT",
                      help="text in the subject or the message text (any case)")
    wait.add_argument("--since", metavar="TIME|ID",
                      help="only messages that arrived at or after TIME (ISO 8601), or after "
                           "message ID (default: 60 s before the wait started)")
    wait.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                      help=f"give up after SECONDS (default {DEFAULT_TIMEOUT:g}; 0 looks once)")
    wait.add_argument("--extract", choices=("code", "link"),
                      help="print only the message's first code or link, on one line")
    _code_pattern(wait)
    wait.add_argument("--json", action="store_true",
                      help='print one JSON object: the message (with "extracted" when '
                           "--extract is given) or the failure")


def _code_pattern(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code-pattern", metavar="REGEX",
                        help="find codes with this Python regular expression instead of the "
                             "built-in rules (group 1 if it has one, else the whole match)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < 10**9:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds; got {text!r}")
    return value


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    """Run `outbox show` or `outbox wait`; returns the exit code."""
    from smtp_desktop.outbox import Outbox, UnknownMessageError
    from smtp_desktop.outbox.mailbox import Mailbox
    from smtp_desktop.outbox.reading import ReadingError

    mailbox = Mailbox(Outbox(paths.outbox_folder))
    try:
        if args.outbox_command == "show":
            return _show(args, mailbox)
        return _wait(args, mailbox)
    except UnknownMessageError as exc:
        return report(args.json, ExitCode.INVALID, str(exc))
    except ReadingError as exc:  # --code-pattern, --subject, --since
        return report(args.json, ExitCode.INVALID, str(exc))


def _show(args: argparse.Namespace, mailbox: Mailbox) -> int:
    return _print_message(args.json, mailbox.show(args.id, args.code_pattern))


def _print_message(as_json: bool, document: dict[str, Any]) -> int:
    if as_json:
        print_json(document)
    else:
        print(describe(document))
    return int(ExitCode.OK)


def _wait(args: argparse.Namespace, mailbox: Mailbox) -> int:
    from smtp_desktop.outbox.reading import WaitCriteria

    started = dt.datetime.now(dt.timezone.utc)
    criteria = WaitCriteria(to=args.to, from_=args.sender, subject=args.subject,
                            contains=args.contains, since=mailbox.since(args.since, now=started))
    wanted = "; ".join(criteria.describe())

    def armed() -> None:
        if args.timeout > 0:
            print(f"Waiting up to {args.timeout:g} s for a message ({escape(wanted)}) in "
                  f"{escape(str(mailbox.outbox.folder))}...", file=sys.stderr, flush=True)

    try:
        document = mailbox.wait(criteria, args.timeout, args.code_pattern, on_armed=armed)
    except KeyboardInterrupt:
        return report(args.json, ExitCode.INTERRUPTED, "Interrupted while waiting; no message "
                      f"fits ({wanted}).", category="interrupted", criteria=criteria.describe())
    if document is None:
        return report(args.json, ExitCode.SERVER,
                      f"No message fits ({wanted}) after {args.timeout:g} s.",
                      category="timeout", criteria=criteria.describe(), timeout=args.timeout)
    if args.extract is None:
        return _print_message(args.json, document)
    found = document["codes" if args.extract == "code" else "links"]
    if not found:
        what = "code" if args.extract == "code" else "link"
        return report(args.json, ExitCode.SERVER,
                      f"Message {document['id']} (subject {document['subject']!r}) fits, but has "
                      f"no {what}.", category="not-found", id=document["id"],
                      subject=document["subject"], criteria=criteria.describe())
    if args.json:
        print_json({**document, "extracted": found[0]})
    else:
        print(escape(found[0]))
    return int(ExitCode.OK)


def describe(document: dict[str, Any]) -> str:
    """A message for people: every value from the message escaped, the text last."""
    envelope = document["envelope"]
    login = f", login {escape(envelope['user'])}" if envelope.get("user") else ""
    lines = [
        f"Id:          {escape(document['id'])}",
        f"Received:    {escape(document['received'] or '-')}",
        f"Date:        {escape(document['date'] or '-')}",
        f"From:        {escape(document['from']) or '-'}",
        f"To:          {', '.join(map(escape, document['to'])) or '-'}",
        f"Envelope:    from {escape(envelope['from'] or '-')} to "
        f"{', '.join(map(escape, envelope['to'])) or '-'} "
        f"(client {escape(envelope['client'] or '-')}{login})",
        f"Subject:     {escape(document['subject']) or '(no subject)'}",
        f"Codes:       {', '.join(map(escape, document['codes'])) or '-'}",
    ]
    if document["links"]:
        lines += ["Links:", *(f"  {escape(link)}" for link in document["links"])]
    else:
        lines.append("Links:       -")
    for attachment in document["attachments"]:
        lines.append(f"Attachment:  {escape(attachment['filename'] or '(no name)')} "
                     f"({escape(attachment['content_type'])}, {attachment['size']} bytes)")
    lines += ["", escape_lines(document["text"])]
    return "\n".join(lines)
