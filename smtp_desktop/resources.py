"""Bundled data files: `smtp_desktop/resources/` in an installed wheel, the repo's `resources/`
in a source checkout or editable install."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    installed = _PACKAGE_DIR / "resources"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "resources"


def resource_path(name: str) -> Path:
    """The path of a bundled file, e.g. resource_path("presets.json")."""
    return resources_dir() / name


def read_text(name: str) -> str:
    return resource_path(name).read_text(encoding="utf-8")
