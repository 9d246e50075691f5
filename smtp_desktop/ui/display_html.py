"""A mail's HTML made safe and cheap for the Outbox tab's QTextBrowser: plain Python, no Qt.

Runs in the worker that reads the message. Qt lays rich text out on the GUI thread, and some
shapes cost it without bound: tables nested 22 deep (727 bytes) took 92 s, 18,000 images 38 s.
So the HTML is parsed with lxml and bounded (table nesting, element depth, element, image and
text counts), and every way a document names something to load is taken out (style sheets,
`url()`, `@import`, background attributes, frames and objects), as are `title` tooltips, which
Qt shows as rich text. The view draws images itself; see `message_viewer.InertHtmlView`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TABLE_DEPTH = 3  # nested tables beyond this are shown as plain blocks
MAX_SPAN = 50  # a cell's colspan / rowspan (1000 cells spanning 100,000 took 80 s)
MAX_DEPTH = 40  # elements deeper than this are shown as their text
MAX_ELEMENTS = 4_000
MAX_IMAGES = 100
MAX_TEXT = 200_000  # characters of text

TABLE_TAGS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption",
                        "colgroup", "col"})
CELL_TAGS = frozenset({"td", "th"})
# Elements that load something, run something or say how to: never handed to Qt.
DROPPED_TAGS = frozenset({"link", "script", "object", "embed", "iframe", "frame", "frameset",
                          "applet", "base", "meta", "svg", "math", "audio", "video", "source",
                          "track", "picture", "template"})
# Attributes that name something to load, or give rich text to a tooltip.
DROPPED_ATTRIBUTES = ("background", "srcset", "lowsrc", "dynsrc", "poster", "longdesc", "data",
                      "codebase", "archive", "usemap", "title")
_CSS_URL = re.compile(r"url\s*\([^)]*\)?", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import[^;]*;?", re.IGNORECASE)
BLOCKED_SOURCE = "about:blank"  # every image's src: the view draws a blank of its size

NOTES = {
    "elements": f"only the first {MAX_ELEMENTS:,} elements are shown",
    "images": f"only the first {MAX_IMAGES} images are shown",
    "tables": f"tables nested more than {MAX_TABLE_DEPTH} deep are shown as plain blocks",
    "depth": f"elements nested more than {MAX_DEPTH} deep are shown as their text",
    "text": f"only the first {MAX_TEXT:,} characters of text are shown",
}


@dataclass(frozen=True)
class DisplayHtml:
    """HTML the view may render, and what was left out or simplified (sentences)."""

    html: str
    notes: tuple[str, ...] = ()


def displayable_html(source: str) -> DisplayHtml:
    """`source` bounded and stripped of everything that would load; never raises on content."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(source)
    except (etree.ParserError, ValueError):  # empty, or nothing but a comment
        return DisplayHtml("")
    found = _simplify(root)
    shown = lxml_html.tostring(root, encoding="unicode")
    return DisplayHtml(shown, tuple(NOTES[key] for key in NOTES if key in found))


def _simplify(root: object) -> set[str]:
    """Bound the tree in place, in document order; returns the keys of NOTES that applied."""
    found: set[str] = set()
    doomed = []
    elements = images = 0
    text_left = MAX_TEXT
    stack: list[tuple[object, int, int]] = [(root, 0, 0)]
    while stack:
        element, depth, tables = stack.pop()
        tag = element.tag  # type: ignore[attr-defined]
        if not isinstance(tag, str) or tag.lower() in DROPPED_TAGS:  # comments, instructions
            doomed.append(element)
            continue
        tag = tag.lower()
        elements += 1
        if elements > MAX_ELEMENTS:
            found.add("elements")
            doomed.append(element)
            continue
        attributes = element.attrib  # type: ignore[attr-defined]
        for name in DROPPED_ATTRIBUTES:
            attributes.pop(name, None)
        if "style" in attributes:
            attributes["style"] = _without_loads(attributes["style"])
        if tag == "style":
            element.text = _without_loads(element.text or "")  # type: ignore[attr-defined]
        elif tag == "img":
            images += 1
            if images > MAX_IMAGES:
                found.add("images")
                doomed.append(element)
                continue
            attributes["src"] = BLOCKED_SOURCE
        if tag in CELL_TAGS:
            for name in ("colspan", "rowspan"):
                if name in attributes:
                    attributes[name] = _bounded_span(attributes[name])
        if tag == "table":
            tables += 1
        if tables > MAX_TABLE_DEPTH and tag in TABLE_TAGS:
            found.add("tables")
            element.tag = "span" if tag in CELL_TAGS else "div"  # type: ignore[attr-defined]
        text_left = _spend(element, text_left, found)
        if depth >= MAX_DEPTH and len(element):  # type: ignore[arg-type]
            found.add("depth")
            text = element.text_content()[:max(text_left, 0)]  # type: ignore[attr-defined]
            text_left -= len(text)
            for child in list(element):  # type: ignore[call-overload]
                element.remove(child)  # type: ignore[attr-defined]
            element.text = text  # type: ignore[attr-defined]
            continue
        stack.extend((child, depth + 1, tables)
                     for child in reversed(list(element)))  # type: ignore[call-overload]
    for element in doomed:
        element.drop_tree()  # type: ignore[attr-defined]
    return found


def _spend(element: object, text_left: int, found: set[str]) -> int:
    """Cut the element's own text and tail to what is left of the text budget."""
    for name in ("text", "tail"):
        text = getattr(element, name)
        if text:
            if len(text) > text_left:
                found.add("text")
                setattr(element, name, text[:max(text_left, 0)] or None)
            text_left -= len(text)
    return text_left


def _bounded_span(value: str) -> str:
    digits = value.strip()[:6]
    return str(min(int(digits), MAX_SPAN)) if digits.isdigit() else "1"


def _without_loads(css: str) -> str:
    return _CSS_URL.sub("none", _CSS_IMPORT.sub("", css))
