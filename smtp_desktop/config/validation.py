"""Field-by-field validation; each message is ready to show next to its field."""

from __future__ import annotations

import re

from smtp_desktop.config.errors import Problem
from smtp_desktop.config.keys import (
    PASSWORD_MECHANISMS,
    TOKEN_MECHANISMS,
    is_ip_address,
    validate_value,
)
from smtp_desktop.config.model import (
    DefaultService,
    OAuth2Provider,
    OAuth2Settings,
    Service,
    SmtpSettings,
)
from smtp_desktop.config.policy import MECHANISMS, connection_policy

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def host_problem(host: str) -> str | None:
    """Why `host` is not a usable server name, or None. Accepts names, IDNs and IP addresses."""
    text = host
    if not text.strip():
        return "Enter the server's host name, e.g. smtp.gmail.com."
    if text != text.strip() or any(c.isspace() for c in text):
        return "The host name cannot contain spaces."
    if _SCHEME.match(text):
        return "Enter only the host name, without a scheme such as 'smtp://'."
    if is_ip_address(text):
        return None
    if ":" in text:
        return "Enter only the host name; put the port in the Port field."
    if "/" in text or "@" in text:
        return "Enter only the host name, e.g. smtp.gmail.com."
    name = text[:-1] if text.endswith(".") else text
    if name.isascii():  # IDNA would only check label lengths, which _LABEL does below
        ascii_name = name
    else:
        try:
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return f"'{text}' is not a valid host name."
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in ascii_name.split(".")):
        return f"'{text}' is not a valid host name."
    return None


def username_problem(username: str) -> str | None:
    """Why `username` cannot be sent in a login, or None (an empty one is checked elsewhere)."""
    if any(c in username for c in "\r\n\0"):
        return "The username cannot contain line breaks."
    if username != username.strip():
        return "The username cannot start or end with spaces."
    return None


def port_problem(port: int) -> str | None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        return "The port must be a number from 1 to 65535."
    return None


def key_problems(keys: tuple[tuple[str, str], ...]) -> list[Problem]:
    problems: list[Problem] = []
    duplicates = {p.row: p for p in duplicate_key_problems(keys)}
    for row, (key, value) in enumerate(keys):
        name = key.strip()
        if not name:
            problems.append(Problem("keys", "The key cannot be empty.", row))
            continue
        if name != key or any(c.isspace() for c in name):
            problems.append(Problem("keys", f"The key '{key}' cannot contain spaces.", row))
            continue
        if row in duplicates:
            problems.append(duplicates[row])
            continue
        if any(c in value for c in "\r\n"):
            problems.append(Problem("keys", f"The value of {name} cannot contain line breaks.", row))
            continue
        message = validate_value(name, value)
        if message:
            problems.append(Problem("keys", message, row))
    return problems


def validate_own(settings: SmtpSettings) -> list[Problem]:
    """Validate the @own fields unconditionally."""
    problems: list[Problem] = []
    if message := host_problem(settings.host):
        problems.append(Problem("host", message))
    if message := port_problem(settings.port):
        problems.append(Problem("port", message))
    if message := username_problem(settings.username):
        problems.append(Problem("username", message))
    elif settings.auth_required and not settings.username:
        problems.append(Problem(
            "username", "Enter the username: mail.smtp.auth is true, so the server needs a login."))
    if settings.uses_oauth2:
        problems.extend(oauth2_problems(settings.oauth2))
        if not settings.username:
            problems.append(Problem(
                "username", "Enter the username: OAuth2 logs in as the signed-in account."))
    key_messages = key_problems(settings.keys)
    problems.extend(key_messages)
    if not key_messages and (message := _foreign_mechanisms(settings)
                             or _no_mechanism_left(settings)):
        rows = [row for row, (key, _) in enumerate(settings.keys) if key == MECHANISMS]
        problems.append(Problem("keys", message, rows[0] if rows else None))
    return problems


def _foreign_mechanisms(settings: SmtpSettings) -> str | None:
    """Mechanisms of the other login method: a token mechanism cannot send a password, nor a
    password mechanism a token."""
    foreign = connection_policy(settings).foreign_mechanisms
    if not foreign:
        return None
    names = " ".join(foreign)
    if settings.uses_oauth2:
        return (f"With OAuth2, {MECHANISMS} may list only {' and '.join(TOKEN_MECHANISMS)}; "
                f"remove {names}.")
    return (f"{names} log{'s' if len(foreign) == 1 else ''} in with an OAuth2 token: choose "
            f"OAuth2 as the login method, or remove {names} from {MECHANISMS}.")


_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint")


def endpoint_problem(url: str) -> str | None:
    """Why `url` cannot be an OAuth2 endpoint, or None: https, or plain http to this computer
    only (RFC 8252 loopback; the test suite's authorization server)."""
    from urllib.parse import urlsplit

    from smtp_desktop.config.policy import host_is_loopback

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"'{url}' is not a URL."
    if any(c.isspace() for c in url) or not host:
        return f"'{url}' is not a URL, e.g. https://login.example.com/oauth2/token."
    if parts.scheme == "https" or (parts.scheme == "http" and host_is_loopback(host)):
        return None
    return f"'{url}' must start with https:// (plain http only to this computer)."


