"""The window's remembered size and splitter position: `window.json` in the config folder.

Plain JSON, never a secret, and never a reason to fail: a missing or damaged file means "use
the defaults", and a write that fails is logged and forgotten.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

class WindowState:
    """The window's size and the splitter's sizes (a plain class: on the start-up path)."""

    __slots__ = ("height", "splitter", "width")

    def __init__(self, width: int, height: int, splitter: tuple[int, ...] = ()) -> None:
        self.width, self.height = width, height
        self.splitter = splitter  # the form's and the side pane's widths

    def to_json(self) -> dict[str, object]:
        return {"version": 1, "width": self.width, "height": self.height,
                "splitter": list(self.splitter)}


def load_window_state(path: Path) -> WindowState | None:
    """The remembered state, or None when there is none that makes sense."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        width, height = data["width"], data["height"]
        splitter = tuple(data.get("splitter", ()))
        numbers = (width, height, *splitter)
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 100_000
                   for n in numbers) or width < 200 or height < 150:
            raise ValueError("out of range")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("ignoring %s: %s", path, exc)
        return None
    return WindowState(width, height, splitter)


def save_window_state(path: Path, state: WindowState) -> None:
    from smtp_desktop.config.store import write_atomically

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(state.to_json()) + "\n")
    except Exception as exc:  # a convenience: never let it stop the window from closing
        log.warning("could not remember the window's size in %s: %s", path, exc)
