"""The README documents every public contract the code defines."""

from __future__ import annotations

from pathlib import Path

from smtp_desktop.app import build_parser
from smtp_desktop.ui.contract import DIALOG_OBJECT_NAMES, OBJECT_NAMES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_contract_object_name_is_documented():
    missing = [name for name in OBJECT_NAMES + DIALOG_OBJECT_NAMES if f"`{name}`" not in README]
    assert missing == []


def test_every_command_is_documented():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    missing = [name for name in commands if f"`{name}" not in README]
    assert missing == []
