"""Real servers on 127.0.0.1 for transport tests.

* `start_smtp_server`: aiosmtpd with a recording handler, optional STARTTLS or implicit TLS and
  AUTH PLAIN/LOGIN for one known user.
* `ScriptedServer`: a tiny threaded TCP server running a script per connection, for peers that
  misbehave (silent, HTTP, 421 at greeting, dropping the connection during DATA...).
* `BlackholeServer`: a port whose connections never finish opening (a full accept queue).

Everything is stopped and every thread joined by `stop()`; the fixtures in smtp_fixtures.py do
that at teardown.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import email
import email.policy
import selectors
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from smtp_desktop.config.model import Service, SmtpSettings

HOST = "127.0.0.1"
USERNAME = "tester@example.test"
PASSWORD = "s3cret-Pässword+/="  # non-ASCII and base64-ish characters on purpose


def password_forms(username: str, password: str) -> list[str]:
    """The password as it could leak: plain and in every base64 form a login can carry it."""
    raw, user = password.encode(), username.encode()
    blobs = [raw, b"\0" + user + b"\0" + raw, user + b"\0" + user + b"\0" + raw]
    return [password] + [base64.b64encode(b).decode() for b in blobs]


# ---------------------------------------------------------------- aiosmtpd


@dataclass(frozen=True)
class Received:
    """One message that reached the server."""

    message: Message
    mail_from: str
    rcpt_tos: tuple[str, ...]
    ehlo_name: str | None
    authenticated: bool


class RecordingHandler:
    """Records accepted messages; optional canned refusals for MAIL, RCPT and after DATA."""

    def __init__(self, *, mail_reply: str | None = None, rcpt_reply: str | None = None,
                 data_reply: str | None = None) -> None:
        self.mail_reply = mail_reply
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.received: list[Received] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(message, envelope.mail_from, tuple(envelope.rcpt_tos),
                                      session.host_name, bool(session.authenticated)))
        return f"250 2.0.0 Ok: queued as TEST{len(self.received)}"


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username = username.encode()
        self.password = password.encode()
        self.attempts = 0

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.attempts += 1
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.username
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False)


@dataclass
class SmtpTestServer:
    """A running server: where it is, who may log in, and what it received."""

    host: str
    port: int
    username: str
    password: str
    security: str  # "starttls", "ssl" or "none": what the server speaks
    handler: RecordingHandler
    _stop: Callable[[], None] = field(repr=False, default=lambda: None)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def messages(self) -> list[Message]:
        """Every received message, parsed."""
        return [r.message for r in self.handler.received]

    def settings(self, keys: Mapping[str, str] | None = None, *,
                 username: str | None = None) -> SmtpSettings:
        """SmtpSettings pointing at this server, with keys matching its security.

        `keys` are added; a key with the value None-like "" is kept as given.
        """
        base = {"mail.smtp.auth": "true"}
        if self.security == "ssl":
            base["mail.smtp.ssl.enable"] = "true"
        elif self.security == "starttls":
            base["mail.smtp.starttls.enable"] = "true"
        else:
            base["mail.smtp.starttls.enable"] = "false"
        base.update(keys or {})
        return SmtpSettings(enabled=True, service=Service.OWN, host=self.host, port=self.port,
                            username=self.username if username is None else username,
                            keys=tuple(base.items()))

    def stop(self) -> None:
        self._stop()


def server_tls_context(cert_pem: bytes, key_pem: bytes,
                       max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if max_version is not None:
        context.maximum_version = max_version
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(str(cert_file), str(key_file))
    return context


def trustme_pems(ca, *names: str, not_after: dt.datetime | None = None) -> tuple[bytes, bytes]:
    """A certificate (with its chain) and key for `names`, issued by the trustme `ca`."""
    leaf = ca.issue_cert(*names, not_after=not_after)
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return chain, leaf.private_key_pem.bytes()


def self_signed_pems(*names: str) -> tuple[bytes, bytes]:
    """A certificate for `names` signed by its own key (no CA involved)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Self Signed Test"),
                         x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def start_smtp_server(security: str = "starttls", *, pems: tuple[bytes, bytes] | None = None,
                      auth: bool = True, handler: RecordingHandler | None = None,
                      username: str = USERNAME, password: str = PASSWORD,
                      max_tls: ssl.TLSVersion | None = None,
                      exclude_mechanisms: Sequence[str] = ()) -> SmtpTestServer:
    """Start aiosmtpd on 127.0.0.1 at a free port.

    security: "starttls" (STARTTLS required before MAIL, AUTH only after TLS), "ssl" (implicit
    TLS) or "none" (no TLS; AUTH allowed in the clear, fine on loopback). `pems` is the server's
    (certificate chain, key) for the TLS modes; `max_tls` caps the server's TLS version;
    `exclude_mechanisms` are not offered (aiosmtpd's auth_exclude_mechanism).
    """
    from aiosmtpd.controller import Controller

    class BoundController(Controller):
        """Serves on a socket bound beforehand, so the port is free and known without races."""

        def __init__(self, handler, sock: socket.socket, **kwargs) -> None:
            self._sock = sock
            super().__init__(handler, hostname=HOST, port=sock.getsockname()[1], **kwargs)

        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=self._sock,
                                           ssl=self.ssl_context)

    handler = handler or RecordingHandler()
    kwargs: dict[str, object] = {"server_hostname": "mx.example.test", "ident": "test ESMTP",
                                 "auth_exclude_mechanism": list(exclude_mechanisms)}
    if auth:
        kwargs["authenticator"] = _Authenticator(username, password)
        # aiosmtpd only counts STARTTLS as TLS; an implicit-TLS connection is encrypted anyway.
        kwargs["auth_require_tls"] = security == "starttls"
    if security in ("starttls", "ssl") and pems is None:
        raise ValueError("TLS servers need a certificate")
    if security == "starttls":
        kwargs["tls_context"] = server_tls_context(*pems, max_tls)
        kwargs["require_starttls"] = True
    elif security == "ssl":
        kwargs["ssl_context"] = server_tls_context(*pems, max_tls)
    sock = socket.create_server((HOST, 0))
    controller = BoundController(handler, sock, loop=asyncio.new_event_loop(), **kwargs)
    try:
        controller.start()
    except BaseException:
        sock.close()
        raise
    return SmtpTestServer(HOST, sock.getsockname()[1], username, password, security, handler,
                          _stop=controller.stop)


