"""The SASL login mechanisms: what each sends, step by step. No sockets here.

Password mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195). Token mechanisms: XOAUTH2
(Google's and Microsoft's documentation) and OAUTHBEARER (RFC 7628), which carry an OAuth2
access token. `session.Client` drives a mechanism: the initial response goes with AUTH, each
334 challenge gets `respond`, until the server answers with a final reply.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

from smtp_desktop.config.keys import PASSWORD_MECHANISMS, TOKEN_MECHANISMS

__all__ = ["PASSWORD_MECHANISMS", "TOKEN_MECHANISMS", "ChallengeNotBase64", "ErrorChallenge", "Mechanism",
           "MechanismError", "b64", "mechanism", "secret_forms"]


# The transcript note's words for a refused token (a retry after one refresh looks for them).
ERROR_CHALLENGE = "error challenge"


class MechanismError(ValueError):
    """The server's challenge cannot be answered (not base64, or more steps than defined)."""


class ChallengeNotBase64(MechanismError):
    """A challenge the mechanism must decode is not base64."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class ErrorChallenge:
    """The JSON a server sends in a 334 when it refuses an OAuth2 token (RFC 7628 3.2.2; Google
    documents the same for XOAUTH2): `status` such as "invalid_token" or "401", the `scope`
    the token would need, and the `schemes` the server takes."""

    status: str
    scope: str | None = None
    schemes: str | None = None

    @classmethod
    def parse(cls, challenge: bytes) -> ErrorChallenge | None:
        """The error in a decoded challenge, or None when it is not such JSON."""
        try:
            data = json.loads(challenge.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(data, dict) or "status" not in data:
            return None

        def text(name: str) -> str | None:
            value = data.get(name)
            return None if value is None else str(value)

        return cls(status=str(data["status"]), scope=text("scope"), schemes=text("schemes"))

    def describe(self) -> str:
        """The error in plain words, for the message and the transcript."""
        status = self.status.lower()
        if status in ("401", "invalid_token"):
            words = "the server did not accept the access token (expired, revoked or for another account)"
        elif status in ("400", "invalid_request"):
            words = "the server found the login request malformed"
        elif status in ("403", "insufficient_scope"):
            words = "the access token lacks the permission to send mail"
        else:
            words = f"the server refused the access token (status {self.status})"
        if self.scope:
            words += f"; it needs the scope {self.scope}"
        return words


class Mechanism:
    """One login exchange. `initial_response` goes with AUTH (None: wait for a challenge);
    `respond` answers each 334 challenge (the base64 text as the server sent it)."""

    name = ""
    token = False  # sends an OAuth2 access token

    def __init__(self, username: str, secret: str, host: str = "", port: int = 0) -> None:
        self.user = username.encode("utf-8", "surrogatepass")
        self.secret = secret.encode("utf-8", "surrogatepass")
        self.host = host
        self.port = port
        self.steps = 0
        self.error: ErrorChallenge | None = None

    def initial_response(self) -> bytes | None:
        return None

    def respond(self, challenge: bytes) -> bytes:
        raise MechanismError(f"The server continued the {self.name} login unexpectedly.")


def _decoded(challenge: bytes, name: str) -> bytes:
    try:
        return base64.b64decode(challenge.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ChallengeNotBase64(f"the {name} challenge is not base64") from None


class _Plain(Mechanism):
    name = "PLAIN"

    def initial_response(self) -> bytes:
        return b"\0" + self.user + b"\0" + self.secret


class _Login(Mechanism):
    name = "LOGIN"

    def respond(self, challenge: bytes) -> bytes:
        self.steps += 1
        if self.steps == 1:
            return self.user
        if self.steps == 2:
            return self.secret
        return super().respond(challenge)


class _CramMd5(Mechanism):
    name = "CRAM-MD5"

    def respond(self, challenge: bytes) -> bytes:
        self.steps += 1
        if self.steps > 1:
            return super().respond(challenge)
        digest = hmac.new(self.secret, _decoded(challenge, self.name), "md5").hexdigest()
        return self.user + b" " + digest.encode()


class _TokenMechanism(Mechanism):
    """A 334 after the token is an error challenge: the client answers it with the mechanism's
    dummy response, and the server then sends its final (failure) reply."""

    token = True
    dummy = b""

    def respond(self, challenge: bytes) -> bytes:
        self.steps += 1
        if self.steps > 1:
            return super().respond(challenge)
        try:
            decoded = base64.b64decode(challenge.strip(), validate=True)
        except (binascii.Error, ValueError):
            decoded = challenge
        self.error = ErrorChallenge.parse(decoded) or ErrorChallenge(status="unknown")
        return self.dummy


class _XOAuth2(_TokenMechanism):
    name = "XOAUTH2"

    def initial_response(self) -> bytes:
        return xoauth2_payload(self.user, self.secret)


class _OAuthBearer(_TokenMechanism):
    name = "OAUTHBEARER"
    dummy = b"\x01"  # RFC 7628 3.2.3: the client's answer to an error challenge

    def initial_response(self) -> bytes:
        return oauthbearer_payload(self.user, self.secret, self.host, self.port)


def xoauth2_payload(user: bytes, token: bytes) -> bytes:
    return b"user=" + user + b"\x01auth=Bearer " + token + b"\x01\x01"


def _saslname(user: bytes) -> bytes:
    """RFC 5801's escaping of the authorization identity in the GS2 header."""
    return user.replace(b"=", b"=3D").replace(b",", b"=2C")


def oauthbearer_payload(user: bytes, token: bytes, host: str, port: int) -> bytes:
    """RFC 7628 3.1: the GS2 header with the user, then host, port and the bearer token."""
    return (b"n,a=" + _saslname(user) + b",\x01host=" + _host_bytes(host) + b"\x01port="
            + str(port).encode() + b"\x01auth=Bearer " + token + b"\x01\x01")


def _host_bytes(host: str) -> bytes:
    """The host as the server knows it: IDNA for a name, else as typed (never raises)."""
    try:
        return host.encode("idna")
    except UnicodeError:
        return host.encode("utf-8", "surrogatepass")


_MECHANISMS: dict[str, type[Mechanism]] = {
    m.name: m for m in (_Plain, _Login, _CramMd5, _XOAuth2, _OAuthBearer)}


def mechanism(name: str, username: str, secret: str, host: str = "", port: int = 0) -> Mechanism:
    """The exchange for mechanism `name` (one of PASSWORD_MECHANISMS + TOKEN_MECHANISMS)."""
    return _MECHANISMS[name](username, secret, host, port)


def secret_forms(username: str, secret: str | None, host: str = "", port: int = 0,
                 printable: Callable[[str], str] = str) -> tuple[str, ...]:
    """Every form in which `secret` (a password or an access token) could reach the wire during
    a login, or a line of text: as typed, made printable, and base64 of each mechanism's
    payloads (PLAIN with and without an authorization identity, LOGIN, XOAUTH2, OAUTHBEARER)."""
    if not secret:
        return ()
    raw = secret.encode("utf-8", "surrogatepass")
    user = username.encode("utf-8", "surrogatepass")
    blobs = [raw, b"\0" + user + b"\0" + raw, user + b"\0" + user + b"\0" + raw,
             user + b"\0" + raw, xoauth2_payload(user, raw)]
    blobs.append(oauthbearer_payload(user, raw, host, port))
    forms = {secret, printable(secret)}
    for blob in blobs:
        forms.add(b64(blob))
    # Longest first, so a longer form is not half-replaced by a shorter one inside it.
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))
