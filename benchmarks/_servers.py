"""Local test servers for the benchmarks, run as their own process (see _bench.ServerProcess).

Usage: python benchmarks/_servers.py FOLDER

Starts, on 127.0.0.1 only, an aiosmtpd server speaking STARTTLS + AUTH PLAIN/LOGIN with a
certificate from a fresh trustme CA (written to FOLDER/ca.pem, and appended to a copy of the
system's CA bundle in FOLDER/bundle.pem), and a silent server that accepts
connections and never says anything. Prints one JSON line with the ports, then serves until stdin
closes, then prints one JSON line with what was received and exits.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import sys
from pathlib import Path

import _bench  # noqa: F401  (puts the repository and tests/ on sys.path)

USERNAME = "bench@example.test"
PASSWORD = "bench-Passw0rd+/="


def _no_delay_listeners() -> None:
    """Make the test servers' sockets send each reply line at once (TCP_NODELAY).

    aiosmtpd writes a multi-line reply (EHLO) one line per write; with Nagle's algorithm the
    second write waits for the client's delayed ACK, about 40 ms on Linux loopback, twice per
    session. A real server sends the reply in one go, and 80 ms of artificial waiting would
    hide every difference between the clients. Linux copies the option to accepted sockets.
    """
    create_server = socket.create_server

    def create_no_delay_server(*args, **kwargs):  # type: ignore[no-untyped-def]
        sock = create_server(*args, **kwargs)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    socket.create_server = create_no_delay_server  # type: ignore[assignment]


def main() -> int:
    import trustme
    from support.smtp_servers import (
        HOST,
        ScriptedServer,
        silent_script,
        start_smtp_server,
        trustme_pems,
    )

    # aiosmtpd logs a warning on every login about an attribute it reads itself.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    _no_delay_listeners()
    folder = Path(sys.argv[1])
    (folder / "empty").mkdir(exist_ok=True)
    ca = trustme.CA(organization_name="smtp-desktop benchmark CA")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    # A trust store the size of the system's: its CA bundle plus the test CA.
    system = ssl.get_default_verify_paths().openssl_cafile
    try:
        system_pem = Path(system).read_bytes()
    except OSError:
        system_pem = b""
    bundle_file = folder / "bundle.pem"
    bundle_file.write_bytes(system_pem + b"\n" + ca.cert_pem.bytes())
    pems = trustme_pems(ca, HOST, "localhost")
    (folder / "leaf.pem").write_bytes(pems[0])
    # An ASCII password: smtplib's login() cannot send a non-ASCII one (the app can).
    smtp = start_smtp_server("starttls", pems=pems, username=USERNAME, password=PASSWORD)
    silent = ScriptedServer(silent_script)
    try:
        print(json.dumps({"ca_file": str(ca_file), "bundle_file": str(bundle_file),
                          "bundle_cas": system_pem.count(b"BEGIN CERTIFICATE") + 1,
                          "leaf_file": str(folder / "leaf.pem"), "host": HOST, "starttls_port": smtp.port,
                          "silent_port": silent.port, "username": smtp.username,
                          "password": smtp.password}), flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin
    finally:
        silent.stop()
        smtp.stop()
    print(json.dumps({"received": len(smtp.received),
                      "authenticated": sum(r.authenticated for r in smtp.received),
                      "silent_connections": silent.connections}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
