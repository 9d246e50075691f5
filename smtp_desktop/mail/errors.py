"""Failure categories and the errors of the mail layer.

Every failure of a send or probe maps to exactly one `Category`; the values are stable strings
that the CLI prints with --json and the window keys its help on.
"""

from __future__ import annotations

import enum


class Category(str, enum.Enum):
    """What kind of failure an attempt ended with; values are part of the public contract."""

    DNS = "dns"
    REFUSED = "refused"
    NETWORK = "network"
    TIMEOUT = "timeout"
    TLS = "tls"
    CERTIFICATE = "certificate"
    AUTH = "auth"
    SENDER_REJECTED = "sender-rejected"
    RECIPIENT_REJECTED = "recipient-rejected"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    CONNECTION_LOST = "connection-lost"
    PROTOCOL = "protocol"
    INVALID_INPUT = "invalid-input"
    KEYRING = "keyring"
    NOT_PROVISIONED = "not-provisioned"
    DISABLED = "disabled"
    CANCELLED = "cancelled"


# The words a person reads for each category: the window's result headline, the CLI's
# "FAILED: <title> [<slug>]" and `"title"` in --json. One table, also in the README.
TITLES: dict[Category, str] = {
    Category.DNS: "Server name not found",
    Category.REFUSED: "Nothing listens on that port",
    Category.NETWORK: "Network unreachable",
    Category.TIMEOUT: "No answer in time",
    Category.TLS: "Encryption could not be set up",
    Category.CERTIFICATE: "Certificate not trusted",
    Category.AUTH: "Login refused",
    Category.SENDER_REJECTED: "Sender refused",
    Category.RECIPIENT_REJECTED: "Recipient refused",
    Category.UNAVAILABLE: "Server busy: try later",
    Category.REJECTED: "Message refused",
    Category.CONNECTION_LOST: "Connection lost",
    Category.PROTOCOL: "Not an SMTP server",
    Category.INVALID_INPUT: "Settings incomplete",
    Category.KEYRING: "Keyring unreadable",
    Category.NOT_PROVISIONED: "No default service",
    Category.DISABLED: "SMTP is off",
    Category.CANCELLED: "Cancelled",
}


def title_of(category: Category | None) -> str:
    """The human title of a failure category ("Login refused"); "Failed" when there is none."""
    return TITLES.get(category, "Failed") if category is not None else "Failed"


class MailError(Exception):
    """Base class of every mail-layer error; carries a category, a message and advice."""

    category: Category = Category.PROTOCOL

    def __init__(self, message: str, *, category: Category | None = None,
                 advice: str | None = None) -> None:
        super().__init__(message)
        if category is not None:
            self.category = category
        self.message = message
        self.advice = advice


class InvalidInputError(MailError):
    """An address, host or key was refused before any connection was made."""

    category = Category.INVALID_INPUT


class SessionError(MailError):
    """The server, the network or TLS ended an attempt; raised inside a session only."""


class CancelledError(MailError):
    """The attempt was cancelled through its CancelToken."""

    category = Category.CANCELLED

    def __init__(self, message: str = "The attempt was cancelled.") -> None:
        super().__init__(message, advice="Start it again when you are ready.")
