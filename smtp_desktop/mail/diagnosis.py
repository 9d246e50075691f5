"""Map what went wrong to a category, a one-sentence explanation and a concrete next step.

Pure functions over plain values (reply codes and texts, errno values, OpenSSL reasons and
verify codes), so each rule can be tested without a network.
"""

from __future__ import annotations

import errno
import re
import socket
from dataclasses import dataclass

from smtp_desktop.mail.certificates import CertificateInfo
from smtp_desktop.mail.errors import Category, SessionError

APP_PASSWORD_HELP = "see the help pane on app passwords"

# The default explanation and next step for each category, used when nothing more specific is
# known (and by callers reporting keyring, provisioning or disabled problems).
ADVICE: dict[Category, tuple[str, str]] = {
    Category.DNS: ("The server's host name could not be found.",
                   "Check the spelling of the host and that this computer is online."),
    Category.REFUSED: ("The server refused the connection.",
                       "Check the port (587 for STARTTLS, 465 for SSL) and that the server runs."),
    Category.NETWORK: ("The server cannot be reached from this computer.",
                       "Check the network connection, VPN or firewall."),
    Category.TIMEOUT: ("The server did not answer in time.",
                       "Check the host and port, then try again or raise the timeouts."),
    Category.TLS: ("The secure (TLS) connection could not be set up.",
                   "Check mail.smtp.ssl.enable and mail.smtp.starttls.enable against the port."),
    Category.CERTIFICATE: ("The server's certificate could not be verified.",
                           "If you trust this server, add mail.smtp.ssl.trust with its host name "
                           "rather than turning certificate checks off."),
    Category.AUTH: ("The server did not accept the login.",
                    "Check the username and password; Gmail and Outlook need an app password: "
                    f"{APP_PASSWORD_HELP}."),
    Category.SENDER_REJECTED: ("The server does not let this account send as the From address.",
                               "Use the account's own address (or a verified sender) as "
                               "mail.from / mail.smtp.from."),
    Category.RECIPIENT_REJECTED: ("The server rejected the recipient address.",
                                  "Check the recipient address for typos."),
    Category.UNAVAILABLE: ("The server is temporarily unavailable.",
                           "Try again later; if it persists, ask the server's administrator."),
    Category.REJECTED: ("The server rejected the request.",
                        "Read the server's reply in the transcript; it usually says why."),
    Category.CONNECTION_LOST: ("The server closed the connection unexpectedly.",
                               "Try again; if it keeps happening, check the security settings "
                               "against the port."),
    Category.PROTOCOL: ("The server did not answer like an SMTP server.",
                        "Check the host and port: they should point at an SMTP server."),
    Category.INVALID_INPUT: ("Some of the input is not valid.",
                             "Correct the highlighted input, then try again."),
    Category.KEYRING: ("The password could not be read from the system keyring.",
                       "Unlock the keyring (or install one), then enter the password again."),
    Category.NOT_PROVISIONED: ("The default email service has not been set up on this computer.",
                               "Ask your administrator to provision the default service, or "
                               "configure your own SMTP server."),
    Category.DISABLED: ("Sending email is turned off.",
                        "Turn on SMTP in the settings, save, then try again."),
    Category.CANCELLED: ("The attempt was cancelled.", "Start it again when you are ready."),
}


