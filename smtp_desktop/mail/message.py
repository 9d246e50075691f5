"""Email addresses and the test message.

Every address is checked before anything is sent: one address per field, no line breaks or other
control characters (which could inject headers or SMTP commands), ASCII only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.mail.errors import InvalidInputError
from smtp_desktop.mail.options import configured_security, format_server
from smtp_desktop.mail.transcript import printable

if TYPE_CHECKING:
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
    if "<" not in stripped and stripped != address:
        raise InvalidInputError(
            f"The {what} '{stripped}' is not one email address such as me@example.com.",
            advice="Enter a single address like me@example.com.")
    return name, address


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
    security = _SECURITY_NAMES[configured_security(settings)]
    message = EmailMessage()
    message["From"] = from_header
    message["To"] = to_address
    message["Subject"] = TEST_SUBJECT
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("smtp-desktop", domain=from_address.rsplit("@", 1)[1])
    message.set_content(
        "This is a test email from smtp-desktop.\n"
        "\n"
        f"Server:   {format_server(settings.host, settings.port)}\n"
        f"Security: {security}\n"
        f"User:     {settings.username or '(no login)'}\n"
        f"Sent:     {format_datetime(now)}\n"
        "\n"
        "If you can read this, outgoing mail from this computer works.\n"
    )
    return message
