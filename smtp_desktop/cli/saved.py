"""What commands read: the saved settings, and a password (or secret) on standard input."""

from __future__ import annotations

import sys
from typing import Any

from smtp_desktop.config.errors import FutureVersionError, PasswordInputError, SettingsFileError
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


def read_password_stdin() -> str:
    """The first line of standard input, decoded strictly: bytes that are not UTF-8 are
    refused (PasswordInputError), never guessed at or passed on to the keyring."""
    from smtp_desktop.config.model import normalize_password

    binary = getattr(sys.stdin, "buffer", None)
    line = binary.readline() if binary is not None else sys.stdin.readline()
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        text.encode("utf-8")  # a str stream may hold surrogates standing for undecodable bytes
    except UnicodeError:
        raise PasswordInputError(
            "The password on standard input is not UTF-8 text; nothing was changed.") from None
    return normalize_password(text).value
