"""Sending mail: the test message, the one SMTP transport, the probe, diagnosis and transcript.

Plain Python with no Qt. smtplib and ssl are imported only when a connection is made.
"""

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
)

__all__ = [
    "ADVICE",
    "APP_PASSWORD_HELP",
    "CancelToken",
    "Category",
    "CertificateInfo",
    "InvalidInputError",
    "MailError",
    "Outcome",
    "ProbeInfo",
    "TlsInfo",
    "build_test_message",
    "failed_outcome",
    "probe",
    "send_message",
    "send_test_email",
]
