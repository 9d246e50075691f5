"""One SMTP session: smtplib underneath, with cancellation, exact timeouts and a transcript.

Imported lazily by transport.py, so smtplib and ssl stay off the application's start-up path.
Everything here raises MailError subclasses; transport.py turns them into an Outcome.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import selectors
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from smtp_desktop.config.keys import is_ip_address
from smtp_desktop.config.policy import is_loopback_address
from smtp_desktop.mail import diagnosis
from smtp_desktop.mail.cancel import CancelToken
from smtp_desktop.mail.certificates import CertificateInfo, CertificateParseError, parse_der
from smtp_desktop.mail.errors import Category, MailError, SessionError
from smtp_desktop.mail.options import ConnectionOptions, format_server
from smtp_desktop.mail.results import TlsInfo
from smtp_desktop.mail.tls import tls_context
from smtp_desktop.mail.transcript import REDACTED, Transcript
from smtp_desktop.mail.wire import LineReader, set_timeout

log = logging.getLogger(__name__)

_MAX_LINE = 8192  # smtplib's limit for one reply line
_MAX_REPLY_LINES = 500
_WRITE_CHUNK = 64 * 1024
_SLICE = 0.05  # how often a connection that is still opening checks for cancel
_REPLY_LINE = re.compile(r"(\d{3})([ -]|$)(.*)", re.DOTALL)
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EAGAIN, 10035}


class CertificateRejected(SessionError):
    """Certificate verification failed; the session reconnects once to describe the certificate."""

    category = Category.CERTIFICATE

    def __init__(self, verify_code: int | None, verify_message: str) -> None:
        super().__init__(f"Certificate verification failed: {verify_message}.")
        self.verify_code = verify_code
        self.verify_message = verify_message


@dataclass
class Envelope:
    sender: str
    recipients: tuple[str, ...]
    body: bytes  # the message with CRLF line ends, not yet dot-stuffed


@dataclass
class Report:
    """What the session learnt, filled in as it goes (so a failure still reports partial facts)."""

    security: str
    capabilities: tuple[str, ...] = ()
    auth_mechanisms: tuple[str, ...] = ()
    login: bool | None = None
    tls: TlsInfo | None = None
    certificate: CertificateInfo | None = None
    reply: str = ""


_ENHANCED_CODE = re.compile(rb"[245]\.\d{1,3}\.\d{1,3} ")


def _text(raw: bytes) -> str:
    """A reply's text on one line. A multi-line reply repeats its enhanced code on every line
    (`534-5.7.9 ... go to` / `534 5.7.9 https://...`); it is said once, at the start."""
    lines = raw.splitlines()
    code = _ENHANCED_CODE.match(lines[0]) if lines else None
    if code is not None:
        lines[1:] = [line.removeprefix(code.group()) for line in lines[1:]]
    return " ".join(b" ".join(lines).decode("utf-8", "replace").split())


class Client(smtplib.SMTP):
    """smtplib.SMTP with our own socket handling (cancel, timeouts) and a transcript.

    `send` and `getreply` are overridden so every byte passes through the transcript, writes use
    mail.smtp.writetimeout, reads use mail.smtp.timeout, and malformed or endless replies end the
    session instead of hanging it.
    """

    ehlo_msg = "EHLO"

    def __init__(self, opts: ConnectionOptions, token: CancelToken, transcript: Transcript,
                 *, verify: bool = True) -> None:
        super().__init__(local_hostname="localhost", timeout=opts.read_timeout)
        self.opts = opts
        self.token = token
        self.transcript = transcript
        self.verify = verify
        self.ctx = diagnosis.Context(
            host=opts.host, port=opts.port, implicit_tls=opts.implicit_tls, starttls=opts.starttls,
            read_timeout=opts.read_timeout, connect_timeout=opts.connect_timeout,
            write_timeout=opts.write_timeout, local_address=opts.local_address,
            tls_protocols=" ".join(dict.fromkeys(v for v in (opts.min_tls, opts.max_tls) if v))
            or None)
        self.phase = "connect"
        self.tls_active = False
        self.peer_address = ""  # the IP actually connected to
        self.tls: TlsInfo | None = None
        self.certificate: CertificateInfo | None = None
        self.polite_quit = False  # the server is still talking to us after a refusal
        self.sasl: object | None = None  # the last login exchange (its error challenge, if any)
        self._shown: str | None = None
        self._body_pending = False
        self._owned: list[socket.socket] = []

    # ------------------------------------------------------------ sockets

    def open(self) -> None:
        """Connect, do implicit TLS when configured, and read the greeting."""
        self.sock = self._connect()
        if self.opts.implicit_tls:
            self._wrap_tls()
        self.phase = "greeting"
        code, msg = self.getreply()
        if code != 220:
            raise self._refusal("greeting", code, msg)

    def _resolve(self) -> list[tuple]:
        host = self.opts.host.strip("[]")
        if is_ip_address(host):
            try:
                return socket.getaddrinfo(host, self.opts.port, type=socket.SOCK_STREAM,
                                          flags=socket.AI_NUMERICHOST)
            except socket.gaierror as exc:  # e.g. an IPv6 address on a host without IPv6
                raise diagnosis.failure(Category.NETWORK,
                                        f"The address {host} cannot be used here: {exc.strerror}.")\
                    from None
        # getaddrinfo cannot be interrupted, so it runs aside while we watch the token and the
        # clock; an abandoned lookup finishes on its own in its daemon thread.
        found: dict[str, object] = {}
        done = threading.Event()

        def lookup() -> None:
            try:
                found["infos"] = socket.getaddrinfo(host, self.opts.port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                found["error"] = exc
            finally:
                done.set()

        self.transcript.note(f"looking up {host}")
        threading.Thread(target=lookup, name="smtp-desktop-dns", daemon=True).start()
        deadline = time.monotonic() + self.opts.connect_timeout
        while not done.wait(_SLICE):
            self.token.raise_if_cancelled()
            if time.monotonic() >= deadline:
                raise diagnosis.failure(
                    Category.DNS, f"Looking up '{host}' did not finish within "
                    f"{self.opts.connect_timeout:g} s.",
                    "Check that this computer is online and its name server works.")
        error = found.get("error")
        if isinstance(error, socket.gaierror):
            raise diagnosis.dns_failure(self.ctx, error)
        if isinstance(error, BaseException):
            raise diagnosis.failure(Category.DNS, f"The host name '{host}' could not be looked "
                                    f"up: {error}.")
        return found["infos"]  # type: ignore[return-value]

    def _local_family(self) -> tuple[int | None, str | None]:
        local = self.opts.local_address
        if not local:
            return None, None
        address = local.strip("[]")
        if is_ip_address(address):
            return (socket.AF_INET6 if ":" in address else socket.AF_INET), address
        try:
            info = socket.getaddrinfo(address, 0, type=socket.SOCK_STREAM)[0]
        except (OSError, UnicodeError) as exc:
            raise diagnosis.bind_failure(self.ctx, OSError(str(exc))) from None
        return info[0], info[4][0]

    def _connect(self) -> socket.socket:
        self.token.raise_if_cancelled()
        family, local_ip = self._local_family()
        infos = self._resolve()
        if family is not None:
            infos = [info for info in infos if info[0] == family]
            if not infos:
                raise diagnosis.no_address_of_family(self.ctx)
        last: SessionError | None = None
        for fam, kind, proto, _, address in infos:
            shown = format_server(address[0], address[1])
            ipv6 = fam == socket.AF_INET6
            sock = socket.socket(fam, kind, proto)
            self._own(sock)
            if local_ip is not None:
                try:
                    sock.bind((local_ip, 0))
                except OSError as exc:
                    self._disown(sock)
                    raise diagnosis.bind_failure(self.ctx, exc) from None
            self.transcript.note(f"connecting to {shown}")
            log.info("connecting to %s (%s)", shown, self.opts.host)
            try:
                self._connect_socket(sock, address)
            except TimeoutError:
                self._disown(sock)
                self.transcript.note(f"{shown}: no answer within {self.opts.connect_timeout:g} s")
                last = diagnosis.connect_timeout(self.ctx, shown, ipv6)
                continue
            except OSError as exc:
                self._disown(sock)
                self.token.raise_if_cancelled()
                self.transcript.note(f"{shown}: {exc.strerror or exc}")
                last = diagnosis.connect_failure(self.ctx, exc, shown, ipv6)
                continue
            sock.settimeout(self.opts.read_timeout)
            self.peer_address = address[0]
            self.transcript.note(f"connected to {shown}")
            return sock
        raise last or diagnosis.failure(Category.DNS, f"'{self.opts.host}' has no addresses.")

    def _connect_socket(self, sock: socket.socket, address: tuple) -> None:
        """Open the TCP connection in short slices so that a cancel stops it at once."""
        sock.setblocking(False)
        err = sock.connect_ex(address)
        if err not in (0, *_IN_PROGRESS):
            raise OSError(err, os.strerror(err))
        if err:
            deadline = time.monotonic() + self.opts.connect_timeout
            with selectors.DefaultSelector() as selector:
                selector.register(sock, selectors.EVENT_WRITE)
                while True:
                    self.token.raise_if_cancelled()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("connect timed out")
                    if selector.select(min(_SLICE, remaining)):
                        break
            self.token.raise_if_cancelled()
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
        sock.setblocking(True)

    def _own(self, sock: socket.socket) -> None:
        try:
            self.token.attach(sock)
        except MailError:
            sock.close()
            raise
        self._owned.append(sock)

    def _disown(self, sock: socket.socket) -> None:
        self.token.release(sock)
        if sock in self._owned:
            self._owned.remove(sock)
        sock.close()

    def close(self) -> None:
        try:
            super().close()
        finally:
            for sock in self._owned:
                self.token.release(sock)
                sock.close()
            self._owned.clear()

    # ------------------------------------------------------------ TLS

    def tls_context(self) -> ssl.SSLContext:
        verify = self.verify and not self.opts.trust_without_verification
        return tls_context(verify, verify and self.opts.check_server_identity,
                           self.opts.min_tls, self.opts.max_tls)

    def _wrap_tls(self) -> None:
        self.phase = "handshake"
        raw = self.sock
        context = self.tls_context()
        tls_sock = context.wrap_socket(raw, server_hostname=self.opts.server_name,
                                       do_handshake_on_connect=False)
        # wrap_socket took over the descriptor; the token must now shut down the TLS socket.
        if raw in self._owned:
            self._owned.remove(raw)
            self.token.release(raw)
        self.sock = tls_sock
        self.file = None
        self._own(tls_sock)
        try:
            tls_sock.do_handshake()
        except ssl.SSLCertVerificationError as exc:
            self.token.raise_if_cancelled()
            raise CertificateRejected(exc.verify_code, exc.verify_message or exc.reason or str(exc)) \
                from None
        except ssl.SSLError as exc:
            self.token.raise_if_cancelled()
            raise diagnosis.tls_failure(self.ctx, exc.reason, exc.strerror or str(exc)) from None
        except TimeoutError:
            raise diagnosis.reply_timeout(self.ctx, "handshake") from None
        except OSError as exc:
            self.token.raise_if_cancelled()
            raise diagnosis.connection_lost(self.ctx, "the TLS handshake", exc.strerror or str(exc)) \
                from None
        self.tls_active = True
        version, cipher = tls_sock.version() or "?", (tls_sock.cipher() or ("?",))[0]
        self.tls = TlsInfo(version, cipher)
        self.transcript.note(f"TLS {version}, cipher {cipher}")
        der = tls_sock.getpeercert(binary_form=True)
        if der:
            try:
                self.certificate = parse_der(der)
            except CertificateParseError as exc:
                self.transcript.note(f"certificate could not be read: {exc}")
        if self.certificate:
            cert = self.certificate
            self.transcript.note(f"certificate subject {cert.subject}; issuer {cert.issuer}; "
                                 f"expires {cert.not_after}; names {', '.join(cert.names) or '-'}")
        if not self.verify:
            self.transcript.note("certificate read without verification, only to describe it")
        elif self.opts.trust_without_verification:
            self.transcript.note("certificate not verified: trusted by mail.smtp.ssl.trust")
        elif not self.opts.check_server_identity:
            self.transcript.note("host name not checked: mail.smtp.ssl.checkserveridentity is false")
        else:
            self.transcript.note("certificate verified")

    def starttls(self, **_: object) -> tuple[int, bytes]:  # type: ignore[override]
        """Upgrade with STARTTLS; the EHLO state is reset as RFC 3207 requires."""
        code, msg = self.command("starttls", "STARTTLS")
        if code != 220:
            raise self._refusal("starttls", code, msg)
        # Anything the server sent after 220 was sent in the clear: drop it (STARTTLS injection).
        self.file = None
        self._wrap_tls()
        self.helo_resp = None
        self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        return code, msg

    # ------------------------------------------------------------ the wire

    def send(self, s: str | bytes) -> None:
        if self.sock is None:
            raise diagnosis.connection_lost(self.ctx, self.phase, "not connected")
        data = s.encode("ascii") if isinstance(s, str) else s
        if self._body_pending:
            self._body_pending = False
            self.transcript.client(f"<message, {len(data)} bytes>")
            self.transcript.client(".")
        elif self._shown is not None:
            self.transcript.client(self._shown)
        else:
            self.transcript.client(data.decode("ascii", "replace").rstrip("\r\n"))
        self._shown = None
        sock = self.sock
        set_timeout(sock, self.opts.write_timeout)
        view = memoryview(data)
        try:
            # mail.smtp.writetimeout bounds each write, not the whole message, so a large
            # message on a slow link is fine while a peer that stops reading is not.
            for start in range(0, len(view), _WRITE_CHUNK):
                sock.sendall(view[start:start + _WRITE_CHUNK])
        except TimeoutError:
            raise diagnosis.write_timeout(self.ctx, self.phase) from None
        except OSError as exc:
            self.token.raise_if_cancelled()
            raise diagnosis.connection_lost(self.ctx, self.phase, exc.strerror or str(exc)) from None
        finally:
            with contextlib.suppress(OSError):
                set_timeout(sock, self.opts.read_timeout)

    def getreply(self) -> tuple[int, bytes]:
        """Read one (possibly multi-line) reply; refuses replies that are not SMTP.

        mail.smtp.timeout bounds the whole reply, not each read: a peer dripping one byte or
        one continuation line at a time cannot stretch an attempt past the timeout.
        """
        if self.sock is None:
            raise diagnosis.connection_lost(self.ctx, self.phase, "not connected")
        if self.file is None:
            self.file = LineReader(self.sock)
        deadline = time.monotonic() + self.opts.read_timeout
        try:
            return self._read_reply(deadline)
        finally:
            with contextlib.suppress(OSError):
                if self.sock is not None:
                    set_timeout(self.sock, self.opts.read_timeout)

    def _read_reply(self, deadline: float) -> tuple[int, bytes]:
        assert self.sock is not None and self.file is not None
        parts: list[bytes] = []
        code = -1
        while True:
            self.token.raise_if_cancelled()
            try:
                line = self.file.readline(_MAX_LINE + 1, deadline)
            except TimeoutError:
                raise diagnosis.reply_timeout(self.ctx, self.phase) from None
            except OSError as exc:
                self.token.raise_if_cancelled()
                raise diagnosis.connection_lost(self.ctx, self.phase, exc.strerror or str(exc)) \
                    from None
            self.token.raise_if_cancelled()
            if not line:
                raise diagnosis.connection_lost(self.ctx, self.phase)
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if len(line) > _MAX_LINE:
                self.transcript.server(text[:200] + "...")
                raise diagnosis.endless_reply(self.ctx, f"a line longer than {_MAX_LINE} bytes")
            self.transcript.server(text)
            match = _REPLY_LINE.fullmatch(text)
            if not match:
                raise diagnosis.not_smtp(self.ctx, text)
            code = int(match.group(1))
            parts.append(line[4:].strip(b" \t\r\n"))
            if match.group(2) != "-":
                break
            if len(parts) >= _MAX_REPLY_LINES:
                raise diagnosis.endless_reply(self.ctx, f"more than {_MAX_REPLY_LINES} lines")
        return code, b"\n".join(parts)

    def command(self, phase: str, line: str, *, shown: str | None = None) -> tuple[int, bytes]:
        """Send one command line and read the reply. `shown` replaces the line in the transcript."""
        self.phase = phase
        self._shown = shown
        self.putcmd(line)
        return self.getreply()

    def _refusal(self, phase: str, code: int, msg: bytes) -> SessionError:
        self.polite_quit = code != 421
        return diagnosis.reply_failure(self.ctx, phase, code, _text(msg))

    # ------------------------------------------------------------ SMTP steps

    def ehlo_name(self) -> str:
        if self.opts.ehlo_name:
            return self.opts.ehlo_name
        name = socket.gethostname()
        if "." in name and _HOST_NAME.fullmatch(name):
            return name
        # A bare machine name is not a valid EHLO argument; an address literal always is.
        local = self.sock.getsockname()[0] if self.sock else "127.0.0.1"
        return f"[IPv6:{local}]" if ":" in local else f"[{local}]"

    def hello(self) -> None:
        self.phase = "ehlo"
        name = self.ehlo_name()
        code, msg = self.ehlo(name)
        if code == 250:
            return
        if 400 <= code < 500:
            raise self._refusal("ehlo", code, msg)
        code, msg = self.command("ehlo", f"HELO {name}")
        if code != 250:
            raise self._refusal("ehlo", code, msg)
        self.helo_resp = msg

    def capabilities(self) -> tuple[str, ...]:
        if not self.ehlo_resp:
            return ()
        lines = self.ehlo_resp.decode("latin-1").split("\n")[1:]
        return tuple(line.strip() for line in lines if line.strip())

    def offered_mechanisms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.esmtp_features.get("auth", "").upper().split()))

    def authenticate(self, username: str, password: str) -> str:
        """Log in with the first allowed mechanism the server offers; returns its name.

        `password` is the OAuth2 access token when the policy's login method is OAuth2 (its
        mechanisms are then XOAUTH2 and OAUTHBEARER only)."""
        self.phase = "auth"
        offered = self.offered_mechanisms()
        if not offered:
            raise diagnosis.no_login_offered(self.ctx, self.tls_active, self.has_extn("starttls"))
        allowed = self.opts.mechanisms
        candidates = [m for m in allowed if m in offered]
        if not candidates:
            raise diagnosis.no_common_mechanism(self.ctx, allowed, offered)
        if not self.tls_active:
            self.refuse_unencrypted_login()
            loopback = is_loopback_address(self.peer_address)
            self.transcript.note("logging in over an unencrypted connection"
                                 + (" (loopback)" if loopback else ": allowed by "
                                    "smtp-desktop.allow-unencrypted-login"))
            # Loopback never leaves this computer (as in Gitea); anything else deserves a warning.
            log.log(logging.INFO if loopback else logging.WARNING,
                    "logging in to %s as %s without TLS", self.opts.host, username)
        for index, mechanism in enumerate(candidates):
            code, msg = self._auth_exchange(mechanism, username, password)
            if code == 235:
                self.transcript.note(f"logged in as {username} with {mechanism}")
                return mechanism
            if code in (502, 504) and index + 1 < len(candidates):
                continue  # advertised but not really supported: try the next one
            if self.opts.oauth2:
                self.polite_quit = code != 421
                raise diagnosis.token_refused(self.ctx, code, _text(msg),
                                              getattr(self.sasl, "error", None))
            raise self._refusal("auth", code, msg)
        raise AssertionError("unreachable")  # pragma: no cover

    def refuse_unencrypted_login(self) -> None:
        """Raise, before any AUTH, when credentials would go unencrypted to a peer that is not
        this computer (decided on the address connected to) and the user has not opted in."""
        if self.tls_active or self.opts.may_log_in_unencrypted(self.peer_address):
            return
        secret = "access token" if self.opts.oauth2 else "password"
        self.transcript.note(f"not logging in: the connection is not encrypted and "
                             f"{format_server(self.peer_address, self.opts.port)} is not this "
                             f"computer; the {secret} was not sent")
        self.polite_quit = True
        raise diagnosis.unencrypted_login_refused(self.ctx, self.opts.starttls, secret)

    def _auth_exchange(self, name: str, user: str, secret: str) -> tuple[int, bytes]:
        """One AUTH exchange with mechanism `name`; every payload is shown as <redacted>."""
        from smtp_desktop.mail import sasl

        mechanism = sasl.mechanism(name, user, secret, self.opts.server_name, self.opts.port)
        self.sasl = mechanism
        initial = mechanism.initial_response()
        if initial is None:
            code, msg = self.command("auth", f"AUTH {name}")
        else:
            code, msg = self.command("auth", f"AUTH {name} {sasl.b64(initial)}",
                                     shown=f"AUTH {name} {REDACTED}")
        try:
            while code == 334:
                code, msg = self.command("auth", sasl.b64(mechanism.respond(msg)), shown=REDACTED)
                if mechanism.error is not None:
                    self.transcript.note(f"{name} {sasl.ERROR_CHALLENGE}: {mechanism.error.describe()}")
        except sasl.ChallengeNotBase64 as exc:
            raise diagnosis.endless_reply(self.ctx, str(exc)) from None
        except sasl.MechanismError as exc:
            self.command("auth", "*")  # the server wants more than the mechanism defines: abort
            raise diagnosis.failure(Category.PROTOCOL, str(exc),
                                    "Try another mechanism in mail.smtp.auth.mechanisms.") from None
        return code, msg

    def transact(self, envelope: Envelope) -> str:
        """MAIL, RCPT for each recipient, DATA; returns the server's final reply."""
        code, msg = self.command("mail", f"MAIL FROM:<{envelope.sender}>")
        if code != 250:
            raise self._refusal("mail", code, msg)
        for recipient in envelope.recipients:
            code, msg = self.command("rcpt", f"RCPT TO:<{recipient}>")
            if code not in (250, 251):
                raise self._refusal("rcpt", code, msg)
        code, msg = self.command("data", "DATA")
        if code != 354:
            raise self._refusal("data", code, msg)
        self.phase = "message"
        body = re.sub(rb"(?m)^\.", b"..", envelope.body)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self._body_pending = True
        self.send(body + b".\r\n")
        code, msg = self.getreply()
        if code != 250:
            raise self._refusal("message", code, msg)
        return f"{code} {_text(msg)}".strip()

    def quit_quietly(self) -> None:
        if self.sock is None:
            return
        with contextlib.suppress(MailError, OSError):
            self.command("quit", "QUIT")


