"""Concurrent writers: a lock file serialises saves; changes underneath are detected."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smtp_desktop.app import main
from smtp_desktop.config.errors import SettingsChangedError, SettingsLockedError
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.config.store import SettingsStore

OWN = SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com", port=587,
                   username="me@example.com")

HOLD_LOCK = """
import sys, filelock
lock = filelock.FileLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def lock_held_by_another_process(config_service):
    """Another process holds the settings lock until the fixture ends."""
    store = config_service.store
    store.path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(store.lock_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    yield
    holder.stdin.close()
    holder.wait(timeout=30)


def test_a_save_waits_for_the_lock_and_then_reports_settings_in_use(
        config_service, monkeypatch, lock_held_by_another_process):
    monkeypatch.setattr(SettingsStore, "LOCK_TIMEOUT_S", 0.3)
    with pytest.raises(SettingsLockedError, match="another smtp-desktop process"):
        config_service.save(OWN)
    assert not config_service.paths.settings_file.exists()


def test_cli_import_exits_4_while_settings_are_in_use(config_service, monkeypatch, tmp_path,
                                                      capsys, lock_held_by_another_process):
    monkeypatch.setattr(SettingsStore, "LOCK_TIMEOUT_S", 0.3)
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"version": 1, "enabled": False, "service": "testsigma",
                                  "own": {"host": "", "port": 587, "username": "", "keys": {}}}))
    code = main(["--config-dir", str(config_service.paths.config_dir), "import", str(source)])
    assert code == 4
    assert "another smtp-desktop process" in capsys.readouterr().err


def test_save_with_a_stale_revision_is_refused(config_service):
    first = config_service.save(OWN)
    config_service.save(OWN.with_changes(host="other.example.com"))
    with pytest.raises(SettingsChangedError):
        config_service.save(OWN.with_changes(port=2525), expected_revision=first.revision)
    assert config_service.load().settings.host == "other.example.com"


def test_load_and_save_agree_on_the_revision(config_service):
    saved = config_service.save(OWN)
    loaded = config_service.load()
    assert loaded.revision == saved.revision
    config_service.save(OWN.with_changes(port=2525), expected_revision=loaded.revision)


def test_a_missing_file_has_no_revision_and_a_new_file_is_refused_for_it(config_service):
    assert config_service.load().revision is None
    config_service.save(OWN)
    with pytest.raises(SettingsChangedError):
        config_service.save(OWN, expected_revision=None)


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_save(config_service):
    config_service.save(OWN)
    stale = config_service.paths.config_dir / ".settings.json.abc123.tmp"
    stale.write_text('{"half": ')
    config_service.save(OWN.with_changes(port=2525))
    assert not stale.exists()
    assert config_service.load().settings.port == 2525
