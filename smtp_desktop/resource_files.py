"""Where the bundled data files (resources/) are, installed or running from a checkout.

The wheel ships the top-level `resources/` folder as `smtp_desktop/resources/`; a source checkout
keeps it beside the package. This module is named `resource_files` rather than `resources` so it
never shadows that installed data folder.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dirs() -> tuple[Path, ...]:
    """The folders searched for resources, in order: inside the package, then the checkout."""
    return (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources")


def resource_path(name: str) -> Path:
    """The path of the bundled resource `name` (e.g. "presets.json" or "help/app-password.html").

    Raises FileNotFoundError naming every folder searched when no copy exists.
    """
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"Resource names are relative paths inside resources/, not '{name}'.")
    for folder in resource_dirs():
        candidate = folder / relative
        if candidate.exists():
            return candidate
    searched = ", ".join(str(folder) for folder in resource_dirs())
    raise FileNotFoundError(f"The bundled file {name} is missing; looked in {searched}.")
