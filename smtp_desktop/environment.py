"""Known-bad combinations of the Qt binding and CPython, detected without importing Qt.

PySide6/shiboken6 6.12.0 drops one reference to ``None`` on every void call. ``None`` is immortal
from CPython 3.12 on, so only 3.10 and 3.11 abort ("none_dealloc: deallocating None") after a few
thousand calls: a few hundred keystrokes in the window. ``pyproject.toml`` excludes the same
releases (keep both lists in step); this module catches a binding installed by hand.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class BrokenRelease:
    """A binding release that is broken on CPython below ``fixed_in_python``."""

    distribution: str
    version: str
    fixed_in_python: tuple[int, int]
    why: str


KNOWN_BAD: tuple[BrokenRelease, ...] = (
    BrokenRelease("shiboken6", "6.12.0", (3, 12),
                  "drops a reference to None on every void Qt call; the app aborts after a few "
                  "thousand calls"),
)


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment_warnings(python_version: tuple[int, int] | None = None) -> list[str]:
    """One sentence per known-bad release installed here, with the way out; empty when all is well."""
    python = python_version or sys.version_info[:2]
    warnings = []
    for release in KNOWN_BAD:
        if python >= release.fixed_in_python:
            continue
        if _installed_version(release.distribution) != release.version:
            continue
        fixed = ".".join(map(str, release.fixed_in_python))
        warnings.append(
            f"{release.distribution} {release.version} on CPython {python[0]}.{python[1]} "
            f"{release.why}. Install another release (pip install 'PySide6-Essentials!="
            f"{release.version}') or use CPython {fixed}+.")
    return warnings
