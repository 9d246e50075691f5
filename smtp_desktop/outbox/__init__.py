"""The local outbox: a real SMTP server on this computer that keeps every message it accepts.

`Outbox` (store.py) is a Maildir folder (the app uses data_dir/"outbox") with a small API to
list, read, delete and export messages, listed through a SQLite index (index.py).
`OutboxServer` (server.py) runs aiosmtpd on 127.0.0.1 (a free port by default), bounded by
`OutboxLimits` (limits.py, also read from outbox.json), and streams each accepted message into
an `Outbox`, so the app works out of the box: point it at the outbox and every test email lands
there instead of leaving the machine.

Plain Python with no Qt; email, sqlite3's index and aiosmtpd are used only when needed.
"""

from smtp_desktop.config.consistency import is_loopback
from smtp_desktop.outbox.errors import (
    OutboxConfigError,
    OutboxError,
    RemoteHostError,
    ServerStartError,
    UnknownMessageError,
)
from smtp_desktop.outbox.limits import OutboxLimits, load_limits, save_limits
from smtp_desktop.outbox.server import DEFAULT_PORT, IDENT, SERVER_NAME, OutboxServer
from smtp_desktop.outbox.store import (
    ENVELOPE_FROM_HEADER,
    ENVELOPE_HEADER,
    ENVELOPE_TO_HEADER,
    FOLDER_NAME,
    Envelope,
    Outbox,
    OutboxMessage,
    outbox_folder,
)

__all__ = [
    "DEFAULT_PORT", "ENVELOPE_FROM_HEADER", "ENVELOPE_HEADER", "ENVELOPE_TO_HEADER", "FOLDER_NAME",
    "IDENT", "SERVER_NAME", "Envelope", "Outbox", "OutboxConfigError", "OutboxError",
    "OutboxLimits", "OutboxMessage", "OutboxServer", "RemoteHostError", "ServerStartError",
    "UnknownMessageError", "is_loopback", "load_limits", "outbox_folder", "save_limits",
]
