"""The values a send or probe returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smtp_desktop.mail.certificates import CertificateInfo
from smtp_desktop.mail.errors import Category, title_of


@dataclass(frozen=True)
class TlsInfo:
    version: str  # e.g. "TLSv1.3"
    cipher: str

    def to_json(self) -> dict[str, str]:
        return {"version": self.version, "cipher": self.cipher}


@dataclass(frozen=True)
class ProbeInfo:
    """What a probe learnt about the server, as far as it got."""

    capabilities: tuple[str, ...] = ()  # EHLO keywords with parameters, e.g. "SIZE 35882577"
    auth_mechanisms: tuple[str, ...] = ()
    login: bool | None = None  # None: no credentials, login not tried
    tls: TlsInfo | None = None
    certificate: CertificateInfo | None = None


@dataclass(frozen=True)
class Outcome:
    """How one send or probe ended; never carries the password."""

    ok: bool
    category: Category | None
    message: str
    advice: str | None
    elapsed_ms: float
    server: str
    security: str
    unused_keys: tuple[str, ...]
    transcript: tuple[str, ...]
    probe: ProbeInfo | None = None
    delivered_to: str | None = None  # "local-outbox" when the embedded outbox took the mail

    @property
    def title(self) -> str:
        """The failure's human title ("Login refused"); empty when the attempt worked."""
        return "" if self.ok else title_of(self.category)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; probes add capabilities, auth_mechanisms, login, tls, certificate."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "category": self.category.value if self.category else None,
            "title": None if self.ok else title_of(self.category),
            "message": self.message,
            "advice": self.advice,
            "elapsed_ms": self.elapsed_ms,
            "server": self.server,
            "security": self.security,
            "unused_keys": list(self.unused_keys),
            "transcript": list(self.transcript),
        }
        if self.probe is not None:
            data["capabilities"] = list(self.probe.capabilities)
            data["auth_mechanisms"] = list(self.probe.auth_mechanisms)
            data["login"] = self.probe.login
            data["tls"] = self.probe.tls.to_json() if self.probe.tls else None
            data["certificate"] = (self.probe.certificate.to_json()
                                   if self.probe.certificate else None)
        if self.delivered_to is not None:
            data["delivered_to"] = self.delivered_to
        return data
