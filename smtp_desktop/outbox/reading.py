"""Reading a stored message: its text, links and one-time codes, and matching it for a wait.

The core of `outbox show` and `outbox wait` (and of the pytest plugin and the coming HTTP API),
kept apart from the store: it reads bytes and returns plain data. No Qt, no aiosmtpd, nothing
from `smtp_desktop.outbox`.

- `read_message` turns a stored message into the `outbox show --json` object.
- `html_to_text`, `extract_links` and `extract_codes` are the fixed rules that object follows
  (README: "Reading a message (links and codes)").
- `WaitCriteria`, `matches` and `parse_since` decide whether a message is the one a wait wants.

Messages come from anyone who can reach the outbox, so reading never raises on their content:
an unknown charset, a date in the year 10**20, broken MIME or bytes that are not UTF-8 give
`None`, U+FFFD or an empty value instead, and every rule runs in linear time. HTML is parsed
with lxml (libxml2): the standard library's `html.parser` needs 40-55 s for 50 KB of hostile
markup such as `"<a " * 16666`, lxml well under a second for 5 MB.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the email package stays off the start-up path
    from email.message import EmailMessage, Message

log = logging.getLogger(__name__)

ENVELOPE_HEADER_PREFIX = "x-outbox-envelope-"  # the outbox's own lines, never the message's
DEFAULT_SINCE = dt.timedelta(seconds=60)  # a wait counts mail that arrived just before it

__all__ = [
    "DEFAULT_SINCE",
    "CodePatternError",
    "CriteriaError",
    "ReadingError",
    "Since",
    "SinceError",
    "WaitCriteria",
    "extract_codes",
    "extract_links",
    "html_to_text",
    "matches",
    "parse_since",
    "read_message",
]


# -------------------------------------------------------------------- errors


class ReadingError(ValueError):
    """Bad input from the *user* of the reader (never from a message); the text is ready to show."""


class CodePatternError(ReadingError):
    """`--code-pattern` is not a valid Python regular expression."""


class CriteriaError(ReadingError):
    """A wait criterion cannot be used (e.g. `--subject` is not a valid regular expression)."""


class SinceError(ReadingError):
    """`--since` is neither an ISO 8601 time nor the ID of a stored message."""


# -------------------------------------------------------------------- reading a message


def read_message(raw: bytes, *, id: str, received: str | None, envelope: Mapping[str, Any] | None,
                 code_pattern: str | None = None) -> dict[str, Any]:
    """The `outbox show --json` object of one stored message.

    `received` is the arrival time (ISO 8601) and `envelope` the SMTP envelope
    (`from`, `to`, `client`, `user`) as the store keeps them. Without an envelope, the outbox's
    `X-Outbox-Envelope-From`/`-To` lines in `raw` stand in for it. Those lines never appear in
    `headers`. Raises only `CodePatternError` (for `code_pattern`); the message's content never
    makes it raise.
    """
    pattern = _compile_code_pattern(code_pattern)
    message = _parse(raw)
    headers = _raw_headers(message)
    own = [(name, value) for name, value in headers
           if not name.lower().startswith(ENVELOPE_HEADER_PREFIX)]

    def first(name: str) -> str | None:
        return next((value for key, value in own if key.lower() == name.lower()), None)

    plain_part, html_part = _body_parts(message)
    plain = _safely(lambda: _part_text(plain_part), "") if plain_part is not None else ""
    html = _safely(lambda: _part_text(html_part), "") if html_part is not None else None
    rendered, hrefs = _render_html(html) if html is not None else ("", [])
    if plain.strip() or html is None:
        text = plain or _safely(lambda: _fallback_text(message), "")
    else:
        text = rendered
    budget = _Budget()  # hostile mail may carry megabytes of headers
    to_fields = [value for key, value in own if key.lower() in ("to", "cc")]
    sender = first("From")
    the_envelope = _envelope(envelope, headers)
    return {
        "id": id,
        "received": received,
        "date": _iso_date(_decoded(first("Date"))),
        "from": _decoded(sender, "From") if sender else (the_envelope["from"] or ""),
        "to": _addresses(to_fields, budget),
        "envelope": the_envelope,
        "subject": _decoded(first("Subject")),
        "headers": [[name, _decoded(value, budget=budget)] for name, value in own],
        "text": text,
        "html": html,
        "attachments": _safely(lambda: _attachments(message, (plain_part, html_part)), []),
        "links": _links(hrefs, text),
        "codes": _codes(text, pattern),
    }


def _parse(raw: bytes) -> EmailMessage:
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    raw = _MIME_FIELD.sub(_shorten_mime_field, raw)
    try:
        return parser.parsebytes(raw)  # type: ignore[return-value]
    except Exception:  # RecursionError from thousands of nested parts: keep the body as text
        log.debug("Message too deeply nested to parse", exc_info=True)
    try:
        return parser.parsebytes(raw, headersonly=True)  # type: ignore[return-value]
    except Exception:
        log.debug("Unparseable message", exc_info=True)
        return parser.parsebytes(b"\n")  # type: ignore[return-value]


# The email package parses some header values in quadratic time, and reads Content-Type and
# Content-Disposition again on every access: 100 KB of parameters cost seconds. Real ones are far
# shorter than these limits. Longer values are cut (those two), kept undecoded (other headers) or
# read by the older, linear address parser (To, Cc, From).
_MIME_FIELD_LIMIT = 2048
_MIME_FIELD = re.compile(rb"(?im)^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*")
_STRUCTURED_LIMIT = 4096
_DATE_LIMIT = 256


class _Budget:
    """How many more characters of header values the slow structured parser may read."""

    def __init__(self, chars: int = 256 * 1024) -> None:
        self.left = chars

    def allows(self, value: str) -> bool:
        if len(value) > _STRUCTURED_LIMIT or len(value) > self.left:
            return False
        self.left -= len(value)
        return True


def _shorten_mime_field(match: re.Match[bytes]) -> bytes:
    field = match.group()
    return field if len(field) <= _MIME_FIELD_LIMIT else field[:_MIME_FIELD_LIMIT]


def _safely(compute: Callable[[], Any], default: Any) -> Any:
    """compute(), or `default` when the email package trips over hostile content."""
    try:
        return compute()
    except Exception:  # includes RecursionError from absurdly deep MIME nesting
        log.debug("Unreadable part of a message", exc_info=True)
        return default


def _clean(text: str) -> str:
    """Valid Unicode: bytes smuggled in as surrogates are read as UTF-8, the rest become U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that did not come from bytes
        return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