# ---------------------------------------------------------------- scripted peers


class PeerClosed(Exception):
    """The client closed the connection (or the server is stopping)."""


class Peer:
    """One accepted connection, as seen by a script."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(30)
        self._file = sock.makefile("rb")
        self.lines: list[str] = []  # every line the client sent
        self.stopping = threading.Event()  # set when the server stops

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode())

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> str:
        raw = self._file.readline(65536)
        if not raw:
            raise PeerClosed()
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        self.lines.append(line)
        return line

    def stall(self) -> None:
        """Neither read nor write until the server stops (the client's writes back up)."""
        self.stopping.wait(60)

    def hold(self) -> None:
        """Say nothing until the client goes away or the server stops."""
        with contextlib.suppress(OSError):
            while self.sock.recv(4096):
                pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(OSError):
            self.sock.close()


Script = Callable[[Peer], None]


class ScriptedServer:
    """Accepts connections on 127.0.0.1 and runs `script(peer)` for each in its own thread."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self.host = HOST
        self.port = self._listener.getsockname()[1]
        self.connected = threading.Event()  # set when the first client connects
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="scripted-accept")
        self._acceptor.start()

    @property
    def connections(self) -> int:
        return len(self.peers)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            peer = Peer(sock)
            thread = threading.Thread(target=self._serve, args=(peer,), name="scripted-peer")
            with self._lock:
                self.peers.append(peer)
                self._threads.append(thread)
            self.connected.set()
            thread.start()

    def _serve(self, peer: Peer) -> None:
        try:
            self.script(peer)
        except (PeerClosed, OSError):
            pass
        except BaseException as exc:  # reported by the fixture at teardown
            self.errors.append(exc)
        finally:
            peer.close()

    def settings(self, keys: Mapping[str, str] | None = None, *,
                 username: str = "") -> SmtpSettings:
        """Settings for this peer: no TLS, no login unless `keys` say otherwise."""
        base = {"mail.smtp.starttls.enable": "false"}
        base.update(keys or {})
        return SmtpSettings(enabled=True, service=Service.OWN, host=self.host, port=self.port,
                            username=username, keys=tuple(base.items()))

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join(10)
        self._listener.close()
        with self._lock:
            peers, threads = list(self.peers), list(self._threads)
        for peer in peers:
            peer.stopping.set()
            with contextlib.suppress(OSError):
                peer.sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(10)
        if self._acceptor.is_alive() or any(t.is_alive() for t in threads):
            raise RuntimeError("a scripted server thread did not stop")


def smtp_script(*, greeting: str = "220 mx.example.test ESMTP scripted",
                ehlo: Sequence[str] = ("250-mx.example.test", "250-AUTH PLAIN LOGIN",
                                       "250 8BITMIME"),
                replies: Mapping[str, Sequence[str]] | None = None,
                on: Mapping[str, Callable[[Peer, str], bool]] | None = None) -> Script:
    """A script that answers like a minimal SMTP server.

    `replies` maps a verb (EHLO, AUTH, MAIL, RCPT, DATA...) to the reply lines; `on` maps a verb
    to a function (peer, line) that answers itself and returns False to end the session.
    A greeting starting with 421 ends the session right after it is sent.
    """
    canned = {"EHLO": list(ehlo), "HELO": ["250 mx.example.test"], "MAIL": ["250 2.1.0 Ok"],
              "RCPT": ["250 2.1.5 Ok"], "RSET": ["250 Ok"], "NOOP": ["250 Ok"],
              "AUTH": ["235 2.7.0 Accepted"], "QUIT": ["221 2.0.0 Bye"]}
    canned.update({verb.upper(): list(lines) for verb, lines in (replies or {}).items()})
    handlers = {verb.upper(): fn for verb, fn in (on or {}).items()}

    def script(peer: Peer) -> None:
        peer.send(greeting)
        if greeting.startswith("421"):
            return
        while True:
            line = peer.read_line()
            verb = line.split(" ", 1)[0].upper()
            if verb in handlers:
                if not handlers[verb](peer, line):
                    return
            elif verb == "DATA" and "DATA" not in canned:
                peer.send("354 End data with <CR><LF>.<CR><LF>")
                while peer.read_line() != ".":
                    pass
                peer.send("250 2.0.0 Ok: queued as SCRIPTED")
            elif verb in canned:
                peer.send(*canned[verb])
                if verb == "QUIT":
                    return
            else:
                peer.send("502 5.5.2 Command not recognized")

    return script


def silent_script(peer: Peer) -> None:
    """Accept and never say anything."""
    peer.hold()


def drop_during_data(peer: Peer, line: str) -> bool:
    """DATA handler: invite the message, read a little of it, then drop the connection."""
    peer.send("354 End data with <CR><LF>.<CR><LF>")
    peer.read_line()
    return False


# ---------------------------------------------------------------- a port that never answers


class BlackholeServer:
    """A listening port whose accept queue is full, so new connections never finish opening.

    Linux drops the SYN of a connection to a listener with a full accept queue, so the client
    waits in connect() exactly as it would for a firewalled host, yet only 127.0.0.1 is involved.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0), backlog=0)
        self.host = HOST
        self.port = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(16):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((HOST, self.port))
            self._fillers.append(filler)
            with selectors.DefaultSelector() as selector:
                selector.register(filler, selectors.EVENT_WRITE)
                if not selector.select(0.5):
                    return  # this one hangs: the queue is full
        self.stop()
        raise RuntimeError("could not fill the accept queue; the blackhole is not available here")

    def settings(self, keys: Mapping[str, str] | None = None) -> SmtpSettings:
        base = {"mail.smtp.starttls.enable": "false"}
        base.update(keys or {})
        return SmtpSettings(enabled=True, service=Service.OWN, host=self.host, port=self.port,
                            username="", keys=tuple(base.items()))

    def stop(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()
