"""The outbox login without the command line: a private file, or an environment variable.

`outbox serve --auth USER:PASSWORD` shows the password to every local user (ps, /proc); these
keep it off argv. The file holds one `USER:PASSWORD` line and must belong to the user running
the server with mode 0600 or 0400, or it is refused (exit 2), like ssh refuses a readable key.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from smtp_desktop.outbox.errors import OutboxConfigError

AUTH_ENV = "SMTP_DESKTOP_OUTBOX_AUTH"  # USER:PASSWORD, used when neither --auth nor --auth-file
ALLOWED_MODES = (0o600, 0o400)


def parse_login(text: str, source: str) -> tuple[str, str]:
    """USER:PASSWORD, both non-empty; the message never repeats the text (it holds a password)."""
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        raise OutboxConfigError(f"{source} must hold USER:PASSWORD, both non-empty.")
    return user, password


def read_auth_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The login in `path`; OutboxConfigError if it is not private to this user or malformed."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise OutboxConfigError(f"Cannot read the login file {path}: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutboxConfigError(f"The login file {path} is not a regular file.")
        mode = stat.S_IMODE(info.st_mode)
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or mode not in ALLOWED_MODES):
            raise OutboxConfigError(
                f"The login file {path} must belong to you with mode 0600 or 0400 (it has mode "
                f"{mode:04o}, owner uid {info.st_uid}); other users could read the password. "
                f"Fix it with: chmod 600 {path}")
        data = os.read(fd, 64 * 1024)
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OutboxConfigError(f"The login file {path} is not UTF-8 text.") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise OutboxConfigError(f"The login file {path} must hold exactly one USER:PASSWORD line.")
    return parse_login(lines[0].strip(), f"The login file {path}")
