"""The process the crash-safety torture test kills: saves settings through ConfigService forever.

Run as `python crash_child.py CONFIG_DIR`, with DBUS_SESSION_BUS_ADDRESS naming the private
Secret Service. It is a small fork server: it imports everything once, then for each line
`{"step": N, "log": PATH, "old_password": ...}` on stdin forks a saver, so a fresh process per
kill costs milliseconds instead of an interpreter start. It answers `exit PID STATUS` when a
saver has died; `quit` ends it. (`old_password` is what the parent just found in the keyring for
the account settings.json names; reading it again here would only slow every round down.)

A saver (the forked child) builds a ConfigService over the real Secret Service backend (see
SlowSecretService), loads settings.json, logs a `start` record, prints `ready PID`, then saves
step after step:

    {"phase": "begin", "step": i, "old": ..., "old_password": ..., "new": ..., "new_password": ...}
    ... ConfigService.save(new, password, previous=old) ...
    {"phase": "done", "step": i}

Each record is one os.write of one line followed by fsync, so the parent, after SIGKILL, knows
whether the save of step i had begun and whether it returned. `new_password` is what the new
account must hold once the save returns (the typed password, or the one that moves with it).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from keyring.backends.SecretService import Keyring

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.store import settings_to_document

PAUSE_S = 0.015  # after each keyring write
MAX_STEPS_PER_SAVER = 100_000  # a saver is always killed long before; this only bounds a bug
# Two accounts (different username and host), so most steps move the password between them.
ACCOUNTS = (("alice", "smtp-a.example.com"), ("bob@example.org", "smtp-b.example.net"))


class SlowSecretService(Keyring):
    """keyring's Secret Service backend, pausing a moment after each write.

    A real keyring can be slow; here the pause widens the windows between a keyring write and
    the next step of ConfigService.save, where a wrong order of writes would show, so that
    random kills land in them often enough to catch it.
    """

    def set_password(self, service: str, username: str, password: str) -> None:
        super().set_password(service, username, password)
        time.sleep(PAUSE_S)

    def delete_password(self, service: str, username: str) -> None:
        super().delete_password(service, username)
        time.sleep(PAUSE_S)


def settings_for(step: int) -> SmtpSettings:
    """The settings step `step` saves; every step's file content is different."""
    username, host = ACCOUNTS[0 if step % 3 == 0 else 1]
    return SmtpSettings(
        enabled=True, service=Service.OWN, host=host, port=587 if step % 2 else 2525,
        username=username,
        keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true"),
              ("mail.smtp.timeout", str(10_000 + step))))


def password_for(step: int) -> str | None:
    """The password typed at step `step`; None at the steps that only move the stored one.

    Step kinds, by step % 3: 0 account A with a new password (coming from B: the entry moves
    and changes); 1 account B with no password typed (the stored one moves from A to B);
    2 account B again with a new password (the entry is overwritten in place).
    """
    if step % 3 == 1:
        return None
    return f"crash-{step}-Grüße ✓"


def _log(fd: int, record: dict) -> None:
    record["t"] = time.monotonic()  # system-wide on Linux: the parent measures save times
    os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    os.fsync(fd)


def saver(config_dir: Path, start_step: int, log_path: Path, old_password: str) -> None:
    """Save from `start_step` on, until killed."""
    config = ConfigService(AppPaths(config_dir, config_dir / "data"), SecretStore(SlowSecretService()))
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    loaded = config.load()
    if loaded.corrupt_backup is not None or loaded.read_only or not loaded.exists:
        _log(fd, {"phase": "bad-start", "notice": loaded.notice})
        os._exit(3)
    old = loaded.settings
    _log(fd, {"phase": "start", "old": settings_to_document(old), "old_password": old_password})
    sys.stdout.write(f"ready {os.getpid()}\n")
    sys.stdout.flush()
    for step in range(start_step, start_step + MAX_STEPS_PER_SAVER):
        new = settings_for(step)
        typed = password_for(step)
        new_password = typed if typed else old_password
        _log(fd, {"phase": "begin", "step": step, "old": settings_to_document(old),
                  "old_password": old_password, "new": settings_to_document(new),
                  "new_password": new_password})
        config.save(new, typed, previous=old)
        _log(fd, {"phase": "done", "step": step})
        old, old_password = new, new_password


def _die_with_parent() -> None:
    """SIGKILL this process when its parent dies, so no saver outlives a killed test run."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


def serve(config_dir: Path) -> None:
    _die_with_parent()
    for line in sys.stdin:
        if line.strip() == "quit":
            return
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _die_with_parent()
                saver(config_dir, command["step"], Path(command["log"]), command["old_password"])
            except BaseException:
                traceback.print_exc()
                code = 70
            finally:
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
