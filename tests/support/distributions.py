"""A fake installed distribution, as importlib.metadata sees one."""

from __future__ import annotations

from pathlib import Path


def fake_distribution(root: Path, name: str, version: str) -> Path:
    """`root` with a `NAME-VERSION.dist-info`; put it first on sys.path to shadow the real one."""
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root