_LINE_BREAKS = re.compile(r"[\r\n]")


def _raw_headers(message: Message) -> list[tuple[str, str]]:
    """Every header in order as (name, value), unfolded, not yet decoded."""
    return [(_clean(str(name)), _LINE_BREAKS.sub("", _clean(str(value))))
            for name, value in _safely(lambda: list(message.raw_items()), [])]


def _decoded(value: str | None, name: str | None = None, budget: _Budget | None = None) -> str:
    """A header value with its RFC 2047 encoded words decoded; undecodable ones stay as written.

    With `name`, the email package's structured reading of that header (addresses re-rendered,
    as `outbox list` shows them); without, the value as it was written, only decoded.
    """
    if value is None:
        return ""
    from email import policy

    try:
        if not (budget or _Budget()).allows(value):
            text = value  # kept as written: decoding it could take quadratic time
        else:
            header = policy.default.header_factory(name, value) if name else _unstructured(value)
            text = str(header)
    except Exception:
        log.debug("Undecodable header %s", name or "", exc_info=True)
        text = value
    return _clean(text).strip()


def _unstructured(value: str) -> Any:
    global _UNSTRUCTURED
    if _UNSTRUCTURED is None:
        from email.headerregistry import HeaderRegistry

        _UNSTRUCTURED = HeaderRegistry(use_default_map=False)  # every header as free text
    return _UNSTRUCTURED("X-Any", value)  # the name only matters for a structured header