@dataclass(frozen=True)
class Context:
    """What a diagnosis may need to know about the attempt."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = True
    read_timeout: float = 10.0
    connect_timeout: float = 10.0
    write_timeout: float = 20.0
    local_address: str | None = None
    tls_protocols: str | None = None  # mail.smtp.ssl.protocols when set, e.g. "TLSv1.3"

    @property
    def server(self) -> str:
        from smtp_desktop.mail.options import format_server

        return format_server(self.host, self.port)


def failure(category: Category, message: str | None = None, advice: str | None = None) -> SessionError:
    default_message, default_advice = ADVICE[category]
    if message and message.endswith("..") and not message.endswith("..."):
        message = message[:-1]  # a server reply that ends in "." ("Authentication failed.")
    return SessionError(message or default_message, category=category,
                        advice=advice if advice is not None else default_advice)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reply(code: int, text: str) -> str:
    return _one_line(f"{code} {text}") if code > 0 else _one_line(text)


# ---------------------------------------------------------------- connecting


def dns_failure(ctx: Context, error: socket.gaierror) -> SessionError:
    temporary = error.errno in (getattr(socket, "EAI_AGAIN", -3),)
    if temporary:
        return failure(Category.DNS,
                       f"The name server did not answer for '{ctx.host}' ({error.strerror}).",
                       "Check that this computer is online, then try again.")
    return failure(Category.DNS, f"The host name '{ctx.host}' could not be found.",
                   "Check the spelling of the host (e.g. smtp.gmail.com) and that this computer "
                   "is online.")


def _where(ctx: Context, address: str) -> str:
    return ctx.server if address == ctx.server else f"{ctx.server} ({address})"


def connect_failure(ctx: Context, error: OSError, address: str, ipv6: bool) -> SessionError:
    """A socket error while opening the TCP connection to `address`."""
    reason = error.strerror or str(error)
    where = _where(ctx, address)
    if isinstance(error, ConnectionRefusedError):
        return failure(Category.REFUSED, f"{where} refused the connection.",
                       "Check the port (usually 587 for STARTTLS or 465 for SSL) and that the "
                       "server is running; a firewall may also refuse it.")
    if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                       errno.ENETDOWN, errno.EAFNOSUPPORT, errno.EHOSTDOWN):
        advice = ("The server's IPv6 address has no route from here: add the key "
                  "mail.smtp.localaddress = 0.0.0.0 to connect over IPv4." if ipv6 else
                  "Check the network connection, VPN or firewall.")
        return failure(Category.NETWORK, f"{where} cannot be reached: {reason}.", advice)
    if isinstance(error, ConnectionResetError):
        return failure(Category.CONNECTION_LOST, f"{where} reset the connection while it was opening.")
    return failure(Category.NETWORK, f"Could not connect to {where}: {reason}.")


def connect_timeout(ctx: Context, address: str, ipv6: bool) -> SessionError:
    advice = ("A firewall may block this port; check the host and port (587 or 465), or raise "
              "mail.smtp.connectiontimeout.")
    if ipv6:
        advice = ("The server's IPv6 address may have no route from here: add the key "
                  "mail.smtp.localaddress = 0.0.0.0 to connect over IPv4. " + advice)
    return failure(Category.TIMEOUT,
                   f"Could not connect to {_where(ctx, address)} within "
                   f"{_seconds(ctx.connect_timeout)} (mail.smtp.connectiontimeout).", advice)


def bind_failure(ctx: Context, error: OSError) -> SessionError:
    return failure(Category.NETWORK,
                   f"Could not use the local address {ctx.local_address} "
                   f"(mail.smtp.localaddress): {error.strerror or error}.",
                   "Use an address of this computer, such as 0.0.0.0 to force IPv4, or remove "
                   "mail.smtp.localaddress.")


def no_address_of_family(ctx: Context) -> SessionError:
    return failure(Category.NETWORK,
                   f"'{ctx.host}' has no address of the same kind (IPv4/IPv6) as "
                   f"mail.smtp.localaddress {ctx.local_address}.",
                   "Change or remove mail.smtp.localaddress.")


# ---------------------------------------------------------------- while talking


def reply_timeout(ctx: Context, phase: str) -> SessionError:
    waited = _seconds(ctx.read_timeout)
    if phase == "greeting" and not ctx.implicit_tls:
        if ctx.port == 465:
            return failure(Category.TLS,
                           f"{ctx.server} sent no greeting within {waited}; port 465 expects "
                           "implicit TLS from the first byte.",
                           "Set mail.smtp.ssl.enable = true for port 465, or use port 587 with "
                           "STARTTLS.")
        return failure(Category.TIMEOUT,
                       f"{ctx.server} accepted the connection but sent no greeting within "
                       f"{waited} (mail.smtp.timeout).",
                       "If this port expects implicit TLS (like 465), set mail.smtp.ssl.enable = "
                       "true; otherwise try again later or raise mail.smtp.timeout.")
    if phase == "handshake":
        return failure(Category.TIMEOUT,
                       f"The TLS handshake with {ctx.server} did not finish within {waited}.",
                       "Check that this port speaks TLS, then try again or raise mail.smtp.timeout.")
    return failure(Category.TIMEOUT,
                   f"{ctx.server} did not reply within {waited} (mail.smtp.timeout) "
                   f"while waiting for the {phase} reply.",
                   "Try again later, or raise mail.smtp.timeout.")


def write_timeout(ctx: Context, phase: str) -> SessionError:
    return failure(Category.TIMEOUT,
                   f"Sending the {phase} to {ctx.server} did not finish within "
                   f"{_seconds(ctx.write_timeout)} (mail.smtp.writetimeout).",
                   "Check the network connection, or raise mail.smtp.writetimeout.")


def connection_lost(ctx: Context, phase: str, detail: str | None = None) -> SessionError:
    why = f" ({detail})" if detail else ""
    if phase == "greeting":
        return failure(Category.CONNECTION_LOST,
                       f"{ctx.server} closed the connection before its greeting{why}.",
                       "The server may limit connections or block this computer; check the "
                       "security settings against the port and try again later.")
    if phase in ("message", "data"):
        return failure(Category.CONNECTION_LOST,
                       f"{ctx.server} dropped the connection while the message was being sent"
                       f"{why}; it was probably not delivered.",
                       "Try again; if it keeps happening the server may limit message size "
                       "or rate.")
    return failure(Category.CONNECTION_LOST,
                   f"{ctx.server} closed the connection during {phase}{why}.")


def not_smtp(ctx: Context, first_line: str) -> SessionError:
    shown = _one_line(first_line)[:120]
    if shown.upper().startswith("HTTP/"):
        return failure(Category.PROTOCOL,
                       f"{ctx.server} answered '{shown}', which is a web server, not SMTP.",
                       "Check the host and port: use the mail server's SMTP port (587 or 465).")
    return failure(Category.PROTOCOL, f"{ctx.server} answered '{shown}', which is not SMTP.",
                   "Check the host and port: they should point at an SMTP server.")


def endless_reply(ctx: Context, why: str) -> SessionError:
    return failure(Category.PROTOCOL, f"{ctx.server} sent a malformed reply: {why}.",
                   "Check the host and port: they should point at an SMTP server.")


# ---------------------------------------------------------------- TLS


_PLAINTEXT_REASONS = {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST",
                      "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"}
_VERSION_REASONS = {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE",
                    "VERSION_TOO_LOW", "VERSION_TOO_HIGH", "WRONG_SSL_VERSION"}


_SSL_NOISE = re.compile(r"^\[SSL(?:: [A-Z0-9_]+)?\]\s*|\s*\(_ssl\.c:\d+\)$")


def tls_failure(ctx: Context, reason: str | None, text: str) -> SessionError:
    """A TLS handshake failure other than certificate verification."""
    key = (reason or "").upper()
    text = _SSL_NOISE.sub("", text).strip() or key.replace("_", " ").lower() or "unknown error"
    lowered = text.lower()
    if key in _PLAINTEXT_REASONS or "wrong version number" in lowered \
            or "unrecognized ssl message" in lowered:
        if ctx.implicit_tls:
            return failure(Category.TLS,
                           f"{ctx.server} does not speak implicit TLS ({text}); it probably "
                           "expects STARTTLS.",
                           "Set mail.smtp.ssl.enable = false and use STARTTLS (usually port "
                           "587), or use the server's SSL port 465.")
        return failure(Category.TLS, f"TLS with {ctx.server} failed after STARTTLS ({text}).",
                       "The server's STARTTLS is broken or intercepted; try port 465 with "
                       "mail.smtp.ssl.enable = true.")
    if key in _VERSION_REASONS or "protocol version" in lowered or "no protocols" in lowered:
        return failure(Category.TLS,
                       f"{ctx.server} and this computer share no TLS version ({text}).",
                       "Adjust or remove mail.smtp.ssl.protocols (e.g. 'TLSv1.2 TLSv1.3').")
    if ctx.tls_protocols:
        # Servers often just hang up on a version they do not support, so say what we pinned.
        return failure(Category.TLS, f"The TLS handshake with {ctx.server} failed: {text}.",
                       f"The server may not support {ctx.tls_protocols}: adjust or remove "
                       "mail.smtp.ssl.protocols.")
    return failure(Category.TLS, f"The TLS handshake with {ctx.server} failed: {text}.",
                   "Check mail.smtp.ssl.enable / mail.smtp.starttls.enable against the port.")


def starttls_missing(ctx: Context) -> SessionError:
    return failure(Category.TLS,
                   f"{ctx.server} does not offer STARTTLS, and mail.smtp.starttls.required is "
                   "true.",
                   "Use the server's encrypted port (465 with mail.smtp.ssl.enable = true, or "
                   "587), or remove mail.smtp.starttls.required if you accept no encryption.")


# OpenSSL X509_V_ERR_* codes we explain.
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21}
_EXPIRED, _NOT_YET_VALID = 10, 9
_NAME_MISMATCH = {62, 64}


def certificate_failure(ctx: Context, verify_code: int | None, verify_message: str,
                        info: CertificateInfo | None) -> SessionError:
    trust_advice = (f"If you trust this server, add the key mail.smtp.ssl.trust = {ctx.host} to "
                    "trust only this host, rather than turning certificate checks off.")
    if verify_code in _NAME_MISMATCH:
        names = ", ".join(info.names) if info and info.names else "other names"
        return failure(Category.CERTIFICATE,
                       f"The server's certificate is valid for {names}, not for {ctx.host}.",
                       "Use a host name the certificate names as the Host; " + trust_advice[0].lower()
                       + trust_advice[1:])
    if verify_code == _EXPIRED:
        when = f" on {info.not_after}" if info else ""
        return failure(Category.CERTIFICATE, f"The server's certificate expired{when}.",
                       "Ask the server's administrator to renew it. " + trust_advice)
    if verify_code == _NOT_YET_VALID:
        when = f" until {info.not_before}" if info else ""
        return failure(Category.CERTIFICATE, f"The server's certificate is not valid yet{when}.",
                       "Check this computer's date and time.")
    if verify_code in _UNKNOWN_ISSUER:
        if verify_code == 18 or (info and info.self_signed):
            subject = f" ({info.subject})" if info and info.subject else ""
            message = (f"The server's certificate is self-signed{subject}, so this computer "
                       "cannot verify it.")
        else:
            issuer = f" ({info.issuer})" if info and info.issuer else ""
            message = (f"The server's certificate comes from an issuer this computer does not "
                       f"trust{issuer}: {verify_message}.")
        return failure(Category.CERTIFICATE, message,
                       trust_advice + " Or install the issuing authority in the system trust store.")
    return failure(Category.CERTIFICATE,
                   f"The server's certificate could not be verified: {verify_message}.",
                   trust_advice)


# ---------------------------------------------------------------- replies


@dataclass(frozen=True)
class KnownReply:
    """A provider's reply recognized by its text, whoever sends it (a real server or a fault
    profile of the local outbox): `pattern` is searched, ignoring case, in "code text"."""

    pattern: re.Pattern[str]
    category: Category
    what: str  # the message, followed by ": <the reply>."
    advice: str
    phases: frozenset[str] = frozenset()  # empty: any phase


def _known(pattern: str, category: Category, what: str, advice: str, *phases: str) -> KnownReply:
    return KnownReply(re.compile(pattern, re.IGNORECASE), category, what, advice, frozenset(phases))


# Checked in order before the generic rules of reply_failure; the first that matches wins.
KNOWN_REPLIES: tuple[KnownReply, ...] = (
    _known(r"\b5\.7\.139\b.*security defaults", Category.AUTH,
           "Microsoft 365 blocks this login through the tenant's security defaults",
           "The tenant administrator must turn off security defaults (or exclude this account "
           "with Conditional Access) and allow SMTP AUTH for the mailbox, or sign in with OAuth2 "
           "instead of a password.", "auth"),
    # 5.7.139 without security defaults: `_microsoft_reply` (it knows the login method).
    _known(r"\b5\.7\.30\b|basic authentication is not supported", Category.AUTH,
           "The provider no longer accepts passwords (Basic authentication) for sending",
           "Sign in with OAuth2 (Modern Auth), or send through a service that accepts an app "
           "password or API key."),
    _known(r"\b5\.7\.9\b|application-specific password", Category.AUTH,
           "The server requires an app password for this account",
           "Use an app password or OAuth2: turn on 2-Step Verification for the account, create an "
           f"app password and enter it instead of your normal password ({APP_PASSWORD_HELP}), or "
           "sign in with OAuth2.", "auth"),
    _known(r"\b5\.7\.4\b|unrecognized authentication type", Category.AUTH,
           "The server does not accept this login mechanism",
           "Allow a mechanism the server offers in mail.smtp.auth.mechanisms (e.g. LOGIN or "
           "PLAIN) or remove the key; a provider that only takes OAuth2 (XOAUTH2) needs an "
           "OAuth2 sign-in.", "auth"),
    _known(r"^4\d\d\b.*grey ?list|^4\d\d\b.*gray ?list", Category.UNAVAILABLE,
           "The server is greylisting (turning away a first attempt on purpose)",
           "Try again in a few minutes; the next attempt from the same address is usually "
           "accepted (mail servers retry on their own)."),
    _known(r"^4\d\d\b.*(unusual rate|rate limit|too many messages|sending limit)",
           Category.UNAVAILABLE, "The provider is limiting how much mail you send",
           "Wait before sending again (often an hour, sometimes a day), send fewer messages at "
           "once, and check the provider's sending limits."),
    _known(r"^5\d\d\b.*(\b5\.1\.1\b|does not exist|user unknown|no such user)",
           Category.RECIPIENT_REJECTED, "The recipient's mailbox does not exist",
           "Check the recipient address for typos; the mailbox may also have been deleted.",
           "rcpt"),
    _known(r"^5\d\d\b.*(\b5\.3\.4\b|size limit|message too big|exceeds? .*size)",
           Category.REJECTED, "The message is larger than the server accepts",
           "Send a smaller message: fewer or smaller attachments, or a link to a shared file "
           "instead (many providers stop at 20 to 35 MB).", "mail", "message"),
)


def known_reply(phase: str, code: int, text: str) -> KnownReply | None:
    """The first of KNOWN_REPLIES matching this reply during `phase`, or None."""
    reply = _reply(code, text)
    for known in KNOWN_REPLIES:
        if (not known.phases or phase in known.phases) and known.pattern.search(reply):
            return known
    return None


_SENDER_CLUES = ("send as", "sendas", "send mail as", "sender identity", "verified sender",
                 "not owned", "sender address rejected", "from address", "not permitted to send",
                 "not authorized to send", "unauthenticated sender", "sender not allowed",
                 "sender verify", "sender rejected")


def reply_failure(ctx: Context, phase: str, code: int, text: str) -> SessionError:
    """The server answered `code text` where success was expected during `phase`.

    Phases: greeting, ehlo, starttls, auth, mail, rcpt, data, message (the reply after the body).
    """
    reply = _reply(code, text)
    lowered = text.lower()
    if code == 530 and "starttls" in lowered:
        return failure(Category.TLS, f"The server requires STARTTLS first: {reply}.",
                       "Set mail.smtp.starttls.enable = true (or remove the key to use the default).")
    if code == 538 or "encryption required" in lowered:
        return failure(Category.TLS, f"The server requires encryption for this: {reply}.",
                       "Turn on STARTTLS (mail.smtp.starttls.enable = true) or SSL "
                       "(mail.smtp.ssl.enable = true with port 465).")
    known = known_reply(phase, code, text)
    if known is not None:
        return failure(known.category, f"{known.what}: {reply}.", known.advice)
    if phase == "auth":
        return _auth_reply(code, reply, lowered)
    if code == 530 or "authentication required" in lowered:
        return failure(Category.AUTH, f"The server requires a login: {reply}.",
                       "Set mail.smtp.auth = true and enter the username and password.")
    if phase == "starttls":
        return failure(Category.TLS, f"The server refused STARTTLS: {reply}.",
                       "Try again later, or use port 465 with mail.smtp.ssl.enable = true.")
    if 400 <= code < 500:
        if phase == "greeting" or code == 421:
            message = f"{ctx.server} is not accepting mail right now: {reply}."
        else:
            message = f"The server could not take the request right now: {reply}."
        return failure(Category.UNAVAILABLE, message,
                       "Try again later; if it keeps happening the server may be limiting "
                       "connections or messages from you.")
    if 500 <= code < 600:
        if phase == "mail" or (phase in ("rcpt", "data", "message")
                               and any(clue in lowered for clue in _SENDER_CLUES)):
            send_as = ", or ask the administrator for permission to send as it" \
                if "send as" in lowered else ""
            return failure(Category.SENDER_REJECTED,
                           f"The server does not accept this sender: {reply}.",
                           "Use the account's own address (or a sender verified with the "
                           f"provider) in mail.from and mail.smtp.from{send_as}.")
        if phase == "rcpt":
            return failure(Category.RECIPIENT_REJECTED,
                           f"The server rejected the recipient: {reply}.",
                           "Check the recipient address for typos; some servers only deliver "
                           "to their own domains.")
        if phase == "greeting":
            return failure(Category.REJECTED, f"{ctx.server} refuses this connection: {reply}.",
                           "The server may block this computer's address; ask its administrator.")
        if phase == "message":
            return failure(Category.REJECTED, f"The server rejected the message: {reply}.",
                           "Read the server's reply; it usually says what to change.")
        return failure(Category.REJECTED, f"The server rejected the {phase} command: {reply}.")
    return failure(Category.PROTOCOL, f"Unexpected reply to {phase}: {reply}.",
                   "Check the host and port: they should point at an SMTP server.")


# Microsoft's replies when SMTP AUTH is off (learn.microsoft.com, "Enable or disable SMTP AUTH
# in Exchange Online", and message MC786329; as of December 2026).
SMTP_AUTH_ADMIN = ("The tenant administrator must allow SMTP AUTH (Authenticated SMTP) for this "
                   "mailbox: Microsoft 365 admin center > Users > the user > Mail > Manage email "
                   "apps > Authenticated SMTP, or Set-CASMailbox -Identity <mailbox> "
                   "-SmtpClientAuthenticationDisabled $false (tenant-wide: Set-TransportConfig "
                   "-SmtpClientAuthenticationDisabled $false)")


def _microsoft_reply(reply: str, lowered: str, oauth2: bool) -> SessionError | None:
    """Exchange Online's own refusals, in plain words; None for other replies."""
    if "5.7.139" in lowered:
        if "basic authentication is disabled" in lowered and not oauth2:
            return failure(Category.AUTH,
                           f"Microsoft 365 no longer takes passwords for SMTP here: {reply}.",
                           "Choose OAuth2 as the login method and sign in (see the help pane on "
                           "registering a client with Microsoft Entra).")
        return failure(Category.AUTH,
                       f"SMTP AUTH is turned off for this Microsoft 365 tenant or mailbox "
                       f"(SmtpClientAuthentication): {reply}.",
                       SMTP_AUTH_ADMIN + ("." if oauth2 else
                                          "; or sign in with OAuth2 instead of a password."))
    if "5.7.3" in lowered and "authentication unsuccessful" in lowered:
        if oauth2:
            return failure(Category.AUTH, f"Microsoft did not accept the access token: {reply}.",
                           "Check that the username is the account you signed in with and "
                           "that the app has the SMTP.Send permission; then sign in again.")
        return failure(Category.AUTH, f"Microsoft did not accept the username or password: "
                       f"{reply}.", "Check the password; accounts with multi-factor sign-in "
                       f"need an app password ({APP_PASSWORD_HELP}) or OAuth2 (choose it as "
                       "the login method and sign in).")
    return None


