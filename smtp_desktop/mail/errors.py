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
