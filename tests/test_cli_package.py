"""The command line is a package of one module per command group with no import cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import smtp_desktop.cli

PACKAGE = Path(smtp_desktop.cli.__file__).parent


def imports(module: Path, *, top_level_only: bool) -> set[str]:
    """The `smtp_desktop.cli.*` modules that `module` imports (at import time, or anywhere)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "smtp_desktop.cli":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("smtp_desktop.cli."):
                found.add(node.module.rsplit(".", 1)[1])
    return found & {path.stem for path in PACKAGE.glob("*.py")}


def test_no_two_command_modules_import_each_other():
    modules = {path.stem: path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    graph = {name: imports(path, top_level_only=False) - {name} for name, path in modules.items()}
    for name, targets in graph.items():
        for target in targets:
            assert name not in graph.get(target, set()), f"{name} <-> {target}"
    assert graph["output"] == set()  # everything prints through it; it depends on none of them


def test_no_cycle_through_the_old_single_module():
    assert not (PACKAGE.parent / "cli.py").exists()
    assert not (PACKAGE.parent / "cli_outbox.py").exists()


def test_every_command_module_imports_alone_in_a_fresh_interpreter():
    for path in PACKAGE.glob("*.py"):
        name = f"smtp_desktop.cli.{path.stem}" if path.stem != "__init__" else "smtp_desktop.cli"
        subprocess.run([sys.executable, "-c", f"import {name}"], check=True, timeout=60)
