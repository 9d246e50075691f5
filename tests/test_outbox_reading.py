"""Reading a stored message: the `outbox show` object, HTML to text, links, codes, wait criteria.

The corpus under tests/data/mails/ defines the behaviour: each NAME.eml has a NAME.expected.json
that states its codes, links and text fragments, and the decoys it carries. The rule tests below
pin each rule of README "Reading a message (links and codes)" on its own; the hostile-input tests
and the hypothesis properties hold the promise that a message never makes reading raise.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import smtplib
import subprocess
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.fresh_python import run_python

from smtp_desktop.outbox.reading import (
    DEFAULT_SINCE,
    CodePatternError,
    CriteriaError,
    ReadingError,
    Since,
    SinceError,
    WaitCriteria,
    extract_codes,
    extract_links,
    html_to_text,
    matches,
    parse_since,
    read_message,
)

MAILS = Path(__file__).parent / "data" / "mails"
CORPUS = sorted(MAILS.glob("*.eml"))
SHOW_KEYS = {"id", "received", "date", "from", "to", "envelope", "subject", "headers", "text",
             "html", "attachments", "links", "codes"}
BOUNDED = settings(max_examples=200, deadline=dt.timedelta(seconds=5),
                   suppress_health_check=[HealthCheck.too_slow])


def expected_of(eml: Path) -> dict[str, Any]:
    return json.loads(eml.with_name(eml.stem + ".expected.json").read_text(encoding="utf-8"))


def read(raw: bytes | str, **kwargs: Any) -> dict[str, Any]:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    kwargs.setdefault("received", "2026-12-01T09:46:08+00:00")
    kwargs.setdefault("envelope", None)
    return read_message(data, id=kwargs.pop("id", "m1"), **kwargs)


def assert_show_shape(message: dict[str, Any]) -> None:
    """The exact `outbox show --json` shape, and JSON that any strict parser accepts."""
    assert set(message) == SHOW_KEYS
    assert set(message["envelope"]) == {"from", "to", "client", "user"}
    assert isinstance(message["envelope"]["to"], list)
    assert all(isinstance(address, str) for address in message["to"])
    assert all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
               for pair in message["headers"])
    assert isinstance(message["text"], str) and isinstance(message["subject"], str)
    assert message["html"] is None or isinstance(message["html"], str)
    assert message["date"] is None or dt.datetime.fromisoformat(message["date"]).tzinfo is not None
    for attachment in message["attachments"]:
        assert set(attachment) == {"filename", "content_type", "size"}
        assert isinstance(attachment["size"], int) and attachment["size"] >= 0
    assert all(isinstance(code, str) for code in message["codes"])
    # No lone surrogates: the JSON is valid UTF-8 for every consumer, not only Python's.
    json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8")


# ====================================================================== the corpus


def test_the_corpus_covers_what_qa_mail_looks_like():
    assert len(CORPUS) >= 16
    for eml in CORPUS:
        expected = expected_of(eml)
        assert {"codes", "links", "subject", "text_contains", "decoys"} <= set(expected), eml.name
    raw = b"".join(eml.read_bytes().lower() for eml in CORPUS)
    for needed in (b"text/plain", b"text/html", b"multipart/alternative", b"multipart/mixed",
                   b"multipart/related", b"message/rfc822", b"quoted-printable", b"base64",
                   b"content-disposition: attachment", b"=?utf-8?", b"=?iso-8859-1?"):
        assert needed in raw, needed


@pytest.mark.parametrize("eml", CORPUS, ids=[eml.stem for eml in CORPUS])
def test_corpus_mail_reads_as_its_expected_file_states(eml):
    expected = expected_of(eml)
    message = read(eml.read_bytes(), id=eml.stem)

    assert_show_shape(message)
    assert message["id"] == eml.stem
    assert message["subject"] == expected["subject"]
    assert message["codes"] == expected["codes"]
    assert message["links"] == expected["links"]
    for fragment in expected["text_contains"]:
        assert fragment in message["text"]
    for fragment in expected.get("text_absent", []):
        assert fragment not in message["text"]
    for key in ("from", "to", "attachments"):
        if key in expected:
            assert message[key] == expected[key]
    if "envelope" in expected:
        assert message["envelope"] == {**expected["envelope"], "client": None, "user": None}
    assert (message["html"] is not None) == expected.get("html", False)
    if "with_code_pattern" in expected:
        pattern = expected["with_code_pattern"]
        again = read(eml.read_bytes(), code_pattern=pattern["pattern"])
        assert again["codes"] == pattern["codes"]


def test_the_corpus_first_code_is_the_one_time_code_where_there_is_one():
    """`.code` / `--extract code` take codes[0]: in every mail that carries a one-time code,
    the decoys (order numbers, card digits, postcodes) come after it or are no codes at all."""
    otp = {"signup-text": "482913", "signup-html": "719304", "signup-alternative": "305187",
           "2fa-short-text": "582046", "2fa-html-base64": "612048", "bank-payment-code": "730591",
           "latin1-qp": "551902", "unknown-charset-8bit": "864209",
           "2fa-security-code-html": "8254", "device-verification-text": "19471583"}
    for name, code in otp.items():
        assert read((MAILS / f"{name}.eml").read_bytes())["codes"][0] == code, name


# ====================================================================== the show object


SIMPLE = """\
X-Outbox-Envelope-From: bounce@shop.test
X-Outbox-Envelope-To: a@outbox.test,
 b@outbox.test