def token_refused(ctx: Context, code: int, text: str,
                  challenge: object | None) -> SessionError:
    """The server refused an OAuth2 access token (after an error challenge, when it sent one)."""
    reply = _reply(code, text)
    lowered = text.lower()
    if (known := _microsoft_reply(reply, lowered, oauth2=True)) is not None:
        return known
    if 400 <= code < 500:
        return failure(Category.UNAVAILABLE, f"Login is temporarily unavailable: {reply}.",
                       "Try again later.")
    describe = getattr(challenge, "describe", None)
    said = f"{describe()}" if describe else "the server did not accept the access token"
    return failure(Category.AUTH, f"The OAuth2 login failed: {said[0].upper()}{said[1:]} "
                   f"({reply}).",
                   "Sign in again; check that the username is the account you signed in with "
                   "and that the client has the mail scope (Google: https://mail.google.com/, "
                   "Microsoft: SMTP.Send).")


def _auth_reply(code: int, reply: str, lowered: str) -> SessionError:
    if (known := _microsoft_reply(reply, lowered, oauth2=False)) is not None:
        return known
    if "5.7.9" in lowered or "application-specific password" in lowered:
        return failure(Category.AUTH,
                       f"The server requires an app password for this account: {reply}.",
                       "Turn on 2-Step Verification for the account, create an app password and "
                       f"enter it instead of your normal password ({APP_PASSWORD_HELP}), or "
                       "choose OAuth2 as the login method and sign in.")
    if "5.7.14" in lowered or "web browser" in lowered:
        return failure(Category.AUTH, f"The provider wants you to sign in via the web first: {reply}.",
                       "Sign in to the account in a web browser, confirm any security prompt, "
                       f"then try again with an app password: {APP_PASSWORD_HELP}.")
    if code == 535 or "5.7.8" in lowered:
        return failure(Category.AUTH,
                       f"The server did not accept the username or password: {reply}.",
                       "Check the username and password; Gmail, Outlook and Yahoo need an app "
                       f"password, not your normal account password: {APP_PASSWORD_HELP}.")
    if 400 <= code < 500:
        return failure(Category.UNAVAILABLE, f"Login is temporarily unavailable: {reply}.",
                       "Try again later.")
    return failure(Category.AUTH, f"The login failed: {reply}.",
                   f"Check the username, password and mail.smtp.auth.mechanisms; {APP_PASSWORD_HELP}.")


