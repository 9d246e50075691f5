"""The Outbox tab's HTML, bounded and stripped of loads before Qt sees it (no Qt here)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from smtp_desktop.ui.display_html import (
    BLOCKED_SOURCE,
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_IMAGES,
    MAX_TABLE_DEPTH,
    MAX_TEXT,
    displayable_html,
)


def table_depth(html: str) -> int:
    root = lxml_html.document_fromstring(html)
    return max((sum(1 for _ in table.iterancestors("table")) + 1 for table in root.iter("table")),
               default=0)


def depth(html: str) -> int:
    root = lxml_html.document_fromstring(html)
    return max(sum(1 for _ in element.iterancestors()) for element in root.iter())


LOADS = re.compile(r"url\s*\(|@import|<link|background=|srcset=|title=|<iframe|<object|<embed"
                   r"|<script|<base|<meta|<svg", re.IGNORECASE)


@pytest.mark.parametrize("html", [
    '<link rel="stylesheet" type="text/css" href="/etc/x.css"><p>a</p>',
    '<style>@import url("/etc/x.css"); p { background: url(/etc/a.png) }</style><p>a</p>',
    '<table background="/etc/a.png"><tr><td style="background-image:url(a.png)">a</td></tr></table>',
    '<img srcset="/etc/a.png 2x" src="/etc/a.png"><p title="&lt;img src=/etc/a.png&gt;">a</p>',
    '<iframe src="/etc"></iframe><object data="/etc/a"></object><embed src="/etc/a">',
    '<base href="file:///etc/"><meta http-equiv="refresh" content="0;url=file:///etc">',
    '<svg><image href="/etc/a.png"/></svg><script>x()</script><p>a</p>',
])
def test_nothing_that_names_something_to_load_is_left(html):
    shown = displayable_html(html).html
    assert not LOADS.search(shown), shown
    for source in re.findall(r'src="([^"]*)"', shown):
        assert source == BLOCKED_SOURCE


def test_text_links_and_formatting_stay():
    shown = displayable_html('<p style="color:#c00">Your code is <b>482913</b>. '
                             '<a href="https://acme.test/v?t=1">Verify</a></p>').html
    assert "482913" in shown and 'href="https://acme.test/v?t=1"' in shown
    assert 'style="color:#c00"' in shown and "<b>" in shown


def test_nested_tables_become_blocks_past_the_limit():
    nested = "<table><tr><td>" * 30 + "deep inside" + "</td></tr></table>" * 30
    shown = displayable_html(nested)
    assert table_depth(shown.html) == MAX_TABLE_DEPTH
    assert "deep inside" in shown.html
    assert any("tables nested" in note for note in shown.notes)


def test_deep_elements_are_shown_as_their_text():
    shown = displayable_html("<div>" * 200 + "deep" + "</div>" * 200)
    assert depth(shown.html) <= MAX_DEPTH + 1 and "deep" in shown.html
    assert any("nested more than" in note for note in shown.notes)


def test_elements_images_and_text_are_counted():
    assert displayable_html("<img src=a>" * (MAX_IMAGES + 50)).html.count("<img") == MAX_IMAGES
    many = displayable_html("<b>x</b>" * (MAX_ELEMENTS * 2))
    assert many.html.count("<b>") < MAX_ELEMENTS and many.notes
    long_text = displayable_html("<p>" + "y" * (MAX_TEXT * 2) + "</p>").html
    assert len(lxml_html.document_fromstring(long_text).text_content()) == MAX_TEXT


@pytest.mark.parametrize("html", ["", "   ", "<!-- only a comment -->", "<", "\x00\x00"])
def test_empty_and_broken_input_gives_empty_html(html):
    assert displayable_html(html).notes == ()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' abdivtrlepmgsc:()@;&#x0\n")), max_size=400))
def test_any_input_gives_bounded_html_without_loads(html):
    shown = displayable_html(html).html
    assert not re.search(r"url\s*\(|@import", shown, re.IGNORECASE)
    if shown:
        assert table_depth(shown) <= MAX_TABLE_DEPTH


def test_cell_spans_are_held_to_a_bound():
    """1000 cells spanning 100,000 columns and rows held Qt's layout for 80 s."""
    shown = displayable_html('<table><tr><td colspan="100000" rowspan="99999999999">x</td>'
                             '<td colspan="2">y</td><td colspan="wide">z</td></tr></table>').html
    assert 'colspan="50"' in shown and 'rowspan="50"' in shown
    assert 'colspan="2"' in shown and 'colspan="1"' in shown
