"""The catalogue of JavaMail-style keys: one table used by validation, completion and transport.

Each entry says the key's type, its default (as JavaMail or this app applies it), a one-line
description, and whether this app honours it when it connects.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass


class KeyType(enum.Enum):
    BOOLEAN = "boolean"
    MILLISECONDS = "milliseconds"
    INTEGER = "integer"
    HOST_LIST = "host list"
    PROTOCOL_LIST = "protocol list"
    MECHANISM_LIST = "mechanism list"
    ADDRESS = "email address"
    HOST = "host name"
    TEXT = "text"


@dataclass(frozen=True)
class KeySpec:
    name: str
    type: KeyType
    default: str
    description: str
    used: bool


# The one table of TLS version names, oldest first (the transport maps "TLSv1.2" to
# ssl.TLSVersion.TLSv1_2 by replacing the dot).
TLS_VERSIONS: tuple[str, ...] = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# Login mechanisms the transport implements, and those JavaMail knows that it does not. The
# password ones serve `auth: "password"`, the token ones (SASL, RFC 7628 and Google's XOAUTH2)
# serve `auth: "oauth2"`; config/policy.py keeps each list to its own login method.
PASSWORD_MECHANISMS: tuple[str, ...] = ("PLAIN", "LOGIN", "CRAM-MD5")
TOKEN_MECHANISMS: tuple[str, ...] = ("XOAUTH2", "OAUTHBEARER")
IMPLEMENTED_MECHANISMS: tuple[str, ...] = PASSWORD_MECHANISMS + TOKEN_MECHANISMS
UNIMPLEMENTED_MECHANISMS: tuple[str, ...] = ("NTLM", "DIGEST-MD5")
ALLOW_UNENCRYPTED_LOGIN = "smtp-desktop.allow-unencrypted-login"

CATALOGUE: tuple[KeySpec, ...] = (
    KeySpec("mail.smtp.auth", KeyType.BOOLEAN, "false",
            "Log in to the server with the username and password.", True),
    KeySpec("mail.smtp.auth.mechanisms", KeyType.MECHANISM_LIST, "PLAIN LOGIN",
            "Space-separated login mechanisms to try, in order: PLAIN, LOGIN, CRAM-MD5 with a "
            "password; XOAUTH2, OAUTHBEARER with OAuth2 (default there: both). NTLM and "
            "DIGEST-MD5 are not implemented and are skipped.", True),
    KeySpec("mail.smtp.auth.login.disable", KeyType.BOOLEAN, "false",
            "Never use the AUTH LOGIN mechanism.", True),
    KeySpec("mail.smtp.auth.plain.disable", KeyType.BOOLEAN, "false",
            "Never use the AUTH PLAIN mechanism.", True),
    KeySpec("mail.smtp.starttls.enable", KeyType.BOOLEAN, "true",
            "Upgrade the connection with STARTTLS when the server offers it "
            "(this app's default when absent; with false, a login to a server that is not on "
            "this computer is refused).", True),
    KeySpec("mail.smtp.starttls.required", KeyType.BOOLEAN, "false",
            "Fail when the server does not offer STARTTLS.", True),
    KeySpec("mail.smtp.ssl.enable", KeyType.BOOLEAN, "false",
            "Use implicit TLS from the first byte, as on port 465.", True),
    KeySpec("mail.smtp.ssl.trust", KeyType.HOST_LIST, "",
            "'*' or space-separated hosts whose certificate is trusted without verification.",
            True),
    KeySpec("mail.smtp.ssl.checkserveridentity", KeyType.BOOLEAN, "true",
            "Check that the certificate names the host connected to.", True),
    KeySpec("mail.smtp.ssl.protocols", KeyType.PROTOCOL_LIST, "",
            "Space-separated TLS versions allowed, e.g. 'TLSv1.2 TLSv1.3'.", True),
    KeySpec("mail.smtp.connectiontimeout", KeyType.MILLISECONDS, "10000",
            "Milliseconds to wait for the connection to open.", True),
    KeySpec("mail.smtp.timeout", KeyType.MILLISECONDS, "10000",
            "Milliseconds to wait for each server reply.", True),
    KeySpec("mail.smtp.writetimeout", KeyType.MILLISECONDS, "20000",
            "Milliseconds a single write may take.", True),
    KeySpec(ALLOW_UNENCRYPTED_LOGIN, KeyType.BOOLEAN, "false",
            "Allow logging in over an unencrypted connection to a server that is not on this "
            "computer: the password is then sent in clear text. Off by default.", True),
    KeySpec("mail.from", KeyType.ADDRESS, "",
            "The From address in the message header.", True),
    KeySpec("mail.smtp.from", KeyType.ADDRESS, "",
            "The envelope sender (MAIL FROM); defaults to the From address.", True),
    KeySpec("mail.smtp.localhost", KeyType.HOST, "",
            "The name this computer gives in EHLO.", True),
    KeySpec("mail.smtp.localaddress", KeyType.HOST, "",
            "Local address to bind to, e.g. 0.0.0.0 to force IPv4.", True),
    # Known JavaMail keys that this app does not act on: listed so they are "not used", not "unknown".
    KeySpec("mail.smtp.host", KeyType.HOST, "", "Server host; this app uses the Host field.", False),
    KeySpec("mail.smtp.port", KeyType.INTEGER, "25", "Server port; this app uses the Port field.",
            False),
    KeySpec("mail.smtp.user", KeyType.TEXT, "", "User name; this app uses the Username field.",
            False),
    KeySpec("mail.smtp.localport", KeyType.INTEGER, "", "Local port to bind to.", False),
    KeySpec("mail.smtp.ehlo", KeyType.BOOLEAN, "true", "Say EHLO before HELO.", False),
    KeySpec("mail.smtp.allow8bitmime", KeyType.BOOLEAN, "false", "Use 8BITMIME when offered.",
            False),
    KeySpec("mail.smtp.sendpartial", KeyType.BOOLEAN, "false",
            "Send even when some recipients are rejected.", False),
    KeySpec("mail.smtp.quitwait", KeyType.BOOLEAN, "true", "Wait for the reply to QUIT.", False),
    KeySpec("mail.smtp.reportsuccess", KeyType.BOOLEAN, "false",
            "Report success per recipient as an exception.", False),
    KeySpec("mail.smtp.sasl.enable", KeyType.BOOLEAN, "false", "Use Java SASL for login.", False),
    KeySpec("mail.smtp.sasl.mechanisms", KeyType.TEXT, "", "SASL mechanisms to try.", False),
    KeySpec("mail.smtp.sasl.realm", KeyType.TEXT, "", "SASL realm for DIGEST-MD5.", False),
    KeySpec("mail.smtp.auth.ntlm.domain", KeyType.TEXT, "", "NTLM domain.", False),
    KeySpec("mail.smtp.auth.xoauth2.disable", KeyType.BOOLEAN, "false",
            "Never use AUTH XOAUTH2.", False),
    KeySpec("mail.smtp.ssl.ciphersuites", KeyType.TEXT, "", "Allowed TLS cipher suites.", False),
    KeySpec("mail.smtp.ssl.socketFactory.class", KeyType.TEXT, "", "Java SSL socket factory.",
            False),
    KeySpec("mail.smtp.socketFactory.class", KeyType.TEXT, "", "Java socket factory.", False),
    KeySpec("mail.smtp.socketFactory.port", KeyType.INTEGER, "", "Socket factory port.", False),
    KeySpec("mail.smtp.socketFactory.fallback", KeyType.BOOLEAN, "true",
            "Fall back to a plain socket.", False),
    KeySpec("mail.smtp.proxy.host", KeyType.HOST, "", "HTTP proxy host.", False),
    KeySpec("mail.smtp.proxy.port", KeyType.INTEGER, "", "HTTP proxy port.", False),
    KeySpec("mail.smtp.socks.host", KeyType.HOST, "", "SOCKS proxy host.", False),
    KeySpec("mail.smtp.socks.port", KeyType.INTEGER, "", "SOCKS proxy port.", False),
    KeySpec("mail.smtp.dsn.notify", KeyType.TEXT, "", "Delivery status notification options.",
            False),
    KeySpec("mail.smtp.dsn.ret", KeyType.TEXT, "", "What a DSN returns (FULL or HDRS).", False),
    KeySpec("mail.smtp.mailextension", KeyType.TEXT, "", "Extra text for MAIL FROM.", False),
    KeySpec("mail.smtp.noop.strict", KeyType.BOOLEAN, "true", "Strict NOOP replies.", False),
    KeySpec("mail.smtp.userset", KeyType.BOOLEAN, "false", "Use RSET instead of NOOP.", False),
    KeySpec("mail.debug", KeyType.BOOLEAN, "false", "JavaMail debug output.", False),
    KeySpec("mail.transport.protocol", KeyType.TEXT, "smtp", "Transport protocol name.", False),
)

BY_NAME: dict[str, KeySpec] = {spec.name: spec for spec in CATALOGUE}

DEFAULT_KEYS: tuple[tuple[str, str], ...] = (
    ("mail.smtp.auth", "true"),
    ("mail.smtp.starttls.enable", "true"),
)

_HOST_TOKEN = re.compile(r"^[A-Za-z0-9*._:\-\[\]]+$")
_MAX_MILLIS = 24 * 60 * 60 * 1000


def spec_for(name: str) -> KeySpec | None:
    return BY_NAME.get(name)


def is_used(name: str) -> bool:
    spec = BY_NAME.get(name)
    return bool(spec and spec.used)


def parse_bool(value: str) -> bool:
    """JavaMail's rule: 'true' in any case is true, everything else is false."""
    return value.strip().lower() == "true"


