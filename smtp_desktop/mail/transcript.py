"""The session transcript: what the client said, what the server said, and notes.

Lines start with "C: " (client), "S: " (server) or "* " (a note). Login payloads are replaced by
"<redacted>" where they are sent, and as a second line of defence every line is scrubbed of the
password or token in the encodings a login can carry it (plain text and base64 forms), before it is made
printable: escaping first would hide a password holding control characters from the scrubber.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from smtp_desktop.text import escape

log = logging.getLogger(__name__)

REDACTED = "<redacted>"
MAX_LINES = 2000

printable = escape  # control characters (CR, LF, NUL...) shown as escapes, safe for one line


def secret_forms(username: str, password: str | None, host: str = "",
                 port: int = 0) -> tuple[str, ...]:
    """Every form in which `password` (or an OAuth2 access token) could reach the wire during a
    login, or a line of text: as typed, made printable, and base64 of each SASL mechanism's
    payload (see `sasl.secret_forms`; OAUTHBEARER's names the `host` and `port`)."""
    from smtp_desktop.mail.sasl import secret_forms as forms

    return forms(username, password, host, port, printable)


class Scrubber:
    """Removes secrets from any text before it is shown, stored or logged.

    Occurrences are replaced by "<redacted>" (or, for a password that shares characters with
    it, a marker that cannot contain it); text that would still hold a secret after a few
    passes is replaced entirely, so no input can smuggle a secret through.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self._marker = next(m for m in (REDACTED, "<hidden>", "#", "*", "-", "")
                            if not any(s in m for s in self._secrets))
        # One search per line instead of one `in` per secret form: most lines hold none.
        self._pattern = re.compile("|".join(map(re.escape, self._secrets))) \
            if self._secrets else None

    def _holds_secret(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None

    def __call__(self, text: str) -> str:
        for _ in range(4):
            if not self._holds_secret(text):
                return text
            for secret in self._secrets:
                text = text.replace(secret, self._marker)
        return self._marker if self._holds_secret(text) else text

    def printable(self, text: str) -> str:
        """`text` scrubbed, then made printable, then scrubbed again: a password holding control
        characters is found as typed, and escaping cannot assemble one (a password that is
        itself an escape such as the four characters \\x01)."""
        return self(printable(self(text)))


class Transcript:
    """Collects transcript lines, scrubbed and made printable, and logs them at DEBUG."""

    def __init__(self, scrub: Scrubber | None = None) -> None:
        self._scrub = scrub or Scrubber()
        self._lines: list[str] = []
        self._truncated = False

    def _add(self, line: str) -> None:
        if len(self._lines) >= MAX_LINES:
            if not self._truncated:
                self._truncated = True
                self._lines.append("* transcript truncated")
            return
        line = self._scrub.printable(line)
        self._lines.append(line)
        log.debug("%s", line)

    def client(self, text: str) -> None:
        self._add(f"C: {text}")

    def server(self, text: str) -> None:
        self._add(f"S: {text}")

    def note(self, text: str) -> None:
        self._add(f"* {text}")

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self._lines)
