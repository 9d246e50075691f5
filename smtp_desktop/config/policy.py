"""The one reading of the JavaMail keys: settings in, the effective connection policy out.

The transport, validation, the consistency checks and the security summary all call
`connection_policy`, so they cannot disagree on what a configuration does:
  * mail.smtp.ssl.enable true: implicit TLS from the first byte;
  * otherwise STARTTLS is used when offered unless mail.smtp.starttls.enable is false;
    mail.smtp.starttls.required true makes it mandatory and implies enable (JavaMail's rule);
  * the certificate is verified unless mail.smtp.ssl.trust is '*' or names the host;
    mail.smtp.ssl.checkserveridentity false turns off only the host-name check;
  * the login mechanisms are those of the login method: PLAIN, LOGIN, CRAM-MD5 with a password,
    XOAUTH2 and OAUTHBEARER with OAuth2 (the default there); one of the other kind is invalid;
  * credentials (a password or a token) never go over an unencrypted connection to a peer
    that is not loopback, unless smtp-desktop.allow-unencrypted-login is true. Loopback is
    decided on the address actually connected to (`is_loopback_address`); before connecting,
    only an IP literal or the name `localhost` tells (`host_is_loopback`).

Host names are compared lowercased and without one trailing dot (`normalize_host`). The
policy is computed from unvalidated settings too (the window summarises a draft): values that
do not parse fall back to the key's default, unknown entries are ignored.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import dataclass

from smtp_desktop.config.keys import (
    ALLOW_UNENCRYPTED_LOGIN,
    BY_NAME,
    IMPLEMENTED_MECHANISMS,
    PASSWORD_MECHANISMS,
    TLS_VERSIONS,
    TOKEN_MECHANISMS,
)
from smtp_desktop.config.model import OAuth2Provider, SmtpSettings

SSL_ENABLE = "mail.smtp.ssl.enable"
STARTTLS_ENABLE = "mail.smtp.starttls.enable"
STARTTLS_REQUIRED = "mail.smtp.starttls.required"
SSL_TRUST = "mail.smtp.ssl.trust"
CHECK_SERVER_IDENTITY = "mail.smtp.ssl.checkserveridentity"
MECHANISMS = "mail.smtp.auth.mechanisms"

_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")


class TlsMode(str, enum.Enum):
    """How the connection is encrypted; the values are the Outcome's `security` strings."""

    IMPLICIT = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


def normalize_host(host: str) -> str:
    """`host` as the policy compares it: trimmed, unbracketed, lowercased, one trailing dot less."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    name = name.lower()
    return name[:-1] if name.endswith(".") else name


def is_loopback_address(address: str) -> bool:
    """Whether the IP `address` is this computer: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104.

    The IPv4-mapped form is decided here, by hand: `ipaddress` calls it loopback from Python
    3.13 on but not before. A zone ("fe80::1%eth0") is allowed; anything else is False.
    """
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped in _LOOPBACK_V4
        return ip == ipaddress.IPv6Address("::1")
    return ip in _LOOPBACK_V4


def host_is_loopback(host: str) -> bool | None:
    """Whether `host` is this computer as far as its spelling tells: True for a loopback IP and
    for `localhost`, False for any other IP, None for a name (only connecting tells)."""
    name = normalize_host(host)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True if name == "localhost" else None
    return is_loopback_address(name)


@dataclass(frozen=True)
class ConnectionPolicy:
    """What the keys mean for one connection: TLS, trust, login and timeouts."""

    host: str
    port: int
    username: str
    auth: bool
    tls_mode: TlsMode  # what is configured; STARTTLS means "when offered" unless required
    starttls_required: bool
    starttls_requested: bool  # the STARTTLS keys ask for it (true enable or required)
    trust_without_verification: bool
    check_server_identity: bool
    min_tls: str | None
    max_tls: str | None
    mechanisms: tuple[str, ...]  # implemented ones for the login method, in order, after the
    # *.disable keys
    unimplemented_mechanisms: tuple[str, ...]  # listed but not implemented: skipped
    foreign_mechanisms: tuple[str, ...]  # implemented, but for the other login method: invalid
    oauth2: bool  # the login sends an OAuth2 access token, not a password
    allow_unencrypted_login: bool
    connect_timeout: float  # seconds
    read_timeout: float
    write_timeout: float

    @property
    def implicit_tls(self) -> bool:
        return self.tls_mode is TlsMode.IMPLICIT

    @property
    def starttls(self) -> bool:
        """STARTTLS is used when the server offers it."""
        return self.tls_mode is TlsMode.STARTTLS

    @property
    def security(self) -> str:
        """What is configured: "ssl", "starttls" or "none"."""
        return self.tls_mode.value

    @property
    def always_encrypted(self) -> bool:
        """Every byte after the greeting (implicit TLS: every byte) is encrypted, or it fails."""
        return self.implicit_tls or self.starttls_required

    @property
    def verifies_certificate(self) -> bool:
        return not self.trust_without_verification

    @property
    def checks_host_name(self) -> bool:
        return self.verifies_certificate and self.check_server_identity

    @property
    def server_name(self) -> str:
        """The name the certificate is checked against (and sent as SNI): the host normalized,
        since OpenSSL rejects "smtp.example.com." for a certificate naming smtp.example.com."""
        return normalize_host(self.host)

    @property
    def host_loopback(self) -> bool | None:
        """Whether the server is this computer, as far as the host's spelling tells."""
        return host_is_loopback(self.host)

    def may_log_in_unencrypted(self, peer_address: str) -> bool:
        """Whether credentials may go over an unencrypted connection to `peer_address`, the IP
        actually connected to: only to loopback, or when the user opted in."""
        return self.allow_unencrypted_login or is_loopback_address(peer_address)