_UNSTRUCTURED: Any = None


def _iso_date(value: str | None) -> str | None:
    """The Date header as ISO 8601, or None when absent or impossible (year 99999, junk)."""
    if not value or len(value) > _DATE_LIMIT:
        return None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except Exception:  # ValueError, OverflowError, TypeError, IndexError across Pythons
        return None
    if when.tzinfo is None:  # "-0000": the sender did not say; RFC 5322 means UTC then
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.isoformat()


def _addresses(fields: Iterable[str], budget: _Budget | None = None) -> list[str]:
    """The addresses named in address headers (as written, undecoded), in order, without repeats."""
    from email import policy
    from email.utils import getaddresses

    found: dict[str, None] = {}
    for value in fields:
        try:
            if not (budget or _Budget()).allows(value):
                raise ValueError("too long for the structured parser")
            addresses = [a.addr_spec for a in policy.default.header_factory("To", value).addresses]
        except Exception:  # unparseable or long: the lenient old parser
            addresses = [a for _, a in _safely(lambda value=value: getaddresses([value]), [])]
        for address in addresses:
            address = _clean(address).strip()
            if address and address != "<>":
                found.setdefault(address, None)
    return list(found)


def _envelope(envelope: Mapping[str, Any] | None, headers: list[tuple[str, str]]) -> dict[str, Any]:
    if envelope is not None:
        return {"from": envelope.get("from"), "to": list(envelope.get("to") or []),
                "client": envelope.get("client"), "user": envelope.get("user")}
    own: dict[str, str] = {}
    for name, value in headers:  # the outbox's lines come first; a message may forge later ones
        own.setdefault(name.lower(), value)
    sender = own.get(ENVELOPE_HEADER_PREFIX + "from")
    recipients = own.get(ENVELOPE_HEADER_PREFIX + "to")
    return {"from": sender,
            "to": [r.strip() for r in recipients.split(",") if r.strip()] if recipients else [],
            "client": None, "user": None}


def _body_parts(message: EmailMessage) -> tuple[Message | None, Message | None]:
    plain = _safely(lambda: message.get_body(preferencelist=("plain",)), None)
    html = _safely(lambda: message.get_body(preferencelist=("html",)), None)
    return plain, html


