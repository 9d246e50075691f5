"""settings.json: the public shape, round-trips, atomic writes, damaged and future files."""

from __future__ import annotations

import base64
import json
import os

import pytest

from smtp_desktop.config.errors import (
    FutureVersionError,
    InvalidSettingsError,
    SettingsFileError,
    SettingsWriteError,
)
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.config.paths import resolve_paths
from smtp_desktop.config.store import settings_from_document, settings_to_document

PASSWORD = "correct horse battery staple"
GMAIL = SmtpSettings(enabled=True, service=Service.OWN, host="smtp.gmail.com", port=587,
                     username="me@gmail.com",
                     keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true")))
DEFAULT_OAUTH2 = {"provider": "microsoft", "client_id": "", "tenant": "organizations",
                  "authorization_endpoint": None, "token_endpoint": None,
                  "device_authorization_endpoint": None, "scopes": None}
CONTRACT_DOCUMENT = {
    "version": 2, "enabled": True, "service": "own",
    "own": {"host": "smtp.gmail.com", "port": 587, "username": "me@gmail.com",
            "auth": "password", "oauth2": DEFAULT_OAUTH2,
            "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}},
}


def test_the_file_has_exactly_the_contract_shape(config_service):
    config_service.save(GMAIL)
    assert json.loads(config_service.paths.settings_file.read_text()) == CONTRACT_DOCUMENT


def test_round_trip(config_service):
    settings = GMAIL.with_changes(keys=(*GMAIL.keys, ("mail.smtp.timeout", "5000"), ("x.unknown", "a: b")))
    config_service.save(settings)
    assert config_service.load().settings == settings


def test_seed_style_json_booleans_and_numbers_are_read_and_written_back_as_strings(config_service):
    document = json.loads(json.dumps(CONTRACT_DOCUMENT))
    document["own"]["keys"] = {"mail.smtp.auth": True, "mail.smtp.timeout": 5000}
    paths = config_service.paths
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text(json.dumps(document))
    loaded = config_service.load().settings
    assert loaded.keys == (("mail.smtp.auth", "true"), ("mail.smtp.timeout", "5000"))
    config_service.save(loaded)
    keys = json.loads(paths.settings_file.read_text())["own"]["keys"]
    assert keys == {"mail.smtp.auth": "true", "mail.smtp.timeout": "5000"}


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.update(extra=1), "unknown field(s): extra"),
    (lambda d: d["own"].update(password="x"), "unknown field(s): password"),
    (lambda d: d.pop("own"), "missing: own"),
    (lambda d: d.update(enabled="yes"), "enabled must be true or false"),
    (lambda d: d.update(service="gmail"), 'service must be "testsigma" or "own"'),
    (lambda d: d["own"].update(port="587"), "own.port must be a whole number"),
    (lambda d: d["own"].update(keys=[]), "own.keys must be a JSON object"),
    (lambda d: d["own"]["keys"].update(x=None), "own.keys.x must be a string"),
    (lambda d: d.update(version="1"), "version must be a number from 1 to 2"),
    (lambda d: d["own"].update(auth="token"), 'own.auth must be "password" or "oauth2"'),
    (lambda d: d["own"].pop("oauth2"), "own is missing: oauth2"),
    (lambda d: d["own"]["oauth2"].update(provider="yahoo"), "own.oauth2.provider must be"),
    (lambda d: d["own"]["oauth2"].update(scopes="openid"), "own.oauth2.scopes must be a list"),
    (lambda d: d["own"]["oauth2"].update(token_endpoint=1), "token_endpoint must be a string or null"),
    (lambda d: d["own"]["oauth2"].update(client_secret="s"), "unknown field(s): client_secret"),
])
def test_wrong_shapes_are_errors_not_silently_dropped(mutate, message):
    document = json.loads(json.dumps(CONTRACT_DOCUMENT))
    mutate(document)
    with pytest.raises(SettingsFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from_document(document)


def test_future_version_is_refused():
    with pytest.raises(FutureVersionError, match="newer smtp-desktop"):
        settings_from_document({**CONTRACT_DOCUMENT, "version": 3})


def test_future_version_file_is_never_overwritten(config_service):
    paths = config_service.paths
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 7, "whatever": true}')
    result = config_service.load()
    assert result.read_only and "newer" in result.notice
    assert paths.settings_file.read_text() == '{"version": 7, "whatever": true}'


@pytest.mark.parametrize("content", ["{broken", "", "[1, 2]", '{"version": 1}', b"\xff\xfe\x00"])
def test_damaged_file_is_set_aside_and_defaults_are_used(config_service, content):
    paths = config_service.paths
    paths.config_dir.mkdir(parents=True)
    raw = content if isinstance(content, bytes) else content.encode()
    paths.settings_file.write_bytes(raw)
    result = config_service.load()
    assert result.settings == SmtpSettings()
    assert result.corrupt_backup is not None and result.corrupt_backup.read_bytes() == raw
    assert result.corrupt_backup.name.startswith("settings.json.corrupt-")
    assert "kept as" in result.notice
    assert not paths.settings_file.exists()