def oauth2_problems(oauth2: OAuth2Settings) -> list[Problem]:
    """What stops a sign-in with this client; checked only when the login uses OAuth2."""
    problems: list[Problem] = []
    if not oauth2.client_id.strip():
        problems.append(Problem("oauth2.client_id",
                                "Enter the client ID of the app you registered with the provider."))
    elif oauth2.client_id != oauth2.client_id.strip() or any(c.isspace() for c in oauth2.client_id):
        problems.append(Problem("oauth2.client_id", "The client ID cannot contain spaces."))
    if oauth2.provider is OAuth2Provider.MICROSOFT and not (oauth2.tenant or "").strip():
        problems.append(Problem("oauth2.tenant", "Enter the tenant: organizations, consumers "
                                                 "(Outlook.com), common, or your tenant's ID or domain."))
    elif oauth2.provider is OAuth2Provider.MICROSOFT and not re.fullmatch(r"[A-Za-z0-9.-]+",
                                                                          oauth2.tenant or ""):
        problems.append(Problem("oauth2.tenant",
                                "The tenant is a name such as organizations, an ID or a domain."))
    if oauth2.provider is OAuth2Provider.CUSTOM:
        for name in ("authorization_endpoint", "token_endpoint"):
            if getattr(oauth2, name) is None:
                problems.append(Problem(f"oauth2.{name}",
                                        f"A custom provider needs its {name.replace('_', ' ')}."))
        if oauth2.scopes is None:
            problems.append(Problem("oauth2.scopes", "A custom provider needs its scopes."))
    for name in _ENDPOINTS:
        url = getattr(oauth2, name)
        if url is not None and (message := endpoint_problem(url)):
            problems.append(Problem(f"oauth2.{name}", message))
    if oauth2.scopes is not None and (not oauth2.scopes or any(
            not s or any(c.isspace() for c in s) for s in oauth2.scopes)):
        problems.append(Problem("oauth2.scopes",
                                "List at least one scope; a scope cannot be empty or hold spaces."))
    return problems


def _no_mechanism_left(settings: SmtpSettings) -> str | None:
    """A login is due but the mechanism list and the *.disable keys leave nothing to log in with."""
    if not settings.auth_required or connection_policy(settings).mechanisms:
        return None
    return (f"No login mechanism is left: {MECHANISMS} and mail.smtp.auth.login.disable / "
            f"mail.smtp.auth.plain.disable together exclude {', '.join(PASSWORD_MECHANISMS)}.")


def duplicate_key_problems(keys: tuple[tuple[str, str], ...]) -> list[Problem]:
    """Rows repeating an earlier row's key: settings.json holds keys as a JSON object, where
    a repeated name would lose a row."""
    first_row: dict[str, int] = {}
    problems = []
    for row, (key, _) in enumerate(keys):
        if key in first_row:
            problems.append(
                Problem("keys", f"'{key}' is already set in row {first_row[key] + 1}.", row))
        else:
            first_row[key] = row
    return problems


def _unsavable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_UNSAVABLE = "The {} contains a character that cannot be saved (an unpaired surrogate)."


def unsavable_text_problems(settings: SmtpSettings,
                            extra: tuple[tuple[str, str], ...] = ()) -> list[Problem]:
    """Fields holding text that UTF-8 cannot encode (an unpaired surrogate, which a JSON
    "\\ud800" escape or a mis-decoded argument can produce): the file could not be written.
    `extra` adds (field, text) pairs, e.g. the default service's sender."""
    oauth2 = settings.oauth2
    oauth2_texts = [(f"oauth2.{name}", getattr(oauth2, name) or "")
                    for name in ("client_id", "tenant", *_ENDPOINTS)]
    oauth2_texts += [("oauth2.scopes", scope) for scope in oauth2.scopes or ()]
    fields = (("host", settings.host), ("username", settings.username), *oauth2_texts, *extra)
    problems = [Problem(field, _UNSAVABLE.format(field)) for field, text in fields
                if _unsavable(text)]
    problems.extend(Problem("keys", _UNSAVABLE.format(f"key in row {row + 1}"), row)
                    for row, (key, value) in enumerate(settings.keys)
                    if _unsavable(key) or _unsavable(value))
    return problems


def validate(settings: SmtpSettings) -> list[Problem]:
    """Every problem that stops these settings from being saved.

    The @own fields are checked only when SMTP is enabled and the service is @own; otherwise
    they are kept as they are, possibly incomplete. Refused always, because saving would fail
    or lose data: duplicate keys (settings.json holds the keys as a JSON object, so one row
    would be lost) and text that cannot be encoded.
    """
    unsavable = unsavable_text_problems(settings)
    if unsavable:
        return unsavable
    if settings.enabled and settings.service is Service.OWN:
        return validate_own(settings)
    return duplicate_key_problems(settings.keys)


def validate_default_service(service: DefaultService) -> list[Problem]:
    unsavable = unsavable_text_problems(service.as_settings(), (("sender", service.sender),))
    if unsavable:
        return unsavable
    problems = validate_own(service.as_settings())
    if not service.sender:
        problems.append(Problem("sender", "Enter the sender address, e.g. noreply@example.com."))
    elif validate_value("mail.from", service.sender):
        problems.append(
            Problem("sender", "The sender must be an email address such as noreply@example.com."))
    return problems
