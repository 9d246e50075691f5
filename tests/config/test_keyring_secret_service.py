"""The password against a real Secret Service: gnome-keyring on a private D-Bus session bus."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import support.secret_service as secret_service_support
from support.secret_service import SecretServiceStartError, private_secret_service, process_alive

from smtp_desktop.config.errors import NoSecureKeyringError, SecretStoreError
from smtp_desktop.config.model import KEYRING_SERVICE, Service, SmtpSettings
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService

pytestmark = pytest.mark.secret_service

PASSWORD = "Grüße-an-den-Server ✓ 7f3a"  # spaces and non-ASCII must survive the round trip
SETTINGS = SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com", port=587,
                        username="user")
ACCOUNT = "user@smtp.example.com"


@pytest.fixture
def real_service(app_paths, secret_service_keyring) -> ConfigService:
    return ConfigService(app_paths, SecretStore(secret_service_keyring))


def stored_items(secret_service) -> list[dict[str, str]]:
    """The attributes of every item in the private keyring's default collection."""
    with secret_service.connection() as conn:
        return [item.get_attributes()
                for item in secret_service.default_collection(conn).get_all_items()]


def lock(secret_service) -> None:
    with secret_service.connection() as conn:
        collection = secret_service.default_collection(conn)
        collection.lock()
        assert collection.is_locked()


# ---------------------------------------------------------------- the fixture itself


def test_the_fixture_talks_to_the_private_bus_only(secret_service, secret_service_keyring):
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == secret_service.address
    assert Path(secret_service.env["HOME"]).is_relative_to(secret_service.root)
    # gnome-keyring created its login keyring in the private folder, not in the user's.
    assert (secret_service.keyrings_dir / "login.keyring").is_file()
    assert secret_service.is_running()
    assert stored_items(secret_service) == []


def process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode(errors="replace").split("\0") if entry)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_the_daemons_never_see_the_users_session_bus(monkeypatch):
    users_bus = "unix:path=/run/user/4242/bus-of-the-real-user"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", users_bus)
    monkeypatch.setenv("DISPLAY", ":42")
    with private_secret_service() as service:
        assert service.address != users_bus
        bus_env = process_env(service.bus_pid)
        keyring_env = process_env(service.keyring_pid)
        assert "DBUS_SESSION_BUS_ADDRESS" not in bus_env
        assert "DISPLAY" not in bus_env
        assert keyring_env["DBUS_SESSION_BUS_ADDRESS"] == service.address
        assert "DISPLAY" not in keyring_env
        for env in (bus_env, keyring_env):
            assert Path(env["HOME"]).is_relative_to(service.root)
            assert Path(env["XDG_RUNTIME_DIR"]).is_relative_to(service.root)
        pids = (service.bus_pid, service.keyring_pid)
        root = service.root
    assert not any(process_alive(pid) for pid in pids)
    assert not root.exists()


def test_a_missing_daemon_skips_with_the_reason(monkeypatch, tmp_path):
    real_which = shutil.which
    monkeypatch.setattr(secret_service_support.shutil, "which",
                        lambda name: None if name == "gnome-keyring-daemon" else real_which(name))
    with pytest.raises(pytest.skip.Exception, match="gnome-keyring-daemon not installed"):
        secret_service_support.start_private_secret_service(tmp_path)


@pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="dbus-daemon is not installed")
def test_a_daemon_that_fails_to_start_is_an_error_showing_its_stderr(monkeypatch, tmp_path):
    broken = tmp_path / "bin" / "gnome-keyring-daemon"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'cannot create the login keyring: disk full' >&2\nexit 3\n")
    broken.chmod(0o755)
    real_which = shutil.which
    monkeypatch.setattr(secret_service_support.shutil, "which",
                        lambda name: str(broken) if name == "gnome-keyring-daemon"
                        else real_which(name))
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(SecretServiceStartError, match="exited with 3") as caught:
        secret_service_support.start_private_secret_service(root)
    assert "cannot create the login keyring: disk full" in str(caught.value)


def test_the_backend_refuses_another_bus(secret_service, secret_service_keyring, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/elsewhere")
    with pytest.raises(RuntimeError, match="not the private bus"):
        secret_service.backend()


# ---------------------------------------------------------------- SecretStore and ConfigService


def test_the_secret_service_backend_counts_as_secure(secret_service_keyring):
    store = SecretStore(secret_service_keyring)
    assert store.is_secure
    assert store.description == "SecretService Keyring"


def test_save_stores_the_password_under_our_service_and_account(
        real_service, secret_service, secret_service_keyring):
    assert not real_service.has_password(SETTINGS)

    result = real_service.save(SETTINGS, PASSWORD)

    assert result.password_stored
    assert result.password_error is None
    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) == PASSWORD
    assert real_service.password_for(SETTINGS) == PASSWORD
    assert real_service.has_password(SETTINGS)
    # keyring's Secret Service backend (default scheme) stores these attributes; others,
    # such as secret-tool, find the password by them.
    (attributes,) = stored_items(secret_service)
    assert attributes["service"] == "smtp-desktop"
    assert attributes["username"] == "user@smtp.example.com"


