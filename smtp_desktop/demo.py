"""Demo mode: the whole product end to end with nothing of the user's touched.

A temporary config and data folder, an in-memory keyring, and a local outbox on loopback that
requires AUTH (no TLS: loopback) with a generated password, so "Send test email" succeeds on
the first click and the message appears in the Outbox tab.

The folder's name carries the demo's process id (`smtp-desktop-demo-<pid>-<random>`). A demo
that could not clean up (killed with SIGKILL, a power cut) leaves it behind, and the next demo
removes every such folder of the same user whose process is gone.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
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

log = logging.getLogger(__name__)

DEMO_USERNAME = "demo@example.com"
FOLDER_PREFIX = "smtp-desktop-demo-"
_FOLDER_PID = re.compile(re.escape(FOLDER_PREFIX) + r"(\d+)-")


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
    """Remove folders that dead demos left behind, then set up a new demo."""
    remove_stale_folders()
    folder = tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
    root = Path(folder.name)
    paths = AppPaths(root / "config", root / "data")
    config = ConfigService(paths, SecretStore(MemoryKeyring()))
    password = secrets.token_urlsafe(16)
    outbox = Outbox(paths.outbox_folder)
    server = OutboxServer(outbox, auth=(DEMO_USERNAME, password))
    try:
        server.start()
        settings = SmtpSettings(
            enabled=True, service=Service.OWN, host=server.host, port=server.port,
            username=DEMO_USERNAME,
            keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "false")))
        config.save(settings, password)
    except BaseException:  # a failure, or a stop signal while starting: leave nothing behind
        server.stop()
        folder.cleanup()
        raise
    return DemoSession(config, outbox, server, folder)


def remove_stale_folders(parent: Path | None = None) -> list[Path]:
    """Delete this user's demo folders whose process has ended; returns what was removed.

    Only on POSIX, where a process can be asked whether it lives without harming it. Folders
    of other users, of living processes, or without a process id in the name stay.
    """
    if os.name != "posix":
        return []
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    removed: list[Path] = []
    for folder in parent.glob(f"{FOLDER_PREFIX}*"):
        match = _FOLDER_PID.match(folder.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            if not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        if _process_exists(int(match.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            log.info("Removed %s, left behind by a demo that did not end cleanly", folder)
            removed.append(folder)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's: alive; an absurd number: leave the folder alone
    return True
