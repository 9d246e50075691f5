"""The test message and address checks (no network)."""

from __future__ import annotations

import email.utils
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.mail import InvalidInputError, build_test_message
from smtp_desktop.mail.message import TEST_SUBJECT, parse_address


def settings(username: str = "", **keys: str) -> SmtpSettings:
    return SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.test", port=587,
                        username=username,
                        keys=tuple((k.replace("_", "."), v) for k, v in keys.items()))


def test_from_prefers_mail_from_then_username_then_sender():
    with_key = build_test_message(settings("user@example.test", mail_from="Key <key@example.test>"),
                                  None, sender="sender@example.test")
    with_username = build_test_message(settings("user@example.test"), None,
                                       sender="sender@example.test")
    with_sender = build_test_message(settings("plainuser"), None, sender="sender@example.test")

    assert with_key["From"] == "Key <key@example.test>"
    assert with_username["From"] == "user@example.test"
    assert with_sender["From"] == "sender@example.test"


def test_no_from_address_asks_for_one():
    with pytest.raises(InvalidInputError) as caught:
        build_test_message(settings("plainuser"), "to@example.test")

    assert "From address" in caught.value.message
    assert "mail.from" in caught.value.advice


def test_message_headers_and_body():
    message = build_test_message(settings("user@example.test", mail_smtp_starttls_enable="true"),
                                 "to@example.test")

    assert message["Subject"] == TEST_SUBJECT
    assert message["To"] == "to@example.test"
    assert re.fullmatch(r"<.+@example\.test>", message["Message-ID"])
    assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
    body = message.get_content()
    assert "Server:   smtp.example.test:587" in body
    assert "Security: STARTTLS" in body
    assert "User:     user@example.test" in body
    assert f"Sent:     {message['Date']}" in body


def test_recipient_defaults_to_from():
    message = build_test_message(settings("user@example.test"), "  ")

    assert message["To"] == "user@example.test"


@pytest.mark.parametrize("bad", [
    "not-an-address", "a@b", "a@b.test, c@d.test", "a b@c.test", "Ünï@example.test",
    "a@-bad-.test", "<>", "@example.test", "a@b.test\r\nBcc: c@d.test", "a@b.test\x00",
    "a@b.test extra",
])
def test_bad_recipients_are_refused(bad):
    with pytest.raises(InvalidInputError):
        build_test_message(settings("user@example.test"), bad)


@pytest.mark.parametrize(("good", "expected"), [
    ("a@b.test", ("", "a@b.test")),
    ("first.last+tag@sub.example.test", ("", "first.last+tag@sub.example.test")),
    ("Name <a@b.test>", ("Name", "a@b.test")),
    ('"Last, First" <a@b.test>', ("Last, First", "a@b.test")),
])
def test_good_addresses_are_accepted(good, expected):
    assert parse_address(good, "recipient") == expected


def test_display_name_with_a_line_break_is_refused():
    with pytest.raises(InvalidInputError):
        build_test_message(settings("user@example.test", mail_from="Evil\r\nBcc: x@y.test <a@b.test>"),
                           None)


SAFE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


@given(st.text(max_size=60))
def test_any_text_is_refused_or_yields_one_safe_address(text):
    try:
        _, address = parse_address(text, "recipient")
    except InvalidInputError as exc:
        assert "\r" not in exc.message and "\n" not in exc.message
        return
    assert SAFE_ADDRESS.fullmatch(address)
    assert not re.search(r"[\x00-\x1f\x7f]", text)


@given(st.sampled_from(["\r", "\n", "\r\n", "\0", "\x1b"]), st.integers(0, 16))
def test_control_characters_anywhere_in_a_recipient_are_refused(char, position):
    good = "to@example.test"
    bad = good[:position] + char + good[position:]

    with pytest.raises(InvalidInputError):
        build_test_message(settings("user@example.test"), bad)


def _built_the_standard_way(message):  # type: ignore[no-untyped-def]
    """The same message assembled with plain header assignment and set_content."""
    from email.message import EmailMessage

    reference = EmailMessage()
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        reference[name] = str(message[name])
    reference.set_content(message.get_content())
    return reference


@pytest.mark.parametrize(("username", "keys"), [
    ("user@example.test", {}),
    ("user@example.test", {"mail_from": "Jörg Müller <key@example.test>"}),
    ("user@example.test", {"mail_from": '"Doe, John" <key@example.test>'}),
    ("ünïcode-login", {"mail_from": "key@example.test"}),
    ("user@" + "a" * 60 + ".example.test", {}),
])
def test_test_message_bytes_match_the_standard_construction(username, keys):
    message = build_test_message(settings(username, **keys), "to@example.test")

    wire = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    reference = _built_the_standard_way(message)

    assert wire == reference.as_bytes(policy=reference.policy.clone(linesep="\r\n"))
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
