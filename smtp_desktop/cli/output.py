"""What every command prints: one JSON value with --json, else lines for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from smtp_desktop.config.errors import SecretStoreError, SettingsLockedError, SettingsWriteError
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.text import escape, escape_lines


def report(as_json: bool, code: ExitCode, message: str, **fields: Any) -> int:
    """Print a command's result: one JSON object with --json, else a line for people.

    Returns the exit code, so commands can end with `return report(...)`.
    """
    if as_json:
        document = {"ok": code == ExitCode.OK, "exit_code": int(code), "message": message}
        document.update(fields)
        print_json(document)
    else:
        print(escape_lines(message), file=sys.stdout if code == ExitCode.OK else sys.stderr)
    return int(code)


class JsonPrinted:
    """Whether this command has begun printing its one JSON value: from then on a signal no
    longer interrupts it (else an interruption would print a second value, or cut this one)."""

    started = False


def print_json(value: Any) -> None:
    """Print a command's one JSON value (the real text: JSON escapes what needs escaping)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    JsonPrinted.started = True
    print(text, flush=True)


class Output:
    """Collects the one JSON object (with --json) or prints lines for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def done(self, code: ExitCode, message: str, **fields: Any) -> int:
        return report(self.as_json, code, message, **fields)

    def failed(self, exc: Exception) -> int:
        problems = [str(p) for p in getattr(exc, "problems", ())]
        code = exit_code_for(exc)
        if problems and not self.as_json:
            # Problems quote values from outside, line breaks included: one escaped line each.
            context = getattr(exc, "context", None) or str(exc).split("\n", 1)[0].rstrip(":")
            print("\n".join([f"{escape(context)}:", *(f"  - {escape(p)}" for p in problems)]),
                  file=sys.stderr)
            return int(code)
        return self.done(code, str(exc), problems=problems)


def exit_code_for(exc: Exception) -> ExitCode:
    if isinstance(exc, (SecretStoreError, SettingsLockedError, SettingsWriteError)):
        # no secure keyring, a locked keyring, settings in use, a file of ours not written
        return ExitCode.ENVIRONMENT
    return ExitCode.INVALID