def test_a_second_damaged_file_does_not_overwrite_the_first_backup(config_service):
    paths = config_service.paths
    paths.config_dir.mkdir(parents=True)
    for text in ("{one", "{two"):
        paths.settings_file.write_text(text)
        config_service.load()
    backups = sorted(p.read_text() for p in paths.config_dir.glob("settings.json.corrupt-*"))
    assert backups == ["{one", "{two"]


def test_duplicate_keys_in_the_file_are_kept_for_validation_to_flag(config_service):
    paths = config_service.paths
    paths.config_dir.mkdir(parents=True)
    text = json.dumps(CONTRACT_DOCUMENT).replace(
        '"mail.smtp.starttls.enable": "true"',
        '"mail.smtp.starttls.enable": "true", "mail.smtp.auth": "false"')
    paths.settings_file.write_text(text)
    loaded = config_service.load().settings
    assert [k for k, _ in loaded.keys].count("mail.smtp.auth") == 2


def test_failing_write_leaves_the_old_file_intact(config_service, monkeypatch):
    config_service.save(GMAIL)
    before = config_service.paths.settings_file.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SettingsWriteError, match="No space left"):
        config_service.save(GMAIL.with_changes(host="other.example.com"))
    assert config_service.paths.settings_file.read_bytes() == before
    leftovers = [p.name for p in config_service.paths.config_dir.iterdir()
                 if not p.name.endswith(".lock")]
    assert leftovers == ["settings.json"]


def test_failing_fsync_leaves_the_old_file_intact(config_service, monkeypatch):
    config_service.save(GMAIL)
    before = config_service.paths.settings_file.read_bytes()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(SettingsWriteError):
        config_service.save(GMAIL.with_changes(port=2525))
    assert config_service.paths.settings_file.read_bytes() == before


def test_invalid_settings_are_never_saved(config_service):
    with pytest.raises(InvalidSettingsError) as caught:
        config_service.save(GMAIL.with_changes(host="smtp.gmail.com:587", username=""))
    fields = {p.field for p in caught.value.problems}
    assert fields == {"host", "username"}
    assert not config_service.paths.settings_file.exists()


def test_own_fields_are_kept_incomplete_when_smtp_is_off_or_on_testsigma(config_service):
    incomplete = GMAIL.with_changes(host="", username="")
    for settings in (incomplete.with_changes(enabled=False),
                     incomplete.with_changes(service=Service.TESTSIGMA)):
        config_service.save(settings)
        assert config_service.load().settings == settings


def test_password_is_absent_from_every_file_after_save_and_export(config_service, memory_keyring,
                                                                  tmp_path):
    config_service.save(GMAIL, PASSWORD)
    config_service.export(GMAIL, config_service.paths.config_dir / "exported.json")
    assert memory_keyring.entries == {("smtp-desktop", "me@gmail.com@smtp.gmail.com"): PASSWORD}
    forms = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
             base64.b64encode(f"\0me@gmail.com\0{PASSWORD}".encode()).decode()]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes().decode("utf-8", "replace")
            assert not any(form in data for form in forms), path


def test_google_app_password_spaces_are_removed_before_storing(config_service, memory_keyring):
    config_service.save(GMAIL, " abcd efgh ijkl mnop ")
    assert memory_keyring.entries[("smtp-desktop", "me@gmail.com@smtp.gmail.com")] == (
        "abcdefghijklmnop")


def test_changing_host_moves_the_password_and_removes_the_old_entry(config_service, memory_keyring):
    config_service.save(GMAIL, PASSWORD)
    moved = GMAIL.with_changes(host="smtp.googlemail.com")
    result = config_service.save(moved, None, previous=GMAIL)
    assert result.password_moved
    assert memory_keyring.entries == {
        ("smtp-desktop", "me@gmail.com@smtp.googlemail.com"): PASSWORD}


def test_forget_password(config_service, memory_keyring):
    config_service.save(GMAIL, PASSWORD)
    assert config_service.has_password(GMAIL)
    assert config_service.forget_password(GMAIL)
    assert not config_service.has_password(GMAIL)
    assert not config_service.forget_password(GMAIL)


def test_paths_flag_beats_variable_beats_platform_default(tmp_path):
    env = {"SMTP_DESKTOP_CONFIG_DIR": str(tmp_path / "env-config"),
           "SMTP_DESKTOP_DATA_DIR": str(tmp_path / "env-data")}
    assert resolve_paths(tmp_path / "flag", None, env).config_dir == tmp_path / "flag"
    assert resolve_paths(None, None, env).config_dir == tmp_path / "env-config"
    assert resolve_paths(None, None, env).data_dir == tmp_path / "env-data"
    default = resolve_paths(None, None, {})
    assert default.config_dir.name == "smtp-desktop"
    assert default.data_dir.name == "smtp-desktop"


def test_document_round_trip_keeps_key_order():
    settings = GMAIL.with_changes(keys=(("z", "1"), ("a", "2"), ("m", "3")))
    assert settings_from_document(settings_to_document(settings)) == settings
