"""Known-bad Qt bindings are named: one stderr line per command, `show --json`, and the window.

The binding installed here is a good one, so the tests put a fake `shiboken6 6.12.0` distribution
first on the path (the `broken_binding` fixture): `importlib.metadata` then reports that version,
as it would for a real install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support.cli_harness import run_module
from support.distributions import fake_distribution

from smtp_desktop.environment import KNOWN_BAD, environment_warnings

BAD_PYTHON = sys.version_info < (3, 12)


def test_the_known_bad_list_matches_the_exclusion_in_pyproject():
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    for release in KNOWN_BAD:
        fixed = ".".join(map(str, release.fixed_in_python))
        assert f'"{release.distribution}!={release.version}; python_version < \\"{fixed}\\""' \
            in pyproject


def test_a_broken_binding_is_named_only_on_the_pythons_it_breaks(broken_binding):
    [warning] = environment_warnings((3, 11))
    assert "shiboken6 6.12.0 on CPython 3.11" in warning
    assert "PySide6-Essentials!=6.12.0" in warning and "3.12+" in warning
    assert environment_warnings((3, 10))
    assert environment_warnings((3, 12)) == []
    assert environment_warnings((3, 13)) == []


def test_a_good_binding_gives_no_warning(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(fake_distribution(tmp_path, "shiboken6", "6.11.3")))
    assert environment_warnings((3, 10)) == []
    assert environment_warnings((3, 11)) == []


def test_what_pyproject_resolves_here_is_not_known_bad():
    assert environment_warnings() == []


def run_cli(*args: str, config_dir) -> subprocess.CompletedProcess:
    return run_module("--config-dir", str(config_dir), *args, timeout=60,
                      env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})


def test_every_command_prints_one_warning_line_and_show_json_lists_it(broken_binding, tmp_path):
    shown = run_cli("show", "--json", config_dir=tmp_path / "c")
    presets = run_cli("presets", config_dir=tmp_path / "c")
    assert shown.returncode == 0 and presets.returncode == 0  # the exit code does not change
    document = json.loads(shown.stdout)
    expected = environment_warnings()
    assert document["environment_warnings"] == expected
    assert bool(expected) == BAD_PYTHON
    for result in (shown, presets):
        lines = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
        assert lines == [f"Warning: {w}" for w in expected]


def test_show_json_has_an_empty_list_when_all_is_well(tmp_path):
    shown = run_cli("show", "--json", config_dir=tmp_path / "c")
    assert json.loads(shown.stdout)["environment_warnings"] == []
    assert "Warning" not in shown.stderr
