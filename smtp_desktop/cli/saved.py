"""The saved settings, as commands that act on them read them."""

from __future__ import annotations

from typing import Any

from smtp_desktop.config.errors import FutureVersionError, SettingsFileError
from smtp_desktop.config.service import ConfigService


def load_saved(config: ConfigService) -> Any:
    """Saved settings for commands that act on them. A damaged file is an error that changes
    nothing (the window, or an import, sets it aside), never silent defaults."""
    try:
        result = config.load(set_aside=False)
    except FutureVersionError:
        raise
    except SettingsFileError as exc:
        raise SettingsFileError(
            f"{exc} Open the window to set the damaged file aside, or import a good one.") from None
    if result.read_only:
        raise FutureVersionError(result.notice or "settings.json is from a newer version.")
    return result
