"""Errors raised by the config layer; every message is ready to show to a person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One validation message, tied to the field (and key-table row) it is about."""

    field: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = self.field if self.row is None else f"{self.field}[{self.row + 1}]"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """Base class of every config-layer error."""


class InvalidSettingsError(ConfigError):
    """Settings failed validation; `problems` lists every message."""

    def __init__(self, problems: Sequence[Problem], context: str = "The settings are invalid") -> None:
        self.problems = tuple(problems)
        self.context = context
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{context}:\n{lines}" if lines else context)


class SettingsFileError(ConfigError):
    """A settings file could not be read or has the wrong shape.

    `problems` lists each thing wrong with the file when there are several (else it is empty);
    `context` is the message's first line, which says what they are about.
    """

    def __init__(self, message: str, problems: Sequence[str] = (),
                 context: str | None = None) -> None:
        super().__init__(message)
        self.problems = tuple(problems)
        self.context = context


class FutureVersionError(SettingsFileError):
    """A settings file was written by a newer version of the app; it is never overwritten."""


class SettingsWriteError(ConfigError):
    """Writing one of our files failed (a full disk, a read-only folder); the previous file is
    untouched. An environment problem: the input was fine."""


class SecretStoreError(ConfigError):
    """The password could not be stored, read or deleted."""


class NoSecureKeyringError(SecretStoreError):
    """No secure keyring backend is available, so passwords cannot be stored."""


class PasswordInputError(ConfigError):
    """A password given on standard input cannot be used (it is not UTF-8 text)."""


class SettingsLockedError(ConfigError):
    """Another process is writing the settings right now."""


class SettingsChangedError(ConfigError):
    """settings.json changed on disk since it was loaded; saving would overwrite that change."""