def _part_text(part: Message) -> str:
    """A text part's content as str: transfer encoding undone, an unknown charset read as UTF-8."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(payload or "").encode("utf-8", "surrogateescape")
    charset = _safely(part.get_content_charset, None) or "utf-8"
    if charset.lower() in ("us-ascii", "ascii"):
        charset = "utf-8"  # a superset; 8-bit text labelled ASCII is usually UTF-8
    try:
        text = payload.decode(charset, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):  # unknown, or not a text codec
        text = payload.decode("utf-8", "replace")
    return _clean(text).replace("\r\n", "\n").replace("\r", "\n")


def _fallback_text(message: Message) -> str:
    """A text/* or broken multipart message with no usable body part: its payload as it is."""
    if message.get_content_maintype() not in ("text", "multipart") or message.is_multipart():
        return ""
    return _part_text(message)


def _attachments(message: Message, bodies: tuple[Message | None, ...]) -> list[dict[str, Any]]:
    """Leaf parts other than the text and HTML bodies that are files: attached, named or not text.

    Walked without recursion, so absurd nesting costs time, not the stack.
    """
    found = []
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            stack.extend(reversed(part.get_payload()))  # type: ignore[arg-type]
            continue
        if any(part is body for body in bodies) or part.get_content_maintype() == "multipart":
            continue  # a body, or a multipart whose parts could not be found
        filename = _safely(part.get_filename, None)
        content_type = _safely(part.get_content_type, "application/octet-stream")
        attached = _safely(part.is_attachment, False)  # type: ignore[attr-defined]
        if not (attached or filename or not content_type.startswith("text/")):
            continue  # an alternative rendering, not a file
        found.append({"filename": _clean(filename) if filename else None,
                      "content_type": content_type, "size": _safely(lambda p=part: _size(p), 0)})
    return found


def _size(part: Message) -> int:
    """Decoded size in bytes; an attached message counts as its serialized bytes."""
    if part.is_multipart():  # message/rfc822
        return sum(len(inner.as_bytes()) for inner in part.get_payload())  # type: ignore[union-attr]
    payload = part.get_payload(decode=True)
    return len(payload) if isinstance(payload, bytes) else 0


# -------------------------------------------------------------------- HTML to text


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Elements that end a line. Everything else is inline and joins its neighbours without a space.
_BLOCK = _words("""
    address article aside blockquote body caption center dd details dialog dir div dl dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav
    ol p pre section summary table tbody tfoot thead tr ul
""")
_CELLS = frozenset({"td", "th"})  # joined by a space
_DROPPED = frozenset({"head", "script", "style", "title", "template"})
# Invisible characters that senders put between letters or digits (preheader padding, hyphens).
_INVISIBLE = re.compile("[\u00ad\u034f\u180e\u200b\u200c\u200d\u2060\ufeff]")
_LINK_ELEMENTS = frozenset({"a", "area"})


class _Renderer:
    """lxml parser target: collects the readable lines and the hrefs of one HTML document."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.hrefs: list[str] = []
        self._line: list[str] = []
        self._dropped = 0  # depth inside head/script/style/...
        self._pre = 0

    def start(self, tag: Any, attrib: Mapping[str, str]) -> None:
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag in _DROPPED:
            self._dropped += 1
        if self._dropped:
            return
        if tag in _LINK_ELEMENTS and attrib.get("href"):
            self.hrefs.append(attrib["href"])
        if tag in _BLOCK or tag == "br":
            self._end_line()
        elif tag in _CELLS:
            self._line.append(" ")
        if tag == "pre":
            self._pre += 1

    def end(self, tag: Any) -> None:
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag in _DROPPED:
            self._dropped = max(0, self._dropped - 1)
            return
        if self._dropped:
            return
        if tag in _BLOCK:
            self._end_line()
        elif tag in _CELLS:
            self._line.append(" ")
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def data(self, text: str) -> None:
        if self._dropped:
            return
        if self._pre and "\n" in text:
            first, *rest = text.split("\n")
            self._line.append(first)
            for line in rest:
                self._end_line()
                self._line.append(line)
        else:
            self._line.append(text)

    def comment(self, text: str) -> None:  # conditional comments (<!--[if mso]>) included
        pass

    def close(self) -> None:
        self._end_line()

    def _end_line(self) -> None:
        if self._line:
            self.lines.append("".join(self._line))
            self._line = []

    def text(self) -> str:
        lines = (" ".join(_INVISIBLE.sub("", line).split()) for line in self.lines)
        return "\n".join(line for line in lines if line)


def _render_html(html: str) -> tuple[str, list[str]]:
    """(readable text, hrefs of links in order) of an HTML document; never raises."""
    renderer = _Renderer()
    if html.strip():
        from lxml import etree

        parser = etree.HTMLParser(target=renderer, encoding="utf-8", recover=True, huge_tree=True,
                                  no_network=True, remove_comments=False)
        try:
            etree.fromstring(_clean(html).encode("utf-8"), parser)
        except Exception:  # libxml2 gave up part-way: keep what it read
            log.debug("HTML parser gave up", exc_info=True)
            renderer.close()
    return renderer.text(), renderer.hrefs


def html_to_text(html: str) -> str:
    """HTML rendered to readable text by fixed rules.

    Block elements (p, div, li, tr, h1, ...) and `br` end a line; table cells are joined by a
    space; inline elements join without a space; head, script, style, title and comments are
    dropped; entities are decoded; whitespace runs become one space, invisible characters (soft
    hyphen, zero-width space/joiners) are removed, and blank lines are left out.
    """
    return _render_html(html)[0]


# -------------------------------------------------------------------- links

_URL_IN_TEXT = re.compile(r"(?i)\bhttps?://[^\s<>\"'`{}|\\^\[\]]+")
_TRAILING = frozenset(".,;:!?")


def extract_links(html: str | None, text: str) -> list[str]:
    """Absolute http(s) URLs: the hrefs of `html`'s links in order, then new ones in `text`.

    An href is taken as written (entities decoded, surrounding whitespace removed). A URL in the
    text loses trailing `.,;:!?` and an unbalanced `)`. No URL is listed twice.
    """
    hrefs = _render_html(html)[1] if html else []
    return _links(hrefs, text)


def _links(hrefs: Iterable[str], text: str) -> list[str]:
    found: dict[str, None] = {}
    for href in hrefs:
        url = re.sub(r"[\t\n\r]", "", href).strip()  # as browsers do
        if _is_web_url(url):
            found.setdefault(url, None)
    for match in _URL_IN_TEXT.finditer(text):
        url = _strip_trailing(match.group())
        if _is_web_url(url):
            found.setdefault(url, None)
    return list(found)


def _strip_trailing(url: str) -> str:
    """`url` without trailing sentence punctuation and without an unbalanced closing `)`."""
    opened, closed = url.count("("), url.count(")")
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last == ")" and closed > opened:
            end -= 1
            closed -= 1
        else:
            break
    return url[:end]


def _is_web_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket, or a port that is not a number
        return False


# -------------------------------------------------------------------- codes

# 4-8 ASCII digits touching no letter, digit (of any script) or @: [^\W_] is "alphanumeric".
_CANDIDATE = re.compile(r"(?<![^\W_])(?<!@)[0-9]{4,8}(?![^\W_])(?!@)")
_URL_TAIL = re.compile(r"(?i)(?:://|\bwww\.)\S*")
_COPYRIGHT = re.compile(r"(?i)©|\(c\)|\bcopyright\b")
_JOINERS = frozenset("/:.,-") | frozenset(" \t\u00a0\u202f")  # a space: phone-number groups
# A year after a month name, with or without a day: "December 1, 2026", "1 Dec 2026", "1. Dezember
# 2026", "1er décembre 2026" (English, German and French names).
_MONTH_BEFORE = re.compile(
    r"(?i)\b(?:jan|feb|f[ée]v|mar|m[äa]r|apr|avr|may|mai|jun|jui|jul|aug|ao[ûu]|sep|oct|okt|nov|dec"
    r"|dez|d[ée]c)\w{0,7}\.?,?\s(?:[0-3]?[0-9](?:st|nd|rd|th)?,?\s)?$")
_CURRENCY_CODES = _words("""
    AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF INR JPY KRW MXN NOK NZD PLN RUB SEK SGD TRY USD ZAR
""")


def extract_codes(text: str, code_pattern: str | None = None) -> list[str]:
    """One-time codes in `text`, in order, without repeats.

    With `code_pattern` (a Python regular expression, searched in `text`): its group 1 where it
    has one, else the whole match. Without it: runs of 4-8 ASCII digits that touch no letter,
    digit or `@`, and are not part of a date, time, price, phone number, URL or copyright year.
    Raises `CodePatternError` for an invalid pattern.
    """
    return _codes(text, _compile_code_pattern(code_pattern))


def _compile_code_pattern(code_pattern: str | None) -> re.Pattern[str] | None:
    if code_pattern is None:
        return None
    try:
        return re.compile(code_pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise CodePatternError(f"--code-pattern {code_pattern!r} is not a valid regular "
                               f"expression: {exc}.") from None


def _codes(text: str, pattern: re.Pattern[str] | None) -> list[str]:
    found: dict[str, None] = {}
    if pattern is not None:
        for match in pattern.finditer(text):
            code = match.group(1) if pattern.groups else match.group()
            if code:
                found.setdefault(code, None)
        return list(found)
    url_spans = _url_spans(text)
    copyrights = [m.start() for m in _COPYRIGHT.finditer(text)]
    newlines = [m.start() for m in re.finditer("\n", text)] if copyrights else []
    span_index = 0
    for match in _CANDIDATE.finditer(text):
        start, end = match.span()
        if _joined(text, start, end):
            continue
        while span_index < len(url_spans) and url_spans[span_index][1] <= start:
            span_index += 1
        if span_index < len(url_spans) and url_spans[span_index][0] <= start:
            continue  # inside a URL
        if _priced(text, start, end):
            continue
        run = match.group()
        if _is_year(run) and (_after_copyright(start, copyrights, newlines)
                              or _MONTH_BEFORE.search(text, max(0, start - 24), start)):
            continue
        found.setdefault(run, None)
    return list(found)


def _url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every whitespace-delimited word holding `://` or `www.`."""
    spans = []
    for match in _URL_TAIL.finditer(text):
        start = match.start()
        while start and not text[start - 1].isspace():  # back to the start of the word, once
            start -= 1
        spans.append((start, match.end()))
    return spans


def _joined(text: str, start: int, end: int) -> bool:
    """Part of a longer number: `2026-12-01`, `12:30`, `1.234,56`, `555-0199`, `0800 123 4567`."""
    if start >= 2 and text[start - 1] in _JOINERS and text[start - 2].isdigit():
        return True
    return end + 1 < len(text) and text[end] in _JOINERS and text[end + 1].isdigit()


def _priced(text: str, start: int, end: int) -> bool:
    """After a currency sign or `+` (`$1234`, `€ 1234`, `+4930...`), or before a currency sign."""
    before = text[max(0, start - 5):start]
    after = text[end:end + 5]
    stripped_before = before[:-1] if before.endswith((" ", "\u00a0")) else before
    stripped_after = after[1:] if after.startswith((" ", "\u00a0")) else after
    if stripped_before and (stripped_before[-1] == "+" or _is_currency_sign(stripped_before[-1])):
        return True
    if stripped_after and _is_currency_sign(stripped_after[0]):
        return True
    code_before = stripped_before[-4:]
    code_after = stripped_after[:4]
    return ((code_before[-3:] in _CURRENCY_CODES and not code_before[:-3].isalpha())
            or (code_after[:3] in _CURRENCY_CODES and not code_after[3:].isalpha()))


def _is_currency_sign(char: str) -> bool:
    return unicodedata.category(char) == "Sc"


def _is_year(run: str) -> bool:
    return len(run) == 4 and 1900 <= int(run) <= 2099


def _after_copyright(start: int, copyrights: list[int], newlines: list[int]) -> bool:
    """A © (or "(c)", "Copyright") earlier on the same line."""
    index = bisect.bisect_left(copyrights, start)
    if index == 0:
        return False
    line_start = bisect.bisect_left(newlines, start)
    last_newline = newlines[line_start - 1] if line_start else -1
    return copyrights[index - 1] > last_newline


# -------------------------------------------------------------------- waiting


@dataclass(frozen=True)
class Since:
    """The earliest arrival a wait accepts; `after_id`: strictly after that message instead."""

    time: dt.datetime
    after_id: str | None = None

    def admits(self, received: dt.datetime) -> bool:
        return received > self.time if self.after_id else received >= self.time


@dataclass(frozen=True)
class WaitCriteria:
    """What `outbox wait` looks for; None means "any". All given criteria must hold."""

    to: str | None = None
    from_: str | None = None
    subject: str | None = None  # a Python regular expression, searched in the subject
    contains: str | None = None
    since: Since | None = None
    _subject_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = None
        if self.subject is not None:
            try:
                pattern = re.compile(self.subject)
            except (re.error, RecursionError, OverflowError) as exc:
                raise CriteriaError(f"--subject {self.subject!r} is not a valid regular "
                                    f"expression: {exc}.") from None
        object.__setattr__(self, "_subject_pattern", pattern)

    def describe(self) -> list[str]:
        """The criteria in words, for a timeout or an assertion message."""
        parts = []
        for label, value in (("to", self.to), ("from", self.from_), ("subject ~", self.subject),
                             ("contains", self.contains)):
            if value is not None:
                parts.append(f"{label} {value!r}")
        if self.since is not None:
            after = (f"after message {self.since.after_id}" if self.since.after_id
                     else f"since {self.since.time.isoformat()}")
            parts.append(after)
        return parts


def matches(criteria: WaitCriteria, summary: Mapping[str, Any]) -> bool:
    """Whether a message fits: `summary` is the `read_message` object, or any mapping with its keys.

    --to: an envelope recipient or a To/Cc address, exact and case-insensitive. --from: the From
    address or the envelope sender. --subject: `re.search` in the subject. --contains: a
    case-insensitive substring of subject + text. --since: arrival time (never the Date header).
    """
    envelope = summary.get("envelope") or {}
    if criteria.to is not None:
        wanted = _address_key(criteria.to)
        recipients = [*(envelope.get("to") or []), *(summary.get("to") or [])]
        if wanted not in {_address_key(r) for r in recipients}:
            return False
    if criteria.from_ is not None:
        wanted = _address_key(criteria.from_)
        senders = [*_addresses([summary.get("from") or ""]), envelope.get("from") or ""]
        if wanted not in {_address_key(s) for s in senders}:
            return False
    subject = summary.get("subject") or ""
    if criteria._subject_pattern is not None and not criteria._subject_pattern.search(subject):
        return False
    if criteria.contains is not None:
        haystack = f"{subject}\n{summary.get('text') or ''}".casefold()
        if criteria.contains.casefold() not in haystack:
            return False
    if criteria.since is not None:
        received = _parse_time(summary.get("received"))
        if received is None or not criteria.since.admits(received):
            return False
    return True


def _address_key(address: str) -> str:
    return address.strip().strip("<>").strip().casefold()


def parse_since(value: str | None, *, now: dt.datetime | None = None,
                arrival_of: Callable[[str], dt.datetime | str | None] | None = None) -> Since:
    """`--since`: an ISO 8601 time, or the ID of a stored message (then: strictly after it).

    None means 60 s before `now` (default: the current time), so a message that arrived just
    before the wait started still counts. A time without a zone is local time. `arrival_of`
    looks up a message ID's arrival time (None if unknown). Raises `SinceError`.
    """
    if value is None:
        base = now if now is not None else dt.datetime.now(dt.timezone.utc)
        return Since(_aware(base) - DEFAULT_SINCE)
    text = value.strip()
    when = _parse_time(text)
    if when is not None:
        return Since(when)
    arrived = arrival_of(text) if arrival_of is not None and text else None
    if isinstance(arrived, str):
        arrived = _parse_time(arrived)
    if arrived is None:
        raise SinceError(f"--since {value!r} is neither an ISO 8601 time (e.g. "
                         f"2026-12-01T09:30:00Z) nor the ID of a message in the outbox.")
    return Since(_aware(arrived), after_id=text)


def _parse_time(value: Any) -> dt.datetime | None:
    """An aware datetime from an ISO 8601 string (or a datetime); None if it is not one."""
    if isinstance(value, dt.datetime):
        return _aware(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat does not know "Z"
        text = text[:-1] + "+00:00"
    try:
        return _aware(dt.datetime.fromisoformat(text))
    except ValueError:
        return None


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.astimezone()
