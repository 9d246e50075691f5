"""SMTP server fixtures on 127.0.0.1, registered for the whole suite from tests/conftest.py.

Only 127.0.0.1 is ever contacted. Servers with certificates depend on `trusted_ca`, which points
SSL_CERT_FILE at a trustme CA (and SSL_CERT_DIR at an empty folder), so the transport's use of the
system trust store trusts exactly that CA. Every server is stopped and its threads joined at
teardown.

aiosmtpd servers yield a `support.smtp_servers.SmtpTestServer`: `.host`, `.port`, `.username`,
`.password`, `.security`, `.messages` (received email.message.Message objects), `.received`
(with envelope sender, recipients and EHLO name) and `.settings(keys)` (SmtpSettings for it):

    starttls_auth_server      STARTTLS (required before MAIL) + AUTH PLAIN/LOGIN, AUTH only
                              after TLS; certificate from the trusted CA for 127.0.0.1/localhost
    implicit_tls_server       implicit TLS from the first byte (as on 465) + AUTH
    plain_server              no TLS at all; AUTH allowed in the clear (loopback only)
    self_signed_server        STARTTLS + AUTH with a self-signed certificate (not from the CA)
    wrong_name_server         STARTTLS + AUTH; trusted certificate for mail.example.test only
    expired_cert_server       STARTTLS + AUTH; trusted certificate that has expired
    rcpt_rejecting_server     no TLS; every RCPT gets "550 5.1.1 ... User unknown"
    sender_rejecting_server   no TLS; MAIL gets "550 5.7.1 ... not permitted to send as ..."
    smtp_server_factory       factory: smtp_server_factory(security, pems=..., handler=...)

Scripted peers yield a `support.smtp_servers.ScriptedServer` (`.host`, `.port`, `.connected`
threading.Event set on the first connection, `.peers`, `.settings(keys)`):

    silent_server             accepts TCP and never says anything (greeting timeout)
    http_server               answers every connection with an HTTP/1.1 400 reply
    greeting_421_server       "421 4.3.2 Service not available" at greeting, then closes
    drop_during_data_server   accepts MAIL/RCPT, answers DATA with 354, drops the connection
    scripted_server_factory   factory: scripted_server_factory(script) with smtp_script(...)

`assert_no_leak(outcome, username, password, *texts)` checks that the password (plain and in
every base64 form) appears nowhere in the outcome, in smtp_desktop log records, or in `texts`.

And two addresses where nothing answers, each with `.host`, `.port`, `.settings(keys)`:

    blackhole_server          connections never finish opening (connect timeout / cancel)
    closed_port               nothing listens there (connection refused)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smtp_desktop.config.model import Service, SmtpSettings
from support.smtp_servers import (
    HOST,
    BlackholeServer,
    RecordingHandler,
    Script,
    ScriptedServer,
    SmtpTestServer,
    drop_during_data,
    password_forms,
    self_signed_pems,
    silent_script,
    smtp_script,
    start_smtp_server,
    trustme_pems,
)


@pytest.fixture(scope="session")
def smtp_ca():
    """The trustme CA that signs the test servers' certificates."""
    import trustme

    return trustme.CA(organization_name="smtp-desktop test CA")


