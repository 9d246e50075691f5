"""An aiosmtpd handler that takes XOAUTH2 and OAUTHBEARER (RFC 7628) logins, and only with an
access token its `accepts` callable vouches for (the suite's authorization server's tokens).

A refused token gets the error challenge real servers send (a 334 with base64 JSON: status,
schemes, scope), then, after the client's dummy answer, the final `refusal` reply, by default
Google's text; set it to Microsoft's 535 5.7.139 to play an Exchange tenant with SMTP AUTH off.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from support.smtp_servers import RecordingHandler

GOOGLE_REFUSAL = "535 5.7.8 Username and Password not accepted. For more information, go to"
MICROSOFT_DISABLED = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
                      "disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled")


class OAuthHandler(RecordingHandler):
    """Records messages like RecordingHandler; logs in users whose token `accepts(user, token)`."""

    def __init__(self, accepts: Callable[[str, str], bool], *,
                 refusal: str = GOOGLE_REFUSAL, **kwargs) -> None:
        super().__init__(**kwargs)
        self.accepts = accepts
        self.refusal = refusal
        self.logins: list[tuple[str, str, str]] = []  # (mechanism, user, token) in order
        self.oauthbearer_fields: list[dict[str, str]] = []

    async def _finish(self, server, mechanism: str, user: str, token: str, dummy: bytes):
        from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

        self.logins.append((mechanism, user, token))
        if self.accepts(user, token):
            return AuthResult(success=True, handled=False,
                              auth_data=LoginPassword(user.encode(), b""))
        error = {"status": "invalid_token" if mechanism == "OAUTHBEARER" else "401",
                 "schemes": "bearer", "scope": "https://mail.google.com/"}
        answer = await server.challenge_auth(json.dumps(error).encode())
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        if answer != dummy:
            return AuthResult(success=False, handled=False,
                              message="501 5.5.2 Expected the dummy response to the error")
        return AuthResult(success=False, handled=False, message=self.refusal)

    async def _initial(self, server, args: list[str]) -> bytes | None:
        import base64
        import binascii

        if len(args) < 2:
            return None  # our client always sends the initial response
        try:
            return base64.b64decode(args[1], validate=True)
        except binascii.Error:
            return None

    async def auth_XOAUTH2(self, server, args):
        from aiosmtpd.smtp import AuthResult

        data = await self._initial(server, args)
        if data is None or not data.endswith(b"\x01\x01"):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Bad XOAUTH2 payload")
        fields = dict(part.split(b"=", 1) for part in data[:-2].split(b"\x01") if b"=" in part)
        user = fields.get(b"user", b"").decode()
        auth = fields.get(b"auth", b"").decode()
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        return await self._finish(server, "XOAUTH2", user, token, b"")

    async def auth_OAUTHBEARER(self, server, args):
        from aiosmtpd.smtp import AuthResult

        data = await self._initial(server, args)
        if data is None or not data.startswith(b"n,") or not data.endswith(b"\x01\x01"):
            return AuthResult(success=False, handled=False,
                              message="501 5.5.2 Bad OAUTHBEARER payload")
        gs2, _, rest = data.partition(b"\x01")
        user = ""
        for part in gs2.split(b",")[1:]:
            if part.startswith(b"a="):
                user = part[2:].replace(b"=2C", b",").replace(b"=3D", b"=").decode()
        fields = {k.decode(): v.decode() for k, v in
                  (p.split(b"=", 1) for p in rest[:-2].split(b"\x01") if b"=" in p)}
        self.oauthbearer_fields.append(fields)
        auth = fields.get("auth", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        return await self._finish(server, "OAUTHBEARER", user, token, b"\x01")
