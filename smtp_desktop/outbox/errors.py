"""The local outbox's errors; every message is ready to show to a person."""

from __future__ import annotations


class OutboxError(Exception):
    """Base class of the outbox's errors; the message is ready to show."""


class UnknownMessageError(OutboxError, KeyError):
    """No message with that id is in the outbox (it may have been deleted)."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"No message {message_id!r} in the local outbox; it may have been deleted.")
        self.message_id = message_id

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class RemoteHostError(OutboxError, ValueError):
    """The outbox was asked to listen on an address other computers can reach."""


class ServerStartError(OutboxError):
    """The server could not listen (port in use, not allowed, unknown address)."""


class OutboxConfigError(OutboxError, ValueError):
    """outbox.json, a limit flag or a login file is invalid; nothing was changed."""
