"""Validation of text that could not be saved."""

from __future__ import annotations

import pytest

from smtp_desktop.config.model import DefaultService
from smtp_desktop.config.validation import validate_default_service


@pytest.mark.parametrize("field", ["username", "sender", "key value"])
def test_the_default_service_refuses_text_utf8_cannot_encode(field):
    """Found in review: import-default wrote such a file and crashed with UnicodeEncodeError."""
    lone = "a\ud800"
    service = DefaultService(
        host="smtp.example.test", port=587,
        username=lone if field == "username" else "noreply@example.test",
        sender=f"{lone}@example.test" if field == "sender" else "noreply@example.test",
        keys=(("mail.from", f"{lone}@example.test"),) if field == "key value" else ())

    problems = validate_default_service(service)

    assert problems and all("unpaired surrogate" in p.message for p in problems)
