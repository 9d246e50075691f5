"""Reading SMTP reply lines from a socket with every wait bounded by a deadline."""

from __future__ import annotations

import socket
import time

DEADLINE_SLACK = 0.01  # a reply may outlast mail.smtp.timeout by at most this (seconds)
_READ_SIZE = 16 * 1024  # one TLS record


def set_timeout(sock: socket.socket, seconds: float) -> None:
    """sock.settimeout(seconds), skipped when it is already set (each change is a system call)."""
    if sock.gettimeout() != seconds:
        sock.settimeout(seconds)


class LineReader:
    """Reads reply lines from a socket; every wait is bounded by the reply's deadline.

    A file from socket.makefile() gives each read the socket's whole timeout, so a peer sending
    one byte at a time could stretch a single line without end.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def readline(self, limit: int, deadline: float) -> bytes:
        """The next line with its line end, at most `limit` bytes; b"" once the peer has closed.

        Raises TimeoutError when `deadline` (time.monotonic()) passes first.
        """
        while True:
            end = self._buffer.find(b"\n", 0, limit)
            if end >= 0 or len(self._buffer) >= limit:
                size = end + 1 if end >= 0 else limit
                line = bytes(self._buffer[:size])
                del self._buffer[:size]
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the reply did not complete in time")
            # Shorten the socket's timeout to what is left once that matters; the first read of
            # a reply, and data that is already waiting, cost no extra system call.
            current = self._sock.gettimeout()
            if current is None or remaining < current - DEADLINE_SLACK:
                self._sock.settimeout(remaining)
            chunk = self._sock.recv(_READ_SIZE)
            if not chunk:
                line = bytes(self._buffer)
                self._buffer.clear()
                return line
            self._buffer += chunk

    def close(self) -> None:  # smtplib.SMTP.close() closes its file
        self._buffer.clear()
