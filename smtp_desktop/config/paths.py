"""Where settings and data live: flag, then environment variable, then the platform default."""

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
