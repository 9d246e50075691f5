"""Issue 11, section 4: bad input gets a clear error, never a traceback, and nothing is lost.

Each test here failed on the code before the fix it names.
"""

from __future__ import annotations

import io
import json
import sys

import keyring
import pytest
from support.memory_keyring import MemoryKeyring

from smtp_desktop.app import main

HUGE_NUMBER = "9" * 5000  # past Python's 4,300-digit limit for int(): json.loads raises ValueError
SETTINGS = {
    "version": 1, "enabled": True, "service": "own",
    "own": {"host": "smtp.example.com", "port": 587, "username": "me@example.com",
            "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}},
}
DEFAULT_SERVICE = {"version": 1, "host": "mail.vendor.example", "port": 587, "username": "svc",
                   "sender": "noreply@vendor.example", "keys": {"mail.smtp.auth": "true"}}


@pytest.fixture
def ring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run the CLI in this process; stdin is text, or bytes for a binary standard input."""
    config_dir = tmp_path / "config"

    def run(*args: str, stdin: str | bytes = "") -> tuple[int, str, str]:
        raw = stdin if isinstance(stdin, bytes) else stdin.encode("utf-8")
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
        code = main(["--config-dir", str(config_dir), "--data-dir", str(tmp_path / "data"), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.config_dir = config_dir
    run.data_dir = tmp_path / "data"
    return run


def write(path, document) -> str:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def with_huge_port(document: dict) -> str:
    """`document` as JSON text whose port is a 5,000-digit number."""
    text = json.dumps(document)
    return text.replace('"port": 587', f'"port": {HUGE_NUMBER}')


# ---------------------------------------------------------------- numbers past 4,300 digits


def test_show_json_on_a_settings_file_with_a_huge_number_is_one_json_error(cli):
    cli.config_dir.mkdir(parents=True)
    damaged = with_huge_port(SETTINGS)
    (cli.config_dir / "settings.json").write_text(damaged)
    code, out, _ = cli("show", "--json")
    assert code == 2
    assert "settings.json is not valid JSON" in json.loads(out)["message"]
    assert (cli.config_dir / "settings.json").read_text() == damaged  # commands never move it


def test_import_repairs_a_settings_file_with_a_huge_number(cli, tmp_path):
    cli.config_dir.mkdir(parents=True)
    damaged = with_huge_port(SETTINGS)
    (cli.config_dir / "settings.json").write_text(damaged)
    code, out, err = cli("import", write(tmp_path / "in.json", SETTINGS), "--json")
    assert code == 0, out + err
    assert json.loads((cli.config_dir / "settings.json").read_text()) == SETTINGS
    assert [b.read_text() for b in cli.config_dir.glob("settings.json.corrupt-*")] == [damaged]


@pytest.mark.parametrize("command", ["import", "import-default"])
def test_an_import_file_with_a_huge_number_is_invalid_input(cli, tmp_path, command):
    document = SETTINGS if command == "import" else DEFAULT_SERVICE
    source = write(tmp_path / "in.json", with_huge_port(document))
    code, out, _ = cli(command, source, "--json")
    assert code == 2
    assert "in.json is not valid JSON" in json.loads(out)["message"]
    assert not cli.config_dir.exists() or not any(cli.config_dir.iterdir())


def test_a_default_service_file_with_a_huge_number_is_a_problem_not_a_crash(cli, tmp_path):
    cli("import", write(tmp_path / "in.json", {**SETTINGS, "service": "testsigma"}))
    (cli.config_dir / "default-service.json").write_text(with_huge_port(DEFAULT_SERVICE))
    code, out, _ = cli("show", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["default_service"] is None
    assert "default-service.json is not valid JSON" in document["default_service_problem"]
    code, out, _ = cli("send-test", "--to", "qa@example.com", "--json")
    assert code == 2 and json.loads(out)["category"] == "not-provisioned"
