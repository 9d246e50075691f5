"""Process-wide concerns: protection for code that holds a password, and stop signals. No Qt.

`make_non_dumpable()` does what ssh-agent does on Linux: `prctl(PR_SET_DUMPABLE, 0)`. The kernel
then writes no core dump of the process, and other processes of the same user can no longer
attach a debugger (ptrace) or read its memory through /proc/<pid>/mem. Elsewhere it does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

log = logging.getLogger(__name__)

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4


def _prctl(option: int, argument: int = 0) -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    libc.prctl.restype = ctypes.c_int
    result = libc.prctl(option, argument, 0, 0, 0)
    if result < 0:
        import os

        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return int(result)


def make_non_dumpable() -> bool:
    """Forbid core dumps and debugger attachment for this process (Linux); True when done.

    Never raises: a failure is logged, and the program carries on as before.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        _prctl(PR_SET_DUMPABLE, 0)
    except (ImportError, OSError, AttributeError) as exc:  # no ctypes, no prctl: carry on
        log.warning("Could not mark the process non-dumpable: %s", exc)
        return False
    return True


def is_dumpable() -> bool | None:
    """Whether this process may be core-dumped and debugged; None where that is unknown."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return _prctl(PR_GET_DUMPABLE) != 0
    except (ImportError, OSError, AttributeError):
        return None


@contextlib.contextmanager
def exit_on_stop_signals() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP raise SystemExit(0), as Ctrl+C raises
    KeyboardInterrupt, so `finally` blocks (the demo's clean-up) run instead of the process
    vanishing. Main thread only; the previous handlers are restored afterwards."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    previous = {signum: signal.signal(signum, stop)
                for name in ("SIGTERM", "SIGHUP") if (signum := getattr(signal, name, None))}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
