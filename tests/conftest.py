"""Fixtures for every test: a private config folder, an in-memory keyring, no real user files."""

from __future__ import annotations

import os

# Before any QApplication exists.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from support.distributions import fake_distribution
from support.memory_keyring import MemoryKeyring

from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService

pytest_plugins = ["support.smtp_fixtures", "support.secret_service", "support.netns",
                  "support.cli_harness", "support.oauth_server"]


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory, monkeypatch):
    """No test ever reads or writes the real user's config, data or keyring."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("SMTP_DESKTOP_CONFIG_DIR", raising=False)
    monkeypatch.delenv("SMTP_DESKTOP_DATA_DIR", raising=False)
    # A test that forgets to inject a keyring must not reach the user's real one.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def app_paths(tmp_path) -> AppPaths:
    paths = AppPaths(tmp_path / "config", tmp_path / "data")
    return paths


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def config_service(app_paths, memory_keyring) -> ConfigService:
    return ConfigService(app_paths, SecretStore(memory_keyring))


@pytest.fixture
def broken_binding(tmp_path, monkeypatch):
    """shiboken6 6.12.0 as far as importlib.metadata can tell, in this process and in children."""
    site = fake_distribution(tmp_path / "site", "shiboken6", "6.12.0")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    return site
