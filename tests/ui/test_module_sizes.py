"""The window stays a set of small panels: no module of `ui/` grows past 600 lines (issue 15)."""

from __future__ import annotations

from pathlib import Path

import smtp_desktop.ui

LIMIT = 600


def test_no_ui_module_is_over_600_lines():
    folder = Path(smtp_desktop.ui.__file__).parent
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines())
             for path in folder.glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > LIMIT} == {}
