"""Email addresses and the test message.

Every address is checked before anything is sent: one address per field, no line breaks or other
control characters (which could inject headers or SMTP commands), ASCII only.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.mail.errors import InvalidInputError
from smtp_desktop.mail.options import configured_security, format_server
from smtp_desktop.mail.transcript import printable

if TYPE_CHECKING:
    from email.headerregistry import BaseHeader
    from email.message import EmailMessage

TEST_SUBJECT = "smtp-desktop test email"

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SECURITY_NAMES = {"ssl": "SSL/TLS (implicit)", "starttls": "STARTTLS", "none": "none"}


def is_address(text: str) -> bool:
    """True when `text` is a bare address such as me@example.com."""
    return bool(_ADDRESS.fullmatch(text)) and len(text) <= 254 and len(text.split("@")[0]) <= 64


def parse_address(text: str, what: str) -> tuple[str, str]:
    """Split 'Name <me@example.com>' or 'me@example.com' into (name, address).

    Raises InvalidInputError naming `what` when the text is not exactly one safe address.
    """
    from email.utils import getaddresses

    if _CONTROL.search(text):
        raise InvalidInputError(
            f"The {what} '{printable(text)}' contains a line break or control character.",
            advice="Enter the address on one line, e.g. me@example.com.")
    stripped = text.strip()
    parsed = getaddresses([stripped])
    if len(parsed) != 1 or not is_address(parsed[0][1]):
        raise InvalidInputError(
            f"The {what} '{stripped}' is not one email address such as me@example.com.",
            advice="Enter a single address like me@example.com, optionally as 'Name <me@example.com>'.")
    name, address = parsed[0]
    if "=?" in stripped:  # getaddresses may read "=?utf-8?q?a:...?=" as a group, not a name
        _check_encoded_name(stripped, what)
    if "<" not in stripped and stripped != address:
        raise InvalidInputError(
            f"The {what} '{stripped}' is not one email address such as me@example.com.",
            advice="Enter a single address like me@example.com.")
    return name, address


def _check_encoded_name(text: str, what: str) -> None:
    """Refuse a display name whose RFC 2047 encoded words decode to a line break or another
    control character (=?utf-8?q?a=0D=0AX-Inj:_1?=): the header would carry it once decoded."""
    from email.policy import default

    try:
        header = default.header_factory("From", text)
        names = [a.display_name for a in header.addresses]
    except Exception:  # the header registry fails in many ways on junk; all of it is bad input
        names = ["\n"]
    if any(_CONTROL.search(name) for name in names):
        raise InvalidInputError(
            f"The {what} '{printable(text)}' has a name that decodes to a line break or "
            "control character.",
            advice="Enter the name as plain text, e.g. Me <me@example.com>, or the address alone.")


def bare_address(text: str, what: str) -> str:
    return parse_address(text, what)[1]


def choose_from(settings: SmtpSettings, sender: str | None) -> str:
    """The From header: mail.from, else the username when it is an address, else `sender`."""
    header_from = (settings.key("mail.from") or "").strip()
    if header_from:
        parse_address(header_from, "From address (mail.from)")
        return header_from
    username = settings.username.strip()
    if username and "@" in username and not _CONTROL.search(username) and is_address(username):
        return username
    if sender and sender.strip():
        parse_address(sender, "sender address")
        return sender.strip()
    raise InvalidInputError(
        "There is no From address for the message.",
        advice="Add the key mail.from with your email address (e.g. me@example.com), "
               "or use an email address as the username.")


def build_test_message(settings: SmtpSettings, recipient: str | None, *,
                       sender: str | None = None) -> EmailMessage:
    """The test email: From, To, a clear subject, Message-ID, Date, and a body naming the server.

    Raises InvalidInputError when an address is missing or unsafe.
    """
    from email.message import EmailMessage
    from email.utils import format_datetime, localtime, make_msgid

    from_header = choose_from(settings, sender)
    from_address = bare_address(from_header, "From address")
    to_address = bare_address(recipient, "recipient") if recipient and recipient.strip() \
        else from_address
    if _CONTROL.search(settings.host) or _CONTROL.search(settings.username):
        raise InvalidInputError("The host or username contains a line break or control character.",
                                advice="Enter the host and username on one line.")
    now = localtime()
    date = format_datetime(now)
    security = _SECURITY_NAMES[configured_security(settings)]
    body = (
        "This is a test email from smtp-desktop.\n"
        "\n"
        f"Server:   {format_server(settings.host, settings.port)}\n"
        f"Security: {security}\n"
        f"User:     {settings.username or '(no login)'}\n"
        f"Sent:     {date}\n"
        "\n"
        "If you can read this, outgoing mail from this computer works.\n"
    )
    message = EmailMessage()
    # Values that are plain ASCII are stored as they are (set_raw): parsing them through the
    # header registry would give the same bytes at a millisecond per message. Anything else
    # (a display name, non-ASCII text) goes through the registry to be encoded properly.
    headers = (("From", from_header), ("To", to_address), ("Subject", TEST_SUBJECT),
               ("Date", date),
               # No idstring: a Message-ID that fits in 78 columns is written as it is, while a
               # longer one is parsed again to be "folded" (it cannot be), 0.2 ms per message.
               ("Message-ID", make_msgid(domain=from_address.rsplit("@", 1)[1])))
    for name, value in headers:
        if (name == "From" and value != from_address) or not value.isascii():
            message[name] = value
        else:
            message.set_raw(name, value)
    _set_text_body(message, body)
    return message


def warm_up() -> None:
    """Parse the shared body headers now rather than during the first test message."""
    _text_body_headers()


@functools.cache
def _text_body_headers() -> tuple[BaseHeader, ...]:
    """The headers set_content gives a short ASCII text body, parsed once per process.

    Parsed header objects are immutable; sharing them spares every message the header
    registry's parsing, both here and each time the generator asks for the content type.
    """
    from email.policy import default

    return tuple(default.header_factory(name, value) for name, value in (
        ("Content-Type", 'text/plain; charset="utf-8"'), ("Content-Transfer-Encoding", "7bit"),
        ("MIME-Version", "1.0")))


def _set_text_body(message: EmailMessage, body: str) -> None:
    """message.set_content(body), with the common case (short ASCII lines) done directly.

    The headers and payload are the ones set_content chooses for such a body: text/plain,
    charset utf-8, 7bit. Other bodies go through set_content, which picks the encoding.
    """
    lines = body.splitlines()
    if not body.isascii() or any(len(line) > message.policy.max_line_length for line in lines):
        message.set_content(body)
        return
    for header in _text_body_headers():
        message[header.name] = header
    message.set_payload("\n".join(lines) + "\n")