@pytest.mark.skipif(shutil.which("secret-tool") is None, reason="secret-tool (libsecret-tools) "
                    "is not installed")
def test_secret_tool_finds_the_saved_password(real_service):
    real_service.save(SETTINGS, PASSWORD)
    # os.environ points DBUS_SESSION_BUS_ADDRESS at the private bus (secret_service_keyring).
    found = subprocess.run(
        ["secret-tool", "lookup", "service", "smtp-desktop", "username", ACCOUNT],
        capture_output=True, env=os.environ.copy(), timeout=30, check=False)
    assert found.returncode == 0, found.stderr.decode(errors="replace")
    assert found.stdout.decode() == PASSWORD


def test_saving_again_without_a_password_keeps_the_stored_one(
        real_service, secret_service, secret_service_keyring):
    real_service.save(SETTINGS, PASSWORD)
    for empty in ("", None):
        result = real_service.save(SETTINGS.with_changes(port=465), empty, previous=SETTINGS)
        assert not result.password_stored
        assert result.password_error is None
    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) == PASSWORD
    assert len(stored_items(secret_service)) == 1


def test_saving_a_new_password_replaces_the_old_one(
        real_service, secret_service, secret_service_keyring):
    real_service.save(SETTINGS, PASSWORD)
    real_service.save(SETTINGS, "the-new-one", previous=SETTINGS)
    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) == "the-new-one"
    assert len(stored_items(secret_service)) == 1


@pytest.mark.parametrize(("changes", "new_account"), [
    ({"username": "someone"}, "someone@smtp.example.com"),
    ({"host": "mail.example.org"}, "user@mail.example.org"),
])
def test_changing_the_account_moves_the_password(
        real_service, secret_service, secret_service_keyring, changes, new_account):
    real_service.save(SETTINGS, PASSWORD)
    changed = SETTINGS.with_changes(**changes)

    result = real_service.save(changed, "", previous=SETTINGS)

    assert result.password_moved
    assert result.password_error is None
    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) is None
    assert secret_service_keyring.get_password(KEYRING_SERVICE, new_account) == PASSWORD
    assert [item["username"] for item in stored_items(secret_service)] == [new_account]
    assert real_service.load().settings == changed


def test_forget_password_removes_it(real_service, secret_service, secret_service_keyring):
    real_service.save(SETTINGS, PASSWORD)

    assert real_service.forget_password(SETTINGS)

    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) is None
    assert not real_service.has_password(SETTINGS)
    assert stored_items(secret_service) == []
    assert not real_service.forget_password(SETTINGS)  # nothing left to forget


def test_the_password_is_in_no_file_under_the_app_folders(real_service, app_paths, tmp_path):
    real_service.save(SETTINGS, PASSWORD)
    assert real_service.password_for(SETTINGS) == PASSWORD

    raw = PASSWORD.encode()
    needles = (raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert app_paths.settings_file in files
    assert b"smtp.example.com" in app_paths.settings_file.read_bytes()  # the scan reads real data
    assert [p for p in files if any(n in p.read_bytes() for n in needles)] == []


# ---------------------------------------------------------------- a locked keyring


def test_a_locked_collection_raises_our_error_with_advice(
        real_service, secret_service, secret_service_keyring):
    real_service.save(SETTINGS, PASSWORD)
    lock(secret_service)
    store = SecretStore(secret_service_keyring)

    # No prompter can run on the private bus, so the unlock request fails at once.
    for attempt in (lambda: store.get(ACCOUNT), lambda: store.set(ACCOUNT, "x"),
                    lambda: store.delete(ACCOUNT)):
        with pytest.raises(SecretStoreError, match="Unlock the keyring") as caught:
            attempt()
        assert not isinstance(caught.value, NoSecureKeyringError)
        assert PASSWORD not in str(caught.value)
    assert not real_service.has_password(SETTINGS)

    secret_service.unlock()
    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) == PASSWORD


def test_saving_into_a_locked_collection_saves_the_settings_and_explains(
        real_service, secret_service, secret_service_keyring):
    lock(secret_service)

    result = real_service.save(SETTINGS, PASSWORD)

    assert not result.password_stored
    assert result.password_error is not None
    assert "Unlock the keyring" in result.password_error
    assert real_service.load().settings == SETTINGS
    secret_service.unlock()
    assert stored_items(secret_service) == []
