"""Issue 11, section 4: a password holding control characters is redacted in every form.

The transcript used to make a line printable before scrubbing it, so a server echoing such a
password (ab\\x01cd\\x7fef) left its escaped form in the transcript and the message.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.smtp_servers import smtp_script

from smtp_desktop import mail
from smtp_desktop.mail.transcript import Scrubber, Transcript, secret_forms
from smtp_desktop.text import escape

USERNAME = "me@example.com"
PASSWORD = "ab\x01cd\x7fef"  # the example


def leaked_forms(password: str = PASSWORD, username: str = USERNAME) -> dict[str, str]:
    raw, user = password.encode(), username.encode()
    return {
        "raw": password, "escaped": escape(password),
        "base64": base64.b64encode(raw).decode(),
        "base64 PLAIN": base64.b64encode(b"\0" + user + b"\0" + raw).decode(),
    }


def echo_back(form: str):
    """An AUTH handler that refuses the login, quoting the password in `form`."""

    def on_auth(peer, line: str) -> bool:
        shown = leaked_forms()[form]
        peer.send(f"535 5.7.8 Authentication failed for password {shown} (sorry)")
        return True

    return on_auth


@pytest.mark.parametrize("form", ["raw", "escaped", "base64", "base64 PLAIN"])
def test_a_server_echoing_the_password_in_any_form_is_redacted(scripted_server_factory,
                                                               assert_no_leak, form):
    server = scripted_server_factory(smtp_script(on={"AUTH": echo_back(form)}))
    settings = server.settings({"mail.smtp.auth": "true"}, username=USERNAME)
    outcome = mail.send_test_email(settings, PASSWORD, "qa@example.com")
    assert outcome.category is mail.Category.AUTH
    assert any("(sorry)" in line for line in outcome.transcript)
    texts = [outcome.message, outcome.advice or "", *outcome.transcript]
    for name, shown in leaked_forms().items():
        assert not [t for t in texts if shown in t], f"the {name} form leaked"
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_the_transcript_scrubs_before_it_escapes():
    transcript = Transcript(Scrubber(secret_forms(USERNAME, PASSWORD)))
    transcript.server(f"535 no: {PASSWORD}")
    transcript.server(f"535 no: {escape(PASSWORD)}")
    assert transcript.lines == ("S: 535 no: <redacted>", "S: 535 no: <redacted>")


def test_escaping_cannot_assemble_a_password_that_is_itself_an_escape():
    scrub = Scrubber(secret_forms(USERNAME, "\\x01\\x02"))
    assert scrub.printable("S: \x01\x02") == "S: <redacted>"


@given(password=st.text(min_size=1, max_size=12), before=st.text(max_size=12),
       after=st.text(max_size=12), form=st.sampled_from(["raw", "escaped", "base64",
                                                         "base64 PLAIN"]))
def test_no_transcript_line_holds_the_password_in_any_form(password, before, after, form):
    transcript = Transcript(Scrubber(secret_forms(USERNAME, password)))
    transcript.server(before + leaked_forms(password)[form] + after)
    (line,) = transcript.lines
    for name, shown in leaked_forms(password).items():
        assert shown not in line, f"the {name} form survived"