@pytest.fixture(scope="session")
def _smtp_ca_file(smtp_ca, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ca")
    path = folder / "ca.pem"
    smtp_ca.cert_pem.write_to_path(str(path))
    (folder / "empty").mkdir()
    return path


@pytest.fixture
def trusted_ca(_smtp_ca_file, monkeypatch) -> Path:
    """Make the system trust store, as the transport sees it, hold exactly the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(_smtp_ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(_smtp_ca_file.parent / "empty"))
    return _smtp_ca_file


@pytest.fixture
def smtp_server_factory(trusted_ca) -> Iterator[Callable[..., SmtpTestServer]]:
    """Start aiosmtpd servers (see start_smtp_server); all are stopped at teardown."""
    started: list[SmtpTestServer] = []

    def start(security: str = "starttls", **kwargs) -> SmtpTestServer:
        server = start_smtp_server(security, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def _good_pems(smtp_ca) -> tuple[bytes, bytes]:
    return trustme_pems(smtp_ca, HOST, "localhost")


@pytest.fixture
def starttls_auth_server(smtp_server_factory, _good_pems) -> SmtpTestServer:
    return smtp_server_factory("starttls", pems=_good_pems)


@pytest.fixture
def implicit_tls_server(smtp_server_factory, _good_pems) -> SmtpTestServer:
    return smtp_server_factory("ssl", pems=_good_pems)


@pytest.fixture
def plain_server(smtp_server_factory) -> SmtpTestServer:
    return smtp_server_factory("none")


@pytest.fixture
def self_signed_server(smtp_server_factory) -> SmtpTestServer:
    return smtp_server_factory("starttls", pems=self_signed_pems(HOST, "localhost"))


@pytest.fixture
def wrong_name_server(smtp_server_factory, smtp_ca) -> SmtpTestServer:
    return smtp_server_factory("starttls", pems=trustme_pems(smtp_ca, "mail.example.test"))


@pytest.fixture
def expired_cert_server(smtp_server_factory, smtp_ca) -> SmtpTestServer:
    expired = dt.datetime(2021, 6, 30, 12, 0, 0)
    return smtp_server_factory("starttls", pems=trustme_pems(smtp_ca, HOST, not_after=expired))


@pytest.fixture
def rcpt_rejecting_server(smtp_server_factory) -> SmtpTestServer:
    handler = RecordingHandler(
        rcpt_reply="550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown")
    return smtp_server_factory("none", handler=handler)


@pytest.fixture
def sender_rejecting_server(smtp_server_factory) -> SmtpTestServer:
    handler = RecordingHandler(
        mail_reply="550 5.7.1 Client does not have permissions to send as this sender "
                   "(not permitted to send as)")
    return smtp_server_factory("none", handler=handler)


@pytest.fixture
def scripted_server_factory() -> Iterator[Callable[[Script], ScriptedServer]]:
    """Start ScriptedServers; all are stopped, and script errors re-raised, at teardown."""
    started: list[ScriptedServer] = []

    def start(script: Script) -> ScriptedServer:
        server = ScriptedServer(script)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    errors = [e for server in started for e in server.errors]
    if errors:
        raise errors[0]


@pytest.fixture
def silent_server(scripted_server_factory) -> ScriptedServer:
    return scripted_server_factory(silent_script)


@pytest.fixture
def http_server(scripted_server_factory) -> ScriptedServer:
    def script(peer) -> None:
        peer.send_raw(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")

    return scripted_server_factory(script)


@pytest.fixture
def greeting_421_server(scripted_server_factory) -> ScriptedServer:
    return scripted_server_factory(smtp_script(
        greeting="421 4.3.2 Service not available, closing transmission channel"))


@pytest.fixture
def drop_during_data_server(scripted_server_factory) -> ScriptedServer:
    return scripted_server_factory(smtp_script(on={"DATA": drop_during_data}))


@pytest.fixture
def blackhole_server() -> Iterator[BlackholeServer]:
    try:
        server = BlackholeServer()
    except RuntimeError as exc:  # the full-accept-queue trick is Linux behaviour
        pytest.skip(str(exc))
    yield server
    server.stop()


@dataclass(frozen=True)
class ClosedPort:
    host: str
    port: int

    def settings(self, keys: dict[str, str] | None = None) -> SmtpSettings:
        base = {"mail.smtp.starttls.enable": "false", **(keys or {})}
        return SmtpSettings(enabled=True, service=Service.OWN, host=self.host, port=self.port,
                            username="", keys=tuple(base.items()))


@pytest.fixture
def closed_port() -> ClosedPort:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    # Bound but never listening, then closed: nothing accepts there.
    return ClosedPort(HOST, port)


@pytest.fixture
def assert_no_leak(caplog) -> Callable[..., None]:
    """Capture smtp_desktop logging at DEBUG; returns a checker for password leaks."""
    caplog.set_level(logging.DEBUG, logger="smtp_desktop")
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def check(outcome, username: str, password: str, *texts: str) -> None:
        records = [formatter.format(r) for r in caplog.records if r.name.startswith("smtp_desktop")]
        haystacks = [json.dumps(outcome.to_json(), ensure_ascii=False), repr(outcome),
                     *records, *texts]
        for form in password_forms(username, password):
            for text in haystacks:
                assert form not in text, f"password form {form!r} leaked into: {text[:300]}"

    return check
