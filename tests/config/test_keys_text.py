"""Pasting blocks of JavaMail keys: the three formats, line-numbered errors, round trips, merging."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smtp_desktop.config.errors import ConfigError
from smtp_desktop.config.keys import CATALOGUE, DEFAULT_KEYS
from smtp_desktop.config.keys_text import (
    KeyChange,
    KeysTextError,
    format_keys_text,
    merge_keys,
    parse_keys_text,
)

SEED = (("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true"))


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("text", [
    "{ mail.smtp.auth: true, mail.smtp.starttls.enable: true }",
    "{mail.smtp.auth:true,mail.smtp.starttls.enable:true}",
    "{\n  mail.smtp.auth: true,\n  mail.smtp.starttls.enable: true,\n}",
    "{\n  mail.smtp.auth: true\n  mail.smtp.starttls.enable: true\n}",
    "mail.smtp.auth: true\nmail.smtp.starttls.enable: true\n",
    "mail.smtp.auth: true, mail.smtp.starttls.enable: true",
    '{ "mail.smtp.auth": "true", \'mail.smtp.starttls.enable\': \'true\' }',
    '{"mail.smtp.auth": true, "mail.smtp.starttls.enable": true}',
    '{\r\n  "mail.smtp.auth": "true",\r\n  "mail.smtp.starttls.enable": "true"\r\n}\r\n',
    "# from the wiki\nmail.smtp.auth=true\n! old style comment\n\nmail.smtp.starttls.enable = true\n",
    "\ufeffmail.smtp.auth=true\r\nmail.smtp.starttls.enable=true",
])
def test_every_supported_format_reads_the_seed_keys(text):
    assert parse_keys_text(text) == SEED


@pytest.mark.parametrize(("text", "expected"), [
    ("", ()),
    ("   \n\t", ()),
    ("{}", ()),
    ("{ }", ()),
    ("# nothing here\n", ()),
    ("mail.from = Acme, Inc <noreply@acme.example>", (("mail.from", "Acme, Inc <noreply@acme.example>"),)),
    ('{ mail.from: "Acme, Inc <a@b.c>" }', (("mail.from", "Acme, Inc <a@b.c>"),)),
    ("mail.smtp.ssl.protocols: TLSv1.2 TLSv1.3", (("mail.smtp.ssl.protocols", "TLSv1.2 TLSv1.3"),)),
    ("mail.smtp.localaddress: ::1", (("mail.smtp.localaddress", "::1"),)),
    ("mail.smtp.ssl.trust:", (("mail.smtp.ssl.trust", ""),)),
    ('a: "say \\"hi\\"\\tnow"', (("a", 'say "hi"\tnow'),)),
    ("a: 'it\\'s'", (("a", "it's"),)),
    ('{"mail.smtp.timeout": 10000, "x": 1.50, "y": false}',
     (("mail.smtp.timeout", "10000"), ("x", "1.50"), ("y", "false"))),
    ("a: 1\na: 2", (("a", "1"), ("a", "2"))),
    ('{"a": 1, "a": 2}', (("a", "1"), ("a", "2"))),
    ("a: 1 # not a comment inside a value", (("a", "1 # not a comment inside a value"),)),
    ('a: "x" # a comment after a quoted value', (("a", "x"),)),
])
def test_values_keep_spaces_colons_commas_and_quotes(text, expected):
    assert parse_keys_text(text) == expected


@pytest.mark.parametrize(("text", "line", "words"), [
    ("mail.smtp.auth true", 1, "expected ':' or '='"),
    ("mail.smtp.auth: true\nmail.smtp.timeout 5000", 2, "after the key 'mail.smtp.timeout'"),
    ("{ mail.smtp.auth: true,\n  mail.smtp.timeout: 5000", 2, "does not end with '}'"),
    ('a: 1\nb: "unclosed\nc: 3', 2, "not closed"),
    ('a: "x" y', 1, "put the whole value in quotes"),
    ('a: "bad \\q escape"', 1, "not a valid escape"),
    ("a: 1\n: 2", 2, "expected a key"),
    ('a: 1\n"": 2', 2, "key is empty"),
    ('{\n  "a": 1,\n  "b": null\n}', 3, "null"),
    ('{\n  "a": [1, 2]\n}', 2, "a list"),
    ('{"a": {"b": 1}}', 1, "an object"),
    ('{"": 1}', 1, "key is empty"),
])
def test_errors_say_which_line_is_wrong(text, line, words):
    with pytest.raises(KeysTextError) as caught:
        parse_keys_text(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"Line {line}: ")
    assert words in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_format_writes_the_seed_format():
    assert format_keys_text(DEFAULT_KEYS) == "{ mail.smtp.auth: true, mail.smtp.starttls.enable: true }"
    assert format_keys_text(()) == "{}"
    assert format_keys_text(SEED, multiline=True) == \
        "{\n  mail.smtp.auth: true,\n  mail.smtp.starttls.enable: true\n}"
    assert format_keys_text((("mail.from", "Acme, Inc <a@b.c>"),)) == '{ mail.from: "Acme, Inc <a@b.c>" }'


# ---------------------------------------------------------------- properties

_NAMES = [spec.name for spec in CATALOGUE]
_plausible_keys = st.one_of(
    st.sampled_from(_NAMES),
    st.from_regex(r"mail\.[a-z]{1,8}(\.[A-Za-z]{1,8}){0,3}", fullmatch=True),
    st.text(min_size=1, max_size=12).filter(str.strip),
)
_plausible_values = st.one_of(
    st.sampled_from(["true", "false", "TRUE", "10000", "1.50", "-1", "null", "NaN", "", " ", "*",
                     "TLSv1.2 TLSv1.3", "LOGIN PLAIN", "::1", "[::1]", "Me <me@example.com>",
                     '"quoted"', "'single'", "a, b: c", "x=y", "# hash", "{braces}", "back\\slash",
                     "tab\there", "two\nlines", "trailing ", " leading", "ünïcødé ✓"]),
    st.text(alphabet=st.sampled_from(list(" :,='\"\\#!{}\n\t.@-_aZ09é")), max_size=20),
    st.text(alphabet=st.sampled_from(list("a ,:='\"#{}")), max_size=5),
    st.text(max_size=20),
)
_key_sets = st.lists(st.tuples(_plausible_keys, _plausible_values), max_size=8).map(tuple)


@settings(max_examples=400)
@given(keys=_key_sets, multiline=st.booleans())
@example(keys=(("k", "null"),), multiline=False)
@example(keys=(('"q"', "1"),), multiline=False)
@example(keys=(("a key", "null"),), multiline=False)
@example(keys=(("k", "x,"),), multiline=False)
def test_format_then_parse_round_trips(keys, multiline):
    assert parse_keys_text(format_keys_text(keys, multiline=multiline)) == keys


_pasty_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from(["{", "}", ":", "=", ",", '"', "'", "\\", "\n", "\r", "#", "!", " ",
                              "\t", "mail.smtp.auth", "true", "1", "null", "[", "]", "\\u12",
                              "\\n", "\ufeff", "é"]), max_size=30).map("".join),
)


@settings(max_examples=600)
@given(text=_pasty_text)
@example(text="{" * 5000)
@example(text='{"a":' + "[" * 5000)
def test_parse_raises_only_keys_text_error_and_its_output_round_trips(text):
    try:
        keys = parse_keys_text(text)
    except KeysTextError as exc:
        assert exc.line is None or exc.line >= 1
        return
    assert all(isinstance(k, str) and isinstance(v, str) and k.strip() for k, v in keys)
    assert parse_keys_text(format_keys_text(keys)) == keys


# ---------------------------------------------------------------- merging


def test_merge_sorts_pasted_keys_into_add_update_conflict_and_unchanged():
    existing = (("mail.smtp.auth", "true"), ("mail.smtp.timeout", "5000"),
                ("mail.smtp.starttls.enable", "TRUE"), ("mail.from", ""))
    pasted = (("mail.smtp.auth", "true"), ("mail.smtp.timeout", "20000"),
              ("mail.smtp.starttls.enable", "true"), ("mail.from", "me@example.com"),
              ("mail.smtp.ssl.enable", "false"))
    plan = merge_keys(existing, pasted)
    assert plan.add == (("mail.smtp.ssl.enable", "false"),)
    assert plan.unchanged == ("mail.smtp.auth",)
    assert plan.update == (KeyChange(2, "mail.smtp.starttls.enable", "TRUE", "true"),
                           KeyChange(3, "mail.from", "", "me@example.com"))
    assert plan.conflicts == (KeyChange(1, "mail.smtp.timeout", "5000", "20000"),)
    assert plan.changes_anything

    kept = plan.apply()
    assert kept == (("mail.smtp.auth", "true"), ("mail.smtp.timeout", "5000"),
                    ("mail.smtp.starttls.enable", "true"), ("mail.from", "me@example.com"),
                    ("mail.smtp.ssl.enable", "false"))
    assert plan.apply(overwrite=True)[1] == ("mail.smtp.timeout", "20000")
    assert plan.apply(overwrite=["mail.smtp.timeout"]) == plan.apply(overwrite=True)
    assert plan.apply(overwrite=["something.else"]) == kept


def test_merge_uses_the_last_pasted_value_and_the_first_existing_row():
    plan = merge_keys((("a", "1"), ("b", "2"), ("a", "3")), (("a", "9"), ("c", "x"), ("a", "1")))
    assert plan.unchanged == ("a",)
    assert plan.add == (("c", "x"),)
    assert plan.conflicts == ()


def test_merging_nothing_changes_nothing():
    plan = merge_keys(SEED, parse_keys_text(format_keys_text(SEED)))
    assert not plan.changes_anything
    assert plan.apply(overwrite=True) == SEED
