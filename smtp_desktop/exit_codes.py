"""The exit-code rule shared by every command (a public contract)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    SERVER = 1  # the server or network failed
    INVALID = 2  # usage, invalid input or invalid configuration
    DISABLED = 3  # SMTP is turned off
    ENVIRONMENT = 4  # no secure keyring, no display, settings in use, a file of ours not written
    INTERRUPTED = 130