Received: from client.test by outbox.test; Tue, 01 Dec 2026 09:46:07 +0000
From: =?utf-8?q?J=C3=BCrgen?= Shop <shop@shop.test>
To: "A, Person" <A@Outbox.test>, b@outbox.test
Cc: =?utf-8?q?C=C3=A9cile?= <cc@outbox.test>
Subject: =?utf-8?q?Ihr_Code_f=C3=BCr_heute?=
 is here
Date: Tue, 01 Dec 2026 10:46:07 +0100
X-Campaign: =?utf-8?b?V2ludGVy?= 2026

Your code is 123456.
"""


def test_show_object_has_the_exact_shape_and_values():
    message = read(SIMPLE, id="1764582367.M1P2Q3.host")

    assert_show_shape(message)
    assert message["id"] == "1764582367.M1P2Q3.host"
    assert message["received"] == "2026-12-01T09:46:08+00:00"
    assert message["date"] == "2026-12-01T10:46:07+01:00"
    assert message["from"] == "Jürgen Shop <shop@shop.test>"
    assert message["to"] == ["A@Outbox.test", "b@outbox.test", "cc@outbox.test"]
    assert message["subject"] == "Ihr Code für heute is here"
    assert message["text"] == "Your code is 123456.\n"
    assert message["html"] is None
    assert message["attachments"] == []
    assert message["codes"] == ["123456"]


def test_headers_are_decoded_in_order_without_the_envelope_lines():
    headers = read(SIMPLE)["headers"]

    assert [name for name, _ in headers] == ["Received", "From", "To", "Cc", "Subject", "Date",
                                             "X-Campaign"]
    assert headers[1] == ["From", "Jürgen Shop <shop@shop.test>"]
    assert headers[2] == ["To", '"A, Person" <A@Outbox.test>, b@outbox.test']  # as written
    assert headers[4] == ["Subject", "Ihr Code für heute is here"]  # unfolded
    assert headers[6] == ["X-Campaign", "Winter 2026"]


def test_envelope_comes_from_the_store_or_else_from_the_outbox_lines():
    assert read(SIMPLE)["envelope"] == {"from": "bounce@shop.test",
                                        "to": ["a@outbox.test", "b@outbox.test"],
                                        "client": None, "user": None}
    given_envelope = {"from": "", "to": ["z@outbox.test"], "client": "127.0.0.1", "user": "demo"}
    assert read(SIMPLE, envelope=given_envelope)["envelope"] == given_envelope
    assert read("Subject: none\n\nbody\n")["envelope"] == {"from": None, "to": [], "client": None,
                                                         "user": None}


def test_without_a_from_header_the_envelope_sender_stands_in_as_in_outbox_list():
    message = read("Subject: s\n\nbody\n", envelope={"from": "bounce@x.test", "to": [],
                                                     "client": None, "user": None})
    assert message["from"] == "bounce@x.test"
    assert read("Subject: s\n\nbody\n")["from"] == ""


def test_html_is_decoded_once_by_its_mime_charset_whatever_it_declares_inside():
    html = ('<?xml version="1.0" encoding="iso-8859-1"?><html><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head>'
            "<body><p>Bestätigungscode: 246810</p></body></html>")
    raw = ("Subject: s\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
           "Content-Transfer-Encoding: 8bit\n\n" + html + "\n").encode("utf-8")
    message = read(raw)
    assert message["text"] == "Bestätigungscode: 246810"
    assert message["codes"] == ["246810"]


def test_text_prefers_the_plain_part_and_renders_html_only_without_one():
    alternative = _multipart("alternative", ("text/plain", "Plain: 111222\n"),
                             ("text/html", "<p>HTML: <b>333444</b></p>"))
    message = read(alternative)
    assert message["text"] == "Plain: 111222\n"
    assert message["html"] == "<p>HTML: <b>333444</b></p>"
    assert message["codes"] == ["111222"]

    html_only = read(_multipart("alternative", ("text/html", "<p>HTML: <b>333444</b></p>")))
    assert html_only["text"] == "HTML: 333444"
    assert html_only["codes"] == ["333444"]

    blank_plain = read(_multipart("alternative", ("text/plain", "\n  \n"),
                                  ("text/html", "<p>Code 555666</p>")))
    assert blank_plain["text"] == "Code 555666"


def test_attachments_list_files_not_the_bodies():
    message = EmailMessage()
    message["Subject"] = "files"
    message.set_content("See attached.")
    message.add_alternative("<p>See attached.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 " * 100, maintype="application", subtype="pdf",
                           filename="report 2026.pdf")
    message.add_attachment("a,b\n1,2\n", subtype="csv", filename="data.csv")

    read_back = read(message.as_bytes())

    assert read_back["attachments"] == [
        {"filename": "report 2026.pdf", "content_type": "application/pdf", "size": 900},
        {"filename": "data.csv", "content_type": "text/csv", "size": 8},
    ]
    assert read_back["text"] == "See attached.\n"


def _multipart(subtype: str, *parts: tuple[str, str]) -> str:
    body = "".join(f"--b\nContent-Type: {ctype}; charset=utf-8\n\n{content}\n" for ctype, content in parts)
    return f"Subject: t\nMIME-Version: 1.0\nContent-Type: multipart/{subtype}; boundary=b\n\n{body}--b--\n"


# ====================================================================== HTML to text


@pytest.mark.parametrize(("html", "text"), [
    # block elements end a line
    ("<p>one</p><p>two</p><div>three<div>four</div>five</div>", "one\ntwo\nthree\nfour\nfive"),
    ("<h1>Title</h1>text<ul><li>a</li><li>b</li></ul>after", "Title\ntext\na\nb\nafter"),
    ("line<br>break<br/>again<br><br>x", "line\nbreak\nagain\nx"),
    # table cells are joined by a space, rows end a line
    ("<table><tr><td>Code</td><td>482913</td></tr><tr><th>Valid</th><td>10 min</td></tr></table>",
     "Code 482913\nValid 10 min"),
    # inline elements join without a space
    ("<p>Your code: <b>48</b><span>29</span><i>13</i></p>", "Your code: 482913"),
    ("<p><a href='x'>Sign</a><em>in</em></p>", "Signin"),
    # script, style, head (and title, comments) are dropped
    ("<html><head><title>T 2026</title><style>p{}</style></head><body><script>var c=111111;"
     "</script><p>shown</p><!-- 222222 --></body></html>", "shown"),
    ("<head><title>unclosed head</title><p>Body text", "Body text"),
    ("<!--[if mso]><p>MSO only</p><![endif]--><p>everyone</p>", "everyone"),
    # entities decoded
    ("<p>&lt;a&gt; &amp; &quot;b&quot; &eacute;t&eacute; &#8364;5 &#x2713; &copy;</p>",
     '<a> & "b" été €5 ✓ ©'),
    # whitespace collapsed: runs, newlines in the source, nbsp; invisible characters removed
    ("<p>  lots \n\t of\u00a0&nbsp; space  </p>", "lots of space"),
    ("<p>48&shy;29&#8203;13&zwnj;</p>", "482913"),
    ("  \n ", ""),
    ("just text, no tags", "just text, no tags"),
])
def test_html_to_text_rules(html, text):
    assert html_to_text(html) == text


def test_html_to_text_keeps_line_breaks_of_pre():
    assert html_to_text("<pre>a  b\nc</pre>") == "a b\nc"


def test_html_to_text_survives_broken_markup():
    assert html_to_text("<p>unclosed <b>bold <i>italic") == "unclosed bold italic"
    assert html_to_text("</p></div>stray end tags<p") == "stray end tags"
    assert html_to_text("<p>a\x00b</p>") in ("ab", "a\ufffdb")
    assert html_to_text("<p>\ud800lone surrogate</p>") == "\ufffdlone surrogate"


# ====================================================================== links


def test_links_are_hrefs_in_order_then_new_ones_from_the_text():
    html = ('<a href="https://b.test/2">2</a> <a href="https://a.test/1">1</a>'
            '<a href="https://b.test/2">again</a>')
    text = "Also https://c.test/3 and https://a.test/1 and http://d.test/4"
    assert extract_links(html, text) == ["https://b.test/2", "https://a.test/1", "https://c.test/3",
                                         "http://d.test/4"]
    assert extract_links(None, text) == ["https://c.test/3", "https://a.test/1", "http://d.test/4"]


def test_links_keep_only_absolute_http_urls_from_links():
    html = ('<a href="mailto:a@b.test">m</a><a href="tel:+15550100">t</a><a href="/relative">r</a>'
            '<a href="//cdn.test/x">p</a><a href="javascript:alert(1)">j</a><a href="ftp://f.test/">f</a>'
            '<a href="https://">no host</a><a href="http://[::1">broken</a><area href="https://map.test/a">'
            '<link href="https://fonts.test/css"><img src="https://pixel.test/1.gif">'
            '<a href=" https://ok.test/a?x=1&amp;y=2 ">ok</a><a href="HTTPS://UP.TEST/">u</a>')
    assert extract_links(html, "") == ["https://map.test/a", "https://ok.test/a?x=1&y=2", "HTTPS://UP.TEST/"]


@pytest.mark.parametrize(("text", "link"), [
    ("Go to https://x.test/a.", "https://x.test/a"),
    ("Go to https://x.test/a?b=1,", "https://x.test/a?b=1"),
    ("Really https://x.test/a!?", "https://x.test/a"),
    ("Lists: https://x.test/a; https://x.test/b:", "https://x.test/a"),
    ("(see https://x.test/a)", "https://x.test/a"),
    ("(see https://x.test/wiki/A_(b)).", "https://x.test/wiki/A_(b)"),
    ("<https://x.test/a>", "https://x.test/a"),
    ('"https://x.test/a"', "https://x.test/a"),
    ("https://x.test/path.html", "https://x.test/path.html"),
    ("HTTP://X.TEST/A", "HTTP://X.TEST/A"),
])
def test_links_in_text_lose_trailing_punctuation_and_an_unbalanced_paren(text, link):
    assert extract_links(None, text)[0] == link


def test_links_from_text_without_a_host_or_with_a_foreign_scheme_are_left_out():
    assert extract_links(None, "https:// and http:/x.test and xhttps://x.test and ftp://x.test") == []


# ====================================================================== codes


@pytest.mark.parametrize(("text", "codes"), [
    ("Your code is 482913.", ["482913"]),
    ("1234 and 12345678", ["1234", "12345678"]),
    ("code: 482913\nagain 482913", ["482913"]),  # no repeats
    ("G-582046 is your code", ["582046"]),  # a dash joins digit runs only
    ("(482913)", ["482913"]),
    ("#10482", ["10482"]),  # documented: indistinguishable from a code
    # length: 4 to 8 digits
    ("123 and 123456789", []),
    # touching letters, digits or @
    ("a1234 1234b 1234@x.test user@1234 ٣1234", []),
    # dates and times (joined by / : . , -)
    ("2026-12-01 01.12.2026 12/31/2026 09:46:07 1234:56", []),
    # spelled-out dates: a year after a month name, with or without a day
    ("December 1, 2026; 1 Dec 2026; Dec. 2026; 1. Dezember 2026; 1er décembre 2026", []),
    # prices: after (or before) a currency sign or code, thousands and decimals joined
    ("$1234 € 5678 1234€ 5678 £ ¥9999 EUR 1234 1234 USD 1,234.56 1.249,00", []),
    # phone numbers: after +, joined by - / . or a space between digit groups
    ("+4930123456 +1 555 010 4477 0800 123 4567 030/1234567 555-0199 (555) 0100-2000", []),
    # URLs (with and without a scheme)
    ("https://t.test/track/12345678 www.shop.test/r/98765 x://y/4444", []),
    # a year after © (or (c), Copyright) on the same line
    ("© 2026 Acme\n(c) 2025\nCopyright 2024 Acme\n© Acme Corp. 2023", []),
    ("© 2026\nYour code 2031", ["2031"]),  # a new line: the © no longer applies
    ("© Acme 4821", ["4821"]),  # not a year
    # IBAN and card groups
    ("DE89 3704 0044 0532 0130 00", []),
    ("0 4 7 7 and 5 8 3 1 0 9", []),
    # non-ASCII digits are no codes, but touch
    ("１２３４５６ and ١٢٣٤٥٦", []),
])
def test_code_rules(text, codes):
    assert extract_codes(text) == codes


def test_code_pattern_takes_group_one_else_the_match():
    text = "Ref 1234. Your PIN: 98-76 and token ABC-123-XYZ."
    assert extract_codes(text, r"PIN: (\d\d-\d\d)") == ["98-76"]
    assert extract_codes(text, r"[A-Z]{3}-\d{3}-[A-Z]{3}") == ["ABC-123-XYZ"]
    assert extract_codes(text, r"(?:nothing)") == []
    assert extract_codes(text, r"(\d+)|(x)") == ["1234", "98", "76", "123"]


@pytest.mark.parametrize("pattern", ["(", "[a-", "*x", "(?P<1>x)"])
def test_an_invalid_code_pattern_is_a_clear_typed_error(pattern):
    with pytest.raises(CodePatternError) as caught:
        extract_codes("x", pattern)
    assert isinstance(caught.value, ReadingError) and isinstance(caught.value, ValueError)
    assert f"--code-pattern {pattern!r} is not a valid regular expression" in str(caught.value)
    with pytest.raises(CodePatternError):
        read(SIMPLE, code_pattern=pattern)


def test_code_pattern_applies_to_the_show_object():
    assert read(SIMPLE, code_pattern=r"code is (\d{3})")["codes"] == ["123"]


# ====================================================================== waiting: criteria


def summary(**overrides: Any) -> dict[str, Any]:
    message = read(SIMPLE)
    message.update(overrides)
    return message


@pytest.mark.parametrize(("criteria", "expected"), [
    (WaitCriteria(), True),
    (WaitCriteria(to="a@outbox.test"), True),  # envelope recipient
    (WaitCriteria(to="A@OUTBOX.TEST"), True),  # case-insensitive
    (WaitCriteria(to="<cc@outbox.test>"), True),  # a Cc address
    (WaitCriteria(to="outbox.test"), False),  # exact, never a substring
    (WaitCriteria(to="aa@outbox.test"), False),
    (WaitCriteria(from_="shop@shop.test"), True),  # the From address
    (WaitCriteria(from_="BOUNCE@shop.test"), True),  # the envelope sender
    (WaitCriteria(from_="Jürgen Shop"), False),  # a display name is no address
    (WaitCriteria(subject=r"Code f.r"), True),  # re.search
    (WaitCriteria(subject=r"^Code"), False),
    (WaitCriteria(contains="IHR CODE"), True),  # in the subject, case-insensitive
    (WaitCriteria(contains="code is 123"), True),  # in the text
    (WaitCriteria(contains="here\nYour"), True),  # subject + text
    (WaitCriteria(contains="nowhere"), False),
    (WaitCriteria(to="b@outbox.test", from_="shop@shop.test", subject="heute", contains="123456"), True),
    (WaitCriteria(to="b@outbox.test", from_="shop@shop.test", subject="heute", contains="999"), False),
])
def test_matches_requires_every_given_criterion(criteria, expected):
    assert matches(criteria, summary()) is expected


def test_matches_compares_arrival_time_never_the_date_header():
    arrived = dt.datetime(2026, 12, 1, 9, 46, 8, tzinfo=dt.timezone.utc)
    message = summary(received=arrived.isoformat(), date="1999-01-01T00:00:00+00:00")

    assert matches(WaitCriteria(since=Since(arrived)), message)  # at or after
    assert matches(WaitCriteria(since=Since(arrived - dt.timedelta(seconds=1))), message)
    assert not matches(WaitCriteria(since=Since(arrived + dt.timedelta(microseconds=1))), message)
    # --since ID: strictly after that message
    assert not matches(WaitCriteria(since=Since(arrived, after_id="m0")), message)
    assert matches(WaitCriteria(since=Since(arrived - dt.timedelta(microseconds=1), after_id="m0")),
                   message)
    # an arrival time that cannot be read never counts as "after"
    assert not matches(WaitCriteria(since=Since(arrived)), summary(received=None))
    assert not matches(WaitCriteria(since=Since(arrived)), summary(received="yesterday"))


def test_matches_works_on_a_bare_summary_mapping():
    assert matches(WaitCriteria(to="x@outbox.test", contains="hello"),
                   {"envelope": {"to": ["x@outbox.test"]}, "text": "Hello"})
    assert not matches(WaitCriteria(from_="a@b.test", subject="x"), {})


def test_an_invalid_subject_pattern_is_a_clear_typed_error():
    with pytest.raises(CriteriaError, match=r"--subject '\(' is not a valid regular expression"):
        WaitCriteria(subject="(")


def test_criteria_describe_themselves_for_a_timeout_message():
    since = Since(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc))
    assert WaitCriteria(to="a@x.test", subject="Code", since=since).describe() == [
        "to 'a@x.test'", "subject ~ 'Code'", "since 2026-12-01T09:00:00+00:00"]


# ====================================================================== waiting: --since


NOW = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.timezone.utc)


def test_since_defaults_to_a_minute_before_now():
    assert dt.timedelta(seconds=60) == DEFAULT_SINCE
    assert parse_since(None, now=NOW) == Since(NOW - dt.timedelta(seconds=60))
    default = parse_since(None)
    assert dt.datetime.now(dt.timezone.utc) - default.time >= dt.timedelta(seconds=60)


@pytest.mark.parametrize(("value", "when"), [
    ("2026-12-01T09:30:00Z", dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone.utc)),
    ("2026-12-01T10:30:00+01:00", dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone.utc)),
    ("2026-12-01 09:30:00.250000+00:00",
     dt.datetime(2026, 12, 1, 9, 30, 0, 250000, tzinfo=dt.timezone.utc)),
])
def test_since_reads_iso_8601_times(value, when):
    assert parse_since(value) == Since(when)


def test_since_without_a_zone_is_local_time():
    assert parse_since("2026-12-01T09:30:00").time == dt.datetime(2026, 12, 1, 9, 30).astimezone()


def test_since_a_message_id_means_after_that_message():
    arrivals = {"1764582367.M1P2Q3.host": "2026-12-01T09:46:07.123456+00:00"}
    since = parse_since("1764582367.M1P2Q3.host", arrival_of=arrivals.get)
    assert since == Since(dt.datetime(2026, 12, 1, 9, 46, 7, 123456, tzinfo=dt.timezone.utc),
                          after_id="1764582367.M1P2Q3.host")


@pytest.mark.parametrize("value", ["no-such-id", "", "2026-13-45T99:00"])
def test_since_neither_a_time_nor_a_known_id_is_a_clear_typed_error(value):
    with pytest.raises(SinceError, match=r"neither an ISO 8601 time .* nor the ID of a message"):
        parse_since(value, arrival_of=lambda _id: None)


# ====================================================================== hostile input


def test_unknown_charsets_degrade_to_utf8():
    raw = (b"Subject: =?x-unknown?q?abc?= =?utf-8?q?caf=C3=A9?=\n"
           b"From: =?rot13?q?nop?= <a@b.test>\nMIME-Version: 1.0\n"
           b"Content-Type: text/plain; charset=x-no-such-charset\n\ncaf\xc3\xa9 1234 \xff\n")
    message = read(raw)
    assert message["subject"] == "abccafé"
    assert message["text"] == "café 1234 \ufffd\n"
    assert message["codes"] == ["1234"]
    for charset in (b"base64", b"rot13", b"idna", b"utf-16"):  # codecs that are no text codecs
        odd = read(b"Content-Type: text/plain; charset=" + charset + b"\n\nCode 424242\n")
        assert_show_shape(odd)


@pytest.mark.parametrize("date", [
    "Mon, 1 Jan 99999999999999999999 00:00:00 +0000",  # OverflowError in the email package
    "Mon, 1 Jan 99999 00:00:00 +0000",  # ValueError: year out of range
    "Mon, 31 Feb 2026 25:61:61 +9999",
    "yesterday",
    "",
])
def test_impossible_dates_are_null(date):
    message = read(f"Date: {date}\nSubject: s\n\nbody\n")
    assert message["date"] is None
    assert ["Date", date] in message["headers"]


def test_broken_mime_degrades_without_losing_the_text():
    no_boundary = read("Content-Type: multipart/mixed\n\nCode 123456 in a multipart without boundary\n")
    assert "123456" in no_boundary["text"]
    assert no_boundary["attachments"] == []  # the unsplit multipart is no file

    unterminated = read("Content-Type: multipart/alternative; boundary=x\n\n--x\nContent-Type: "
                        "text/plain\n\nCode 654321\n--x\nContent-Type: text/html\n\n<p>cut")
    assert unterminated["codes"] == ["654321"]

    bad_base64 = read("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
                      "Q29kZTog!!!MTIzNDU2***\n")
    assert_show_shape(bad_base64)

    garbage = read(b"\x00\xff\xfe:::\n\n\x80\x81")
    assert_show_shape(garbage)


def test_non_utf8_bytes_become_replacement_characters():
    message = read(b"Subject: caf\xe9 \xff\nFrom: \xe9t\xe9 <x@y.test>\nX-Raw: \xc3\xa9\n\n\xe9t\xe9 2468\n")
    assert message["subject"] == "caf\ufffd \ufffd"
    assert ["X-Raw", "é"] in message["headers"]  # raw UTF-8 in a header is read as UTF-8
    assert message["text"] == "\ufffdt\ufffd 2468\n"
    assert_show_shape(message)


def test_absurdly_deep_nesting_is_read_without_recursion_errors():
    depth = 3000
    opening = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth))
    message = read("Subject: deep\n" + opening + "Content-Type: text/plain\n\nCode 777888\n")
    assert_show_shape(message)
    assert message["subject"] == "deep"


FIVE_MB = 5 * 1024 * 1024


@pytest.mark.parametrize("body", [
    "1" * FIVE_MB,
    "1234 " * (FIVE_MB // 5),
    "1-" * (FIVE_MB // 2),
    "© 2026 " * (FIVE_MB // 7),
    "https://x.test/" + "a" * FIVE_MB,
    "https://x.test/" + ")" * FIVE_MB,
    "https://x.test/" + "(" * FIVE_MB + "." * 1000,
    "a" * FIVE_MB,
    "www." * (FIVE_MB // 4),
    "December 1, " * (FIVE_MB // 12),
], ids=["digits", "codes", "joined", "copyright", "long-url", "parens", "open-parens", "letters",
        "www", "months"])
def test_five_megabytes_of_text_are_read_in_linear_time(body):
    message = read(f"Subject: big\nContent-Type: text/plain\n\n{body}\n")
    assert_show_shape(message)
    assert all(4 <= len(code) <= 8 for code in message["codes"])


@pytest.mark.parametrize("html", [
    "<a " * (FIVE_MB // 3),  # minutes in the standard library's html.parser
    "<a x=" * (FIVE_MB // 5),
    "<!--" * (FIVE_MB // 4),
    "<" * FIVE_MB,
    "<p>" + "&amp" * (FIVE_MB // 4),
    "<div>" * (FIVE_MB // 5),
    '<a href="https://x.test/' + "9" * FIVE_MB + '">x</a>',
    "<td>1</td>" * (FIVE_MB // 10),
], ids=["open-tags", "open-attrs", "comments", "lt", "entities", "deep-divs", "long-href", "cells"])
def test_five_megabytes_of_hostile_html_are_read_in_linear_time(html):
    message = read(f"Subject: big\nContent-Type: text/html\n\n{html}\n")
    assert_show_shape(message)


ONE_MB = 1024 * 1024


@pytest.mark.parametrize("headers", [
    "To: " + ", ".join(f"u{i}@x.test" for i in range(ONE_MB // 12)) + "\n",
    "From: " + "(" * ONE_MB + "a@b.test\n",
    "To: " + "@" * ONE_MB + "\n",
    "Subject: " + " ".join(["=?utf-8?q?caf=C3=A9?="] * (ONE_MB // 22)) + "\n",
    "Date: " + "1 " * (ONE_MB // 2) + "\n",
    "Content-Type: text/plain; " + "a=b; " * (ONE_MB // 5) + "\n",
    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; "
    + "filename*0=x; " * (ONE_MB // 14) + "\n\nfile\n--b--\n",
    "".join("Subject: " + " ".join(["=?utf-8?q?caf=C3=A9?="] * 180) + "\n" for _ in range(1200)),
    "".join("Content-Type: text/plain; " + "a=b; " * 400 + "\n" for _ in range(1200)),
], ids=["many-addresses", "parens", "ats", "encoded-words", "date", "content-type-params",
        "disposition-params", "5mb-of-subjects", "2mb-of-content-types"])
def test_megabytes_of_headers_are_read_in_bounded_time(headers):
    """The email package parses some header values in quadratic time (seconds for 100 KB)."""
    message = read(headers + "\nCode 135791\n")
    assert_show_shape(message)


def test_a_long_recipient_list_loses_no_address():
    addresses = [f"=?utf-8?q?N=C3=A9{i}?= <u{i}@x.test>" for i in range(20000)]
    message = read("To: " + ", ".join(addresses) + "\nSubject: many\n\nbody\n")
    assert message["to"] == [f"u{i}@x.test" for i in range(20000)]
    assert message["subject"] == "many"


def test_a_message_cannot_forge_its_envelope_lines():
    message = read("X-Outbox-Envelope-From: real@sender.test\nX-Outbox-Envelope-To: real@outbox.test\n"
                   "X-Outbox-Envelope-To: forged@evil.test\nSubject: s\n\nbody\n")
    assert message["envelope"]["to"] == ["real@outbox.test"]
    assert [name for name, _ in message["headers"]] == ["Subject"]


# ====================================================================== properties


@BOUNDED
@given(st.binary(max_size=3000))
@example(b"Content-Type: multipart/mixed; boundary=a\n\n--a\n\n--a--")
@example(b"Subject: =?utf-8?b?/w==?=\n\n")
@example(b"Date: Mon, 1 Jan 99999999999999999999 00:00:00 +0000\n\n")
def test_reading_arbitrary_bytes_never_raises(raw):
    assert_show_shape(read(raw))


HEADER_NAMES = st.sampled_from(["Subject", "From", "To", "Cc", "Date", "Content-Type",
                                "Content-Transfer-Encoding", "Content-Disposition", "X-Outbox-Envelope-To",
                                "MIME-Version", "X-Any"])
HEADER_VALUES = st.one_of(
    st.text(max_size=60).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    st.sampled_from(["multipart/mixed; boundary=b", "multipart/alternative; boundary=b",
                     "text/html; charset=x-bad", "text/plain; charset=utf-8", "message/rfc822",
                     "base64", "quoted-printable", "attachment; filename*=utf-8''%FF.pdf",
                     "=?utf-8?q?=FF?=", "=?bogus?b?!!?=", "<a@b>, <>", "Mon, 1 Jan 99999 00:00 +0000"]))
BODY_PIECES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["--b\n", "--b--\n", "\n\n", "<p>", "</td><td>", "<a href='https://x.test/1'>",
                     "Code 123456", "© 2026", "&#0;", "&#x110000;", "=\n", "=FF", "<script>", "https://"]))


@st.composite
def mime_messages(draw: Any) -> bytes:
    headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8))
    body = "".join(draw(st.lists(BODY_PIECES, max_size=20)))
    text = "".join(f"{name}: {value}\n" for name, value in headers) + "\n" + body
    return text.encode("utf-8", "surrogatepass")


@BOUNDED
@given(mime_messages())
def test_reading_mime_shaped_junk_never_raises(raw):
    message = read(raw)
    assert_show_shape(message)


@BOUNDED
@given(st.text(max_size=300), st.text(max_size=300))
@example("<a href='https://a.test/(x)'>", "https://b.test/x)).")
def test_links_are_always_unique_absolute_http_urls(html, text):
    from urllib.parse import urlsplit

    links = extract_links(html, text)
    assert len(links) == len(set(links))
    for link in links:
        parts = urlsplit(link)
        assert parts.scheme.lower() in ("http", "https") and parts.hostname


@BOUNDED
@given(st.text(alphabet=st.sampled_from("0123456789 -/.:,+$€©@aZ\n()"), max_size=200) | st.text(max_size=200))
@example("1234-5678 9999 © 2026 +49 1234")
def test_codes_are_always_unique_runs_of_four_to_eight_ascii_digits_in_the_text(text):
    codes = extract_codes(text)
    assert len(codes) == len(set(codes))
    for code in codes:
        assert 4 <= len(code) <= 8 and code.isascii() and code.isdigit()
        assert code in text


@BOUNDED
@given(st.text(max_size=400))
def test_html_to_text_never_raises_and_leaves_no_blank_lines_or_double_spaces(html):
    text = html_to_text(html)
    for line in text.split("\n") if text else []:
        assert line and line == line.strip() and "  " not in line


# ====================================================================== real clients, real server


@pytest.fixture
def outbox_server(tmp_path):
    from smtp_desktop.outbox import Outbox, OutboxServer

    with OutboxServer(Outbox(tmp_path / "outbox")) as server:
        yield server


def _stored(server: Any) -> dict[str, Any]:
    (summary_,) = server.outbox.list()
    stored = server.outbox.envelope(summary_.id)
    envelope = {"from": stored.mail_from, "to": list(stored.rcpt_tos), "client": stored.client,
                "user": stored.user}
    return read(server.outbox.raw(summary_.id), id=summary_.id, envelope=envelope)


def test_a_mail_sent_with_smtplib_reads_back_as_its_corpus_file_says(outbox_server):
    eml = MAILS / "signup-alternative.eml"
    with smtplib.SMTP(outbox_server.host, outbox_server.port, timeout=10) as client:
        client.sendmail("bounce@orbit.test", ["sam@outbox.test"], eml.read_bytes())

    message = _stored(outbox_server)
    expected = expected_of(eml)
    assert message["codes"] == expected["codes"]
    assert message["links"] == expected["links"]
    assert message["envelope"]["from"] == "bounce@orbit.test"
    assert message["envelope"]["to"] == ["sam@outbox.test"]
    assert not any(name.lower().startswith("x-outbox-envelope") for name, _ in message["headers"])
    assert matches(WaitCriteria(to="SAM@outbox.test", from_="bounce@orbit.test", subject="Activate"),
                   message)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_a_mail_sent_with_swaks_reads_back_as_its_corpus_file_says(outbox_server):
    eml = MAILS / "signup-html.eml"
    subprocess.run(["swaks", "--server", f"{outbox_server.host}:{outbox_server.port}",
                    "--from", "hello@nimbus.test", "--to", "qa-run-17@outbox.test",
                    "--data", str(eml), "--silent", "2"], check=True, timeout=60)

    message = _stored(outbox_server)
    expected = expected_of(eml)
    assert message["subject"] == expected["subject"]
    assert message["codes"] == expected["codes"] == ["719304"]
    assert message["links"] == expected["links"]
    assert matches(WaitCriteria(to="qa-run-17@outbox.test", contains="finish signing up"), message)


# ====================================================================== module hygiene


def test_importing_the_reader_loads_no_qt_no_aiosmtpd_no_html_parser():
    code = ("import sys, smtp_desktop.outbox.reading\n"
            "heavy = [m for m in ('PySide6', 'aiosmtpd', 'lxml', 'email.parser')"
            " if m in sys.modules]\n"
            "print(heavy)")
    result = run_python(code)
    assert result.stdout.strip() == "[]"
