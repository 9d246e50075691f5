"""What the Outbox tab shows of one message, read in a worker: plain Python, no Qt.

The text view gets the headers and the readable body as the email package decodes them (a
message it cannot decode is shown as stored, with a note); the HTML view, the links and the
codes come from the QA mailbox's reader (`smtp_desktop.outbox.reading`), the same as
`outbox show`, so the tab and the command never disagree about a code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smtp_desktop.outbox import Outbox

HEADER_SHOWN = 2_000  # characters of one header value shown (a To: of 20,000 addresses)
BODY_SHOWN = 100_000  # characters of the body shown
LINKS_SHOWN = 500  # links listed (a newsletter may have thousands)


@dataclass(frozen=True)
class SelectedMessage:
    """The selected message as the Outbox tab shows it."""

    id: str
    text: str  # headers, a blank line, the readable body (or the message as stored)
    html: str | None = None  # the HTML part made displayable; None: the message has none
    html_notes: tuple[str, ...] = ()  # what of the HTML was left out or simplified
    links: list[str] = field(default_factory=list)
    links_total: int = 0  # links in the message (at most LINKS_SHOWN are listed)
    codes: list[str] = field(default_factory=list)
    note: str | None = None  # a sentence for the status line when it is not shown as usual


def read_selected(outbox: Outbox, message_id: str) -> SelectedMessage:
    """Read one message for the tab (in a worker: it reads and parses the file, once)."""
    from smtp_desktop.outbox import OutboxError
    from smtp_desktop.outbox.mailbox import stored_message

    try:
        envelope, raw = outbox.read(message_id)
    except (OSError, OutboxError) as exc:  # UnknownMessageError too: deleted meanwhile
        said = f"The message could not be read: {exc}"
        return SelectedMessage(message_id, said, note=said)
    text, note = message_text(raw)
    document = stored_message(message_id, envelope, raw)
    html, notes = None, ()
    if document["html"] is not None:
        from smtp_desktop.ui.display_html import displayable_html

        shown = displayable_html(document["html"])
        html, notes = shown.html, shown.notes
    links = document["links"]
    return SelectedMessage(message_id, text, html, notes, links[:LINKS_SHOWN], len(links),
                           document["codes"], note)


def message_text(raw: bytes) -> tuple[str, str | None]:
    """Headers and readable body of a stored message, and a sentence for the status line when
    it could not be shown as usual. A message the email package cannot decode is shown as
    stored; an HTML-only message is shown as the text `outbox show` reads from it."""
    from email import policy
    from email.parser import BytesParser

    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        # Raw values, decoded but not parsed: parsing a To: of 20,000 addresses takes seconds.
        headers = "\n".join(f"{name}: {_cut(_header_text(value), HEADER_SHOWN)}"
                            for name, value in message.raw_items())
        body = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
        text = body.get_content() if body is not None else ""
        if body is not None and body.get_content_subtype() == "html":
            from smtp_desktop.outbox.reading import html_to_text

            text = html_to_text(text)
        return f"{headers}\n\n{_cut(text, BODY_SHOWN)}", None
    except LookupError as exc:  # a character set Python does not know
        reason = f"it uses a character set this computer does not know ({exc})"
    except (OverflowError, ValueError) as exc:  # e.g. a Date beyond the years datetime holds
        reason = f"a header cannot be read ({exc})"
    stored = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    return (f"[Shown as stored: {reason}.]\n\n{_cut(stored, BODY_SHOWN)}",
            f"The message is shown as stored: {reason}.")


def _header_text(value: str) -> str:
    from smtp_desktop.outbox.store import decoded_header

    return decoded_header(_cut(value, HEADER_SHOWN * 2))


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters: a text view takes seconds to lay out megabytes."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters: Save as .eml for all)"
