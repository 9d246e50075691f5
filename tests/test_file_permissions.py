"""Every folder the app creates is 0700 and every file it writes 0600, whatever the umask."""

from __future__ import annotations

import os
import stat

import pytest

from smtp_desktop.config.model import DefaultService, Service, SmtpSettings
from smtp_desktop.config.paths import AppPaths, make_private_folder
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService
from smtp_desktop.history import HistoryLog, HistoryRecord
from smtp_desktop.outbox import Outbox

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

SETTINGS = SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com", port=587,
                        username="me@example.com",
                        keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true")))
RECORD = HistoryRecord(time="2026-12-01T10:00:00.000+00:00", kind="send-test", service="own",
                       server="smtp.example.com:587", recipient="me@example.com", ok=True,
                       category=None, elapsed_ms=12.0)


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_settings_folders_lock_and_files_are_private(umask, tmp_path, memory_keyring):
    paths = AppPaths(tmp_path / "deep" / "config", tmp_path / "deep2" / "data")
    config = ConfigService(paths, SecretStore(memory_keyring))

    config.save(SETTINGS, "s3cret")
    config.save_default_service(
        DefaultService(host="smtp.vendor.example", port=587, username="svc",
                       sender="noreply@example.com", keys=()), None)
    config.export(SETTINGS, tmp_path / "exports" / "mine.json")

    assert mode(tmp_path / "deep") == 0o700  # a missing parent is made private too
    assert mode(paths.config_dir) == 0o700
    assert mode(paths.settings_file) == 0o600
    assert mode(config.store.lock_path) == 0o600
    assert mode(paths.default_service_file) == 0o600
    assert mode(tmp_path / "exports") == 0o700
    assert mode(tmp_path / "exports" / "mine.json") == 0o600


def test_an_export_over_an_existing_readable_file_is_made_private(umask, tmp_path, config_service):
    target = tmp_path / "mine.json"
    target.write_text("{}")
    target.chmod(0o644)

    config_service.export(SETTINGS, target)

    assert mode(target) == 0o600


def test_a_damaged_settings_file_set_aside_is_private(umask, app_paths, config_service):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text("{ not json")
    app_paths.settings_file.chmod(0o644)  # written by hand, readable by all

    result = config_service.load()

    assert result.corrupt_backup is not None
    assert mode(result.corrupt_backup) == 0o600


def test_history_file_lock_and_data_folder_are_private(umask, tmp_path):
    log = HistoryLog(tmp_path / "data" / "history.jsonl", limit=2)

    log.append(RECORD)
    assert mode(tmp_path / "data") == 0o700
    assert mode(log.path) == 0o600
    assert mode(log.path.with_name(".history.jsonl.lock")) == 0o600
    log.append(RECORD)
    log.append(RECORD)  # past the limit: rewritten through a temporary file
    assert mode(log.path) == 0o600


def test_a_history_file_left_readable_by_an_older_version_is_made_private(umask, tmp_path):
    log = HistoryLog(tmp_path / "history.jsonl")
    log.path.write_text("")
    log.path.chmod(0o644)

    log.append(RECORD)

    assert mode(log.path) == 0o600


def test_outbox_folders_messages_and_saved_eml_are_private(umask, tmp_path):
    outbox = Outbox(tmp_path / "data" / "outbox")
    key = outbox.add(b"Subject: hi\n\nhello\n", "a@example.com", ["b@example.com"])

    assert mode(tmp_path / "data") == 0o700
    for folder in (outbox.folder, *(outbox.folder / sub for sub in ("tmp", "new", "cur"))):
        assert mode(folder) == 0o700, folder
    stored = [p for p in outbox.folder.rglob("*") if p.is_file()]
    assert stored and all(mode(p) == 0o600 for p in stored), stored

    saved = tmp_path / "message.eml"
    outbox.save_eml(key, saved)
    assert mode(saved) == 0o600
    saved.chmod(0o644)
    outbox.save_eml(key, saved)  # replacing a readable file makes it private
    assert mode(saved) == 0o600


def test_existing_folders_keep_their_mode(umask, tmp_path):
    """`--config-dir ~` must not change the mode of the user's own folder."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)

    make_private_folder(shared / "new")

    assert mode(shared) == 0o755
    assert mode(shared / "new") == 0o700