# ---------------------------------------------------------------- the session


def run(opts: ConnectionOptions, token: CancelToken, transcript: Transcript, report: Report, *,
        username: str, password: str | None, login: bool,
        envelope: Envelope | None = None) -> None:
    """Connect, secure, log in when `login`, send `envelope` when given, then QUIT.

    Fills `report` as it goes; raises a MailError subclass on any failure.
    """
    client = Client(opts, token, transcript)
    try:
        try:
            _converse(client, report, username=username, password=password, login=login,
                      envelope=envelope)
        except CertificateRejected as rejected:
            client.close()
            info = _describe_certificate(opts, token, transcript)
            report.certificate = info
            raise diagnosis.certificate_failure(client.ctx, rejected.verify_code,
                                                rejected.verify_message, info) from None
        except SessionError:
            if client.polite_quit:
                client.quit_quietly()
            raise
    finally:
        client.close()


def _converse(client: Client, report: Report, *, username: str, password: str | None, login: bool,
              envelope: Envelope | None) -> None:
    opts = client.opts
    client.open()
    client.hello()
    report.capabilities = client.capabilities()
    if opts.implicit_tls:
        report.security = "ssl"
    else:
        offered = client.has_extn("starttls")
        if opts.starttls and offered:
            client.starttls()
            client.hello()
            report.security = "starttls"
        elif opts.starttls_required:
            raise diagnosis.starttls_missing(client.ctx)
        else:
            report.security = "none"
            client.transcript.note(
                "STARTTLS offered but turned off by mail.smtp.starttls.enable = false" if offered
                else "the server does not offer STARTTLS; continuing without encryption")
    report.tls = client.tls
    report.certificate = client.certificate
    report.capabilities = client.capabilities()
    report.auth_mechanisms = client.offered_mechanisms()
    if login and password:
        client.refuse_unencrypted_login()
        try:
            client.authenticate(username, password)
        except SessionError as exc:
            if exc.category in (Category.AUTH, Category.UNAVAILABLE):
                report.login = False
            raise
        report.login = True
    if envelope is not None:
        report.reply = client.transact(envelope)
    client.quit_quietly()


def _describe_certificate(opts: ConnectionOptions, token: CancelToken,
                          transcript: Transcript) -> CertificateInfo | None:
    """Reconnect without verification only to read the certificate that failed verification."""
    token.raise_if_cancelled()
    transcript.note("reconnecting without verification only to describe the certificate")
    quiet = Transcript()
    client = Client(opts, token, quiet, verify=False)
    try:
        client.open()
        if not opts.implicit_tls:
            client.hello()
            client.starttls()
        cert = client.certificate
        if cert:
            transcript.note(f"certificate subject {cert.subject}; issuer {cert.issuer}; "
                            f"expires {cert.not_after}; names {', '.join(cert.names) or '-'}")
        return cert
    except MailError:
        token.raise_if_cancelled()
        transcript.note("the certificate could not be read")
        return None
    finally:
        client.quit_quietly()
        client.close()
