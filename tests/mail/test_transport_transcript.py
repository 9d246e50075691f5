"""Transcript lines and the password scrubber (no network)."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st
from support.smtp_servers import password_forms

from smtp_desktop.mail.transcript import Scrubber, Transcript, secret_forms


def test_lines_are_prefixed_and_made_printable():
    transcript = Transcript()
    transcript.client("EHLO x")
    transcript.server("250 ok\r\nInjected")
    transcript.note("connecting")

    assert transcript.lines == ("C: EHLO x", "S: 250 ok\\x0d\\x0aInjected", "* connecting")


def test_scrubber_removes_plain_and_base64_forms():
    scrub = Scrubber(secret_forms("user@example.test", "hunter2-long"))
    plain_blob = base64.b64encode(b"\0user@example.test\0hunter2-long").decode()
    alone = base64.b64encode(b"hunter2-long").decode()

    assert scrub(f"C: AUTH PLAIN {plain_blob}") == "C: AUTH PLAIN <redacted>"
    assert scrub(f"C: {alone}") == "C: <redacted>"
    assert scrub("password hunter2-long here") == "password <redacted> here"


def test_transcript_scrubs_every_line():
    transcript = Transcript(Scrubber(secret_forms("u", "pa55word")))
    transcript.server("535 bad password pa55word")

    assert transcript.lines == ("S: 535 bad password <redacted>",)


def test_no_password_no_scrubbing():
    assert Scrubber(secret_forms("u", None))("anything") == "anything"
    assert Scrubber(secret_forms("u", ""))("anything") == "anything"


@given(username=st.text(max_size=20), password=st.text(min_size=1, max_size=20),
       before=st.text(max_size=20), after=st.text(max_size=20),
       form_index=st.integers(0, 3))
def test_scrubbed_text_never_holds_the_password(username, password, before, after, form_index):
    forms = password_forms(username, password)
    text = before + forms[form_index % len(forms)] + after

    scrubbed = Scrubber(secret_forms(username, password))(text)

    for form in forms:
        assert form not in scrubbed