def unencrypted_login_refused(ctx: Context, starttls_enabled: bool,
                              secret: str = "password") -> SessionError:
    """The connection stayed unencrypted and the peer is not this computer: the login (and so
    the password, or the OAuth2 access token: `secret`) was not sent. `starttls_enabled`:
    STARTTLS was wanted but not offered."""
    if starttls_enabled:
        return failure(Category.TLS, f"The server did not offer STARTTLS, so the {secret} was not sent.",
                       "Ask the server's administrator or provider for STARTTLS, or use port 465 "
                       "with mail.smtp.ssl.enable = true.")
    return failure(Category.TLS,
                   f"STARTTLS is turned off (mail.smtp.starttls.enable = false), so the {secret} "
                   "was not sent.",
                   "Set mail.smtp.starttls.enable = true (or remove the key), or use port 465 with "
                   "mail.smtp.ssl.enable = true.")


def no_login_offered(ctx: Context, tls_active: bool, starttls_offered: bool) -> SessionError:
    if not tls_active and starttls_offered:
        return failure(Category.TLS,
                       f"{ctx.server} offers login only after STARTTLS, which is turned off.",
                       "Set mail.smtp.starttls.enable = true (or remove the key).")
    return failure(Category.AUTH, f"{ctx.server} offers no login (AUTH) on this connection.",
                   "If the server needs no login, set mail.smtp.auth = false; if it offers login "
                   "only over TLS, turn on STARTTLS or SSL.")


def no_common_mechanism(ctx: Context, allowed: tuple[str, ...], offered: tuple[str, ...]) -> SessionError:
    return failure(Category.AUTH,
                   f"{ctx.server} offers login by {' '.join(offered) or 'nothing'}, but only "
                   f"{' '.join(allowed) or 'nothing'} is allowed here.",
                   "Adjust mail.smtp.auth.mechanisms, mail.smtp.auth.login.disable or "
                   "mail.smtp.auth.plain.disable.")