def connection_policy(settings: SmtpSettings) -> ConnectionPolicy:
    """The effective connection policy of `settings`; never raises (see the module docstring).

    Settings are immutable, so repeated calls share one result.
    """
    return _policy(settings, type(settings.port))


@functools.lru_cache(maxsize=32)
def _policy(settings: SmtpSettings, _port_type: type) -> ConnectionPolicy:
    flag = settings.flag
    required = flag(STARTTLS_REQUIRED)
    if flag(SSL_ENABLE):
        mode = TlsMode.IMPLICIT
    elif flag(STARTTLS_ENABLE, True) or required:  # absent means yes; required implies enable
        mode = TlsMode.STARTTLS
    else:
        mode = TlsMode.NONE
    trust = {normalize_host(token) for token in (settings.key(SSL_TRUST) or "").split()}
    protocols = [v for v in TLS_VERSIONS if v in (settings.key("mail.smtp.ssl.protocols") or "").split()]
    oauth2 = settings.uses_oauth2
    own_kind = TOKEN_MECHANISMS if oauth2 else PASSWORD_MECHANISMS
    listed = ((settings.key(MECHANISMS) or "").strip()
              or (default_token_mechanisms(settings.oauth2.provider) if oauth2
                  else BY_NAME[MECHANISMS].default)).upper().split()
    listed = list(dict.fromkeys(listed))
    disabled = {name for name, key in (("LOGIN", "mail.smtp.auth.login.disable"),
                                       ("PLAIN", "mail.smtp.auth.plain.disable")) if flag(key)}
    return ConnectionPolicy(
        host=settings.host,
        port=settings.port,
        username=settings.username,
        auth=settings.auth_required,
        tls_mode=mode,
        starttls_required=required and mode is TlsMode.STARTTLS,
        starttls_requested=flag(STARTTLS_ENABLE) or required,
        trust_without_verification="*" in trust or normalize_host(settings.host) in trust,
        check_server_identity=flag(CHECK_SERVER_IDENTITY, True),
        min_tls=protocols[0] if protocols else None,
        max_tls=protocols[-1] if protocols else None,
        mechanisms=tuple(m for m in listed if m in own_kind and m not in disabled),
        unimplemented_mechanisms=tuple(m for m in listed if m not in IMPLEMENTED_MECHANISMS),
        foreign_mechanisms=tuple(m for m in listed if m in IMPLEMENTED_MECHANISMS
                                 and m not in own_kind),
        oauth2=oauth2,
        allow_unencrypted_login=flag(ALLOW_UNENCRYPTED_LOGIN),
        connect_timeout=_seconds(settings, "mail.smtp.connectiontimeout"),
        read_timeout=_seconds(settings, "mail.smtp.timeout"),
        write_timeout=_seconds(settings, "mail.smtp.writetimeout"),
    )


def default_token_mechanisms(provider: OAuth2Provider) -> str:
    """The OAuth2 mechanisms tried when mail.smtp.auth.mechanisms is not set: XOAUTH2 first for
    Microsoft and Google (what they document), the standard OAUTHBEARER first otherwise."""
    if provider is OAuth2Provider.CUSTOM:
        return "OAUTHBEARER XOAUTH2"
    return "XOAUTH2 OAUTHBEARER"


def _seconds(settings: SmtpSettings, name: str) -> float:
    """A milliseconds key in seconds; its default when absent, empty or not a number."""
    text = (settings.key(name) or "").strip()
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        text = BY_NAME[name].default
    return int(text) / 1000.0
