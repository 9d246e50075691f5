"""`outbox fault list|set|clear`: the fault rules of a running outbox, through its HTTP API.

    outbox fault list [--json] [--api URL]
    outbox fault set PROFILE[:TRIGGER] [--json] [--api URL]
    outbox fault clear [--json] [--api URL]

The API is --api URL, else SMTP_DESKTOP_OUTBOX_API; its token, if any, comes from
SMTP_DESKTOP_OUTBOX_API_TOKEN. No API reachable: exit 4; a rule the API refuses: exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any

from smtp_desktop.cli.output import print_json, report
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.text import escape


class _Unreachable(Exception):
    pass


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def run(args: argparse.Namespace) -> int:
    """Run `outbox fault ...`; returns the exit code."""
    from smtp_desktop.outbox.api import API_ENV

    as_json = args.json
    base = (args.api or os.environ.get(API_ENV) or "").rstrip("/")
    if not base:
        return report(as_json, ExitCode.ENVIRONMENT, f"No outbox API given: use --api URL or set "
                      f"{API_ENV} (outbox serve --api-port N prints it).",
                      category="unreachable")
    if not base.startswith(("http://", "https://")):
        return report(as_json, ExitCode.INVALID, f"--api must be an http:// URL; got {base!r}.",
                      category="invalid")
    try:
        if args.fault_command == "list":
            document = _call("GET", f"{base}/faults")
        elif args.fault_command == "set":
            profile, _, trigger = args.rule.partition(":")
            _call("PUT", f"{base}/faults",
                  {"rules": [{"profile": profile, "trigger": trigger or "always"}]})
            document = _call("GET", f"{base}/faults")
        else:
            _call("DELETE", f"{base}/faults")
            document = _call("GET", f"{base}/faults")
    except _Unreachable as exc:
        return report(as_json, ExitCode.ENVIRONMENT, f"No outbox API at {base}: {exc}",
                      category="unreachable")
    except _Refused as exc:
        code = ExitCode.INVALID if exc.status == 400 else ExitCode.ENVIRONMENT
        return report(as_json, code, str(exc), category="refused", status=exc.status)
    if as_json:
        print_json(document)
        return int(ExitCode.OK)
    if args.fault_command == "list":
        print("Profiles:")
        for profile in document["profiles"]:
            print(f"  {escape(profile['id'])}  ({escape(str(profile.get('stage', '')))}, "
                  f"{escape(str(profile.get('category', '')))})")
    rules = document["rules"]
    print("Rules in force (the first that matches wins):" if rules else "No fault rules in force.")
    for rule in rules:
        print(f"  {escape(rule['profile'])}:{escape(rule['trigger'])}")
    return int(ExitCode.OK)


def _call(method: str, url: str, body: Any = None) -> Any:
    from smtp_desktop.outbox.api import TOKEN_ENV

    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    token = os.environ.get(TOKEN_ENV)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code}"
        raise _Refused(exc.code, message) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _Unreachable(str(getattr(exc, "reason", exc))) from None
    return json.loads(text) if text else None
