"""How a check's outcome reads: a pure function from an Outcome to HTML and a status line."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from smtp_desktop.ui import tint

SETTINGS_WORDS = {"saved": "the saved settings", "unsaved": "the unsaved settings in this form"}


@dataclass(frozen=True)
class RenderedOutcome:
    html: str
    status: str
    category: str  # the failure's slug ("auth"); empty when it worked


def render_outcome(outcome: Any, *, dark: bool, settings: str = "saved") -> RenderedOutcome:
    """The result view's HTML and the status line for `outcome` (a `mail.Outcome`).

    Failures lead with their human title ("Login refused"), never the category's slug;
    `settings` ("saved" or "unsaved") says which settings were tested.
    """
    tested = SETTINGS_WORDS.get(settings, settings)
    if outcome.ok:
        headline = "Test email sent" if outcome.probe is None else "Connection works"
        security = outcome.security if outcome.security != "none" else "not encrypted"
        parts = [f"<p><b style='color:{tint.pick(tint.SUCCESS, dark)}'>✔ {headline}</b> via "
                 f"{escape(outcome.server)} ({escape(security)}) in "
                 f"{outcome.elapsed_ms:.0f} ms, with {tested}.</p>",
                 f"<p>{escape(outcome.message)}</p>"]
        status = f"{headline} ({tested}): {outcome.message}"
        category = ""
    else:
        category = outcome.category.value if outcome.category else "error"
        title = outcome.title
        parts = [f"<p><b style='color:{tint.pick(tint.ERROR, dark)}'>✖ {escape(title)}</b> "
                 f"(tested {tested})</p>", f"<p>{escape(outcome.message)}</p>"]
        if outcome.advice:
            parts.append(f"<p><b>Next step:</b> {escape(outcome.advice)}</p>")
        if category == "auth":
            parts.append("<p><a href='help:app-password'>How to create an app password</a></p>")
        status = f"{title}: {outcome.message}"
    if outcome.unused_keys:
        parts.append(f"<p>Keys not used by this app: {escape(', '.join(outcome.unused_keys))}</p>")
    return RenderedOutcome("".join(parts), status, category)
