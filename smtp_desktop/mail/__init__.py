"""Sending mail: the test message, the one SMTP transport, the probe, diagnosis and transcript.

Plain Python with no Qt. Names load on first use (PEP 562), so `from smtp_desktop.mail import
CancelToken` on the GUI thread does not pull in smtplib, ssl and email; those load only when a
connection is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ADVICE": "diagnosis",
    "APP_PASSWORD_HELP": "diagnosis",
    "CancelToken": "cancel",
    "Category": "errors",
    "CertificateInfo": "certificates",
    "InvalidInputError": "errors",
    "MailError": "errors",
    "Outcome": "results",
    "ProbeInfo": "results",
    "TlsInfo": "results",
    "build_test_message": "transport",
    "failed_outcome": "transport",
    "probe": "transport",
    "send_message": "transport",
    "send_test_email": "transport",
    "warm_up": "transport",
}

__all__ = [
    "ADVICE", "APP_PASSWORD_HELP", "CancelToken", "Category", "CertificateInfo",
    "InvalidInputError", "MailError", "Outcome", "ProbeInfo", "TlsInfo", "build_test_message",
    "failed_outcome", "probe", "send_message", "send_test_email", "warm_up",
]

if TYPE_CHECKING:
    from smtp_desktop.mail.cancel import CancelToken
    from smtp_desktop.mail.certificates import CertificateInfo
    from smtp_desktop.mail.diagnosis import ADVICE, APP_PASSWORD_HELP
    from smtp_desktop.mail.errors import Category, InvalidInputError, MailError
    from smtp_desktop.mail.results import Outcome, ProbeInfo, TlsInfo
    from smtp_desktop.mail.transport import (
        build_test_message,
        failed_outcome,
        probe,
        send_message,
        send_test_email,
        warm_up,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smtp_desktop.mail' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"smtp_desktop.mail.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