def validate_value(name: str, value: str) -> str | None:
    """Return a message when `value` does not fit the known key `name`, else None."""
    spec = BY_NAME.get(name)
    if spec is None:
        return None
    text = value.strip()
    if spec.type is KeyType.BOOLEAN:
        if text.lower() not in ("true", "false"):
            return f"{name} must be true or false, not '{value}'."
    elif spec.type in (KeyType.MILLISECONDS, KeyType.INTEGER):
        if not (text.isascii() and text.isdigit()):  # "²".isdigit() is True; int() refuses it
            unit = "a number of milliseconds" if spec.type is KeyType.MILLISECONDS else "a number"
            return f"{name} must be {unit}, not '{value}'."
        if spec.type is KeyType.MILLISECONDS and not 0 < int(text) <= _MAX_MILLIS:
            return f"{name} must be between 1 and {_MAX_MILLIS} milliseconds."
    elif spec.type is KeyType.HOST_LIST:
        for token in text.split():
            if not _HOST_TOKEN.match(token):
                return f"{name}: '{token}' is not a host name; use '*' or names separated by spaces."
    elif spec.type is KeyType.PROTOCOL_LIST:
        unknown = [t for t in text.split() if t not in TLS_VERSIONS]
        if unknown:
            allowed = ", ".join(TLS_VERSIONS)
            return f"{name}: unknown TLS version '{unknown[0]}'; use {allowed}."
    elif spec.type is KeyType.MECHANISM_LIST:
        listed = text.upper().split()
        implemented = ", ".join(IMPLEMENTED_MECHANISMS)
        unknown = [t for t in listed if t not in IMPLEMENTED_MECHANISMS + UNIMPLEMENTED_MECHANISMS]
        if unknown:
            return f"{name}: unknown mechanism '{unknown[0]}'; use {implemented}."
        if listed and not any(t in IMPLEMENTED_MECHANISMS for t in listed):
            return (f"{name}: this app does not implement {' '.join(dict.fromkeys(listed))}; "
                    f"list at least one of {implemented}.")
    elif spec.type is KeyType.ADDRESS:
        if text and not _looks_like_address(text):
            return f"{name} must be an email address such as me@example.com."
    elif spec.type is KeyType.HOST and text and not _HOST_TOKEN.match(text):
        return f"{name} must be a host name or an IP address."
    return None


def _looks_like_address(text: str) -> bool:
    from email.utils import parseaddr

    _, address = parseaddr(text)
    if not address or any(c in text for c in "\r\n"):
        return False
    local, _, domain = address.rpartition("@")
    return bool(local) and bool(domain) and " " not in address


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True
