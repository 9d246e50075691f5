"""Untrusted text made safe to show: one rule for every line printed for people.

Text from files, servers, message headers and the command line can hold characters that rewrite
a terminal or a log: line breaks that fake a second line, escape sequences (ESC, C1's CSI),
DEL, or bidi controls that reorder what is displayed (CVE-2021-42574, "Trojan Source"). They are
shown as visible escapes instead: C0 controls, DEL and C1 (U+0080-U+009F) as `\\xNN`, bidi
controls and lone surrogates (UTF-8 cannot encode them) as `\\uNNNN`. JSON output keeps the real
text; only text meant for people goes through `escape`.
"""

from __future__ import annotations

import re

# Bidi controls: ALM, LRM, RLM, LRE..RLO (embeddings and overrides), LRI..PDI (isolates).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` on one line with every unsafe character written as a visible escape."""
    return _UNSAFE.sub(_escaped, text)


def escape_lines(text: str) -> str:
    """Like `escape`, but keeps line feeds: for messages whose lines are ours, with untrusted
    values that were escaped where they were put in (or hold no line feed)."""
    return _UNSAFE_BUT_NEWLINE.sub(_escaped, text)
