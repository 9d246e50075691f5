"""Where settings and data live (flag, then environment variable, then the platform default),
and how they are protected: every folder the app creates is 0700 and every file it writes 0600,
whatever the umask.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "smtp-desktop"
CONFIG_DIR_ENV = "SMTP_DESKTOP_CONFIG_DIR"
DATA_DIR_ENV = "SMTP_DESKTOP_DATA_DIR"
SETTINGS_FILE = "settings.json"
DEFAULT_SERVICE_FILE = "default-service.json"
OUTBOX_FOLDER = "outbox"  # below the data folder
HISTORY_FILE = "history.jsonl"  # below the data folder
PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / SETTINGS_FILE

    @property
    def default_service_file(self) -> Path:
        return self.config_dir / DEFAULT_SERVICE_FILE

    @property
    def window_state_file(self) -> Path:
        """The window's remembered size and splitter position (config.window_state)."""
        return self.config_dir / "window.json"

    @property
    def outbox_folder(self) -> Path:
        return self.data_dir / OUTBOX_FOLDER

    @property
    def history_file(self) -> Path:
        return self.data_dir / HISTORY_FILE


def resolve_paths(
    config_dir: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> AppPaths:
    """The flag wins over the environment variable, which wins over platformdirs."""
    env = os.environ if environ is None else environ
    if config_dir is None:
        config_dir = env.get(CONFIG_DIR_ENV) or None
    if data_dir is None:
        data_dir = env.get(DATA_DIR_ENV) or None
    if config_dir is None or data_dir is None:
        import platformdirs

        config_dir = config_dir or platformdirs.user_config_dir(APP_NAME, appauthor=False)
        data_dir = data_dir or platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return AppPaths(Path(config_dir).expanduser(), Path(data_dir).expanduser())


def make_private_folder(folder: str | os.PathLike[str]) -> Path:
    """Create `folder` and any missing parents, each 0700 whatever the umask; returns it.

    Folders that already exist are left as they are: `--config-dir ~` must not change the mode
    of the user's home.
    """
    folder = Path(folder)
    missing: list[Path] = []
    current = folder
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(path, PRIVATE_FOLDER_MODE)  # mkdir's mode passes through the umask
    return folder


def restrict_file(file: int | str | os.PathLike[str]) -> None:
    """Make a file of ours (an open descriptor or a path) readable and writable by its owner
    only (0600), whatever the umask or the mode it had before."""
    if isinstance(file, int):
        if hasattr(os, "fchmod"):
            os.fchmod(file, PRIVATE_FILE_MODE)
    else:
        os.chmod(file, PRIVATE_FILE_MODE)


def open_private_file(path: str | os.PathLike[str], flags: int) -> int:
    """`os.open(path, flags)` for a file of ours: created 0600, and an existing one made 0600."""
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    try:
        restrict_file(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd
