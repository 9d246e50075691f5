"""A thread-safe cancel token that can abort a connection from another thread."""

from __future__ import annotations

import contextlib
import socket
import threading

from smtp_desktop.mail.errors import CancelledError


class CancelToken:
    """Cancels one send or probe from any thread (typically the GUI thread).

    `cancel()` marks the token and shuts down every socket the attempt has open, which wakes a
    blocked read, write or TLS handshake at once; a connection still opening notices the mark
    within a few tens of milliseconds.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._sockets: list[socket.socket] = []

    def cancel(self) -> None:
        """Cancel the attempt. Thread-safe and idempotent."""
        with self._lock:
            self._cancelled = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def raise_if_cancelled(self) -> None:
        if self._cancelled:
            raise CancelledError()

    def attach(self, sock: socket.socket) -> None:
        """Register a live socket to be shut down on cancel; raises CancelledError if too late."""
        with self._lock:
            if not self._cancelled:
                self._sockets.append(sock)
                return
        raise CancelledError()

    def release(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets = [s for s in self._sockets if s is not sock]


def _shutdown(sock: socket.socket) -> None:
    # The plain socket method works on TLS sockets too and, unlike SSLSocket.shutdown, does not
    # touch the TLS object that the worker thread may be using right now. A closed socket has
    # fileno -1, so a late call cannot hit a reused descriptor.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
