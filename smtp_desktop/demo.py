"""Demo mode: the whole product end to end with nothing of the user's touched.

A temporary config and data folder, an in-memory keyring, and a local outbox on loopback that
requires AUTH (no TLS: loopback) with a generated password, so "Send test email" succeeds on
the first click and the message appears in the Outbox tab.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService
from smtp_desktop.outbox import Outbox, OutboxServer

DEMO_USERNAME = "demo@example.com"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives and dies with the process; secure in the sense that nothing of it
    is ever written anywhere."""

    priority = 1  # type: ignore[assignment]
    place = "the demo's in-memory keyring"  # SecretStore.place: what the window calls it

    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@dataclass
class DemoSession:
    """A running demo; `close()` stops the outbox and deletes the temporary folder."""

    config: ConfigService
    outbox: Outbox
    server: OutboxServer
    folder: tempfile.TemporaryDirectory[str]

    @property
    def banner(self) -> str:
        return (f"Demo mode: temporary settings, an in-memory keyring and a local outbox on "
                f"{self.server.host}:{self.server.port} that requires a login. Your real settings "
                "and keyring are not touched; everything is deleted when the window closes.")

    def close(self) -> None:
        self.server.stop()
        self.folder.cleanup()


def start_demo() -> DemoSession:
    folder = tempfile.TemporaryDirectory(prefix="smtp-desktop-demo-")
    root = Path(folder.name)
    paths = AppPaths(root / "config", root / "data")
    config = ConfigService(paths, SecretStore(MemoryKeyring()))
    password = secrets.token_urlsafe(16)
    outbox = Outbox(paths.outbox_folder)
    server = OutboxServer(outbox, auth=(DEMO_USERNAME, password))
    server.start()
    settings = SmtpSettings(
        enabled=True, service=Service.OWN, host=server.host, port=server.port,
        username=DEMO_USERNAME,
        keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "false")))
    config.save(settings, password)
    return DemoSession(config, outbox, server, folder)
