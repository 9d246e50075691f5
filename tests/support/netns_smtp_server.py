"""An aiosmtpd server without STARTTLS that offers AUTH PLAIN LOGIN in the clear and records the
command verbs it receives; run inside a test's network namespace by `support.netns`.

    python netns_smtp_server.py HOST PORT RECORD_FILE     (username and password in the
                                                           environment: SDT_USERNAME, SDT_PASSWORD)

Prints "READY" once it listens. Each command verb (EHLO, AUTH, MAIL, QUIT...) is appended to
RECORD_FILE and flushed before the server answers it, so once the client has its reply the
verb is on disk. Only verbs are written, never arguments or login data. The server stops when
its standard input closes (the test ended, or died).
"""

from __future__ import annotations

import os
import sys

_VERBS = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT",
          "VRFY", "EXPN", "HELP"}


def main(host: str, port: int, record_path: str) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    record = open(record_path, "a", encoding="ascii", buffering=1)  # noqa: SIM115 (lives as long as the server)
    username = os.environ["SDT_USERNAME"].encode()
    password = os.environ["SDT_PASSWORD"].encode()

    class RecordingReader:
        """Wraps the connection's StreamReader: every command line's verb goes to the file."""

        def __init__(self, reader, protocol: RecordingSMTP) -> None:
            self._reader = reader
            self._protocol = protocol

        def __getattr__(self, name):
            return getattr(self._reader, name)

        async def readuntil(self, separator=b"\n"):
            line = await self._reader.readuntil(separator)
            if not self._protocol.in_data:  # message lines are not commands
                verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
                record.write((verb if verb in _VERBS else "<other>") + "\n")
            return line

    class RecordingSMTP(SMTP):
        in_data = False

        def _cb_client_connected(self, reader, writer):
            super()._cb_client_connected(RecordingReader(reader, self), writer)

        async def smtp_DATA(self, arg):
            self.in_data = True
            try:
                await super().smtp_DATA(arg)
            finally:
                self.in_data = False

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 Ok: queued"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == username
              and auth_data.password == password)
        return AuthResult(success=ok, handled=False)

    class RecordingController(Controller):
        def factory(self):
            return RecordingSMTP(self.handler, **self.SMTP_kwargs)

    controller = RecordingController(
        Handler(), hostname=host, port=port, server_hostname="mx.netns.test",
        ident="netns test ESMTP", authenticator=authenticator, auth_require_tls=False)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()  # until the test closes our standard input, or dies
    finally:
        controller.stop()
        record.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
