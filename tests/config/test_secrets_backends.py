"""Backends that are no secure keyring are refused with advice; no real keyring is touched."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import keyring.backend
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.compat import properties
from keyring.errors import PasswordDeleteError
from support.memory_keyring import MemoryKeyring

from smtp_desktop.config import secrets
from smtp_desktop.config.errors import NoSecureKeyringError
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.config.secrets import SecretStore, is_secure_backend
from smtp_desktop.config.service import ConfigService

PASSWORD = "Plain-Text-Leak-9f2c"
SETTINGS = SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com", port=587,
                        username="user")
ACCOUNT = "user@smtp.example.com"


# Every test backend needs a constructor argument, so keyring's own discovery (which builds
# backends without arguments) can never pick one up in another test.


class FilePlaintextKeyring(KeyringBackend):
    """Like keyrings.alt's PlaintextKeyring: passwords in a readable file. Its priority is
    high on purpose, so only the module name can mark it insecure."""

    __module__ = "keyrings.alt.file"
    priority = 1.5  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.calls: list[str] = []

    def _entries(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        return dict(line.split("\t", 1) for line in self.path.read_text().splitlines())

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append("get")
        return self._entries().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append("set")
        entries = self._entries()
        entries[f"{service}/{username}"] = password
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(f"{k}\t{v}\n" for k, v in entries.items()))

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append("delete")
        entries = self._entries()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self.path.write_text("".join(f"{k}\t{v}\n" for k, v in entries.items()))


class LowPriorityKeyring(MemoryKeyring):
    """A working backend that keyring itself would not recommend (priority below 1)."""

    priority = 0.5  # type: ignore[assignment]

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label


class SecureKeyring(MemoryKeyring):
    """A second recommended backend, to chain with."""

    priority = 3  # type: ignore[assignment]

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label


class UnusableKeyring(MemoryKeyring):
    """keyring backends report "not usable here" by raising from `priority`."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("the daemon is neither running nor activatable")


def chained(monkeypatch: pytest.MonkeyPatch, *backends: KeyringBackend) -> chainer.ChainerBackend:
    """keyring's real ChainerBackend, chaining exactly `backends`."""
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: list(backends))
    backend = chainer.ChainerBackend()
    assert list(backend.backends) == sorted(backends, key=keyring.backend.by_priority,
                                            reverse=True)
    return backend


def files_holding(secret: str, *folders: Path) -> list[Path]:
    """Files under `folders` whose bytes hold `secret`, plainly or base64-encoded."""
    raw = secret.encode()
    needles = (raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw))
    hits = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and any(n in path.read_bytes() for n in needles):
                hits.append(path)
    return hits


# ---------------------------------------------------------------- is_secure_backend


def test_a_recommended_backend_is_secure():
    assert is_secure_backend(MemoryKeyring())
    assert SecretStore(SecureKeyring("a")).is_secure


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_keyrings_fail_and_null_backends_are_not_secure(backend):
    assert not is_secure_backend(backend)
    assert not SecretStore(backend).is_secure


def test_a_backend_keyring_does_not_recommend_is_not_secure():
    assert not is_secure_backend(LowPriorityKeyring("plain"))


def test_a_keyrings_alt_backend_is_not_secure_whatever_its_priority(tmp_path):
    backend = FilePlaintextKeyring(tmp_path / "passwords.txt")
    assert type(backend).__module__.startswith("keyrings.alt")
    assert not is_secure_backend(backend)


def test_a_backend_whose_priority_raises_is_not_secure():
    assert not is_secure_backend(UnusableKeyring("gone"))


def test_a_chain_of_recommended_backends_is_secure(monkeypatch):
    assert is_secure_backend(chained(monkeypatch, MemoryKeyring(), SecureKeyring("b")))


def test_a_chain_with_one_insecure_backend_is_not_secure(monkeypatch):
    backend = chained(monkeypatch, SecureKeyring("a"), LowPriorityKeyring("b"))
    assert not is_secure_backend(backend)
    assert not SecretStore(backend).is_secure


def test_a_chain_with_a_plaintext_backend_is_not_secure(monkeypatch, tmp_path):
    backend = chained(monkeypatch, MemoryKeyring(), FilePlaintextKeyring(tmp_path / "p.txt"))
    assert not is_secure_backend(backend)


def test_an_empty_chain_is_not_secure(monkeypatch):
    assert not is_secure_backend(chained(monkeypatch))


def test_the_process_keyring_in_tests_is_the_fail_backend(app_paths):
    # The autouse fixture's promise: a service built without a store gets no real keyring.
    service = ConfigService(app_paths)
    assert isinstance(service.secrets.backend, fail.Keyring)
    assert not service.keyring_is_secure


# ---------------------------------------------------------------- advice


@pytest.mark.parametrize(("platform", "expected"), [
    ("linux", ("gnome-keyring", "KWallet")),
    ("darwin", ("Keychain",)),
    ("win32", ("Credential Manager",)),
])
def test_install_advice_names_what_to_install_or_check(monkeypatch, platform, expected):
    monkeypatch.setattr(secrets.sys, "platform", platform)
    advice = secrets.install_advice()
    for word in expected:
        assert word in advice


# ---------------------------------------------------------------- the service on insecure backends


@pytest.fixture(params=["fail", "null", "plaintext", "low-priority"])
def insecure_backend(request, tmp_path) -> KeyringBackend:
    if request.param == "fail":
        return fail.Keyring()
    if request.param == "null":
        return null.Keyring()
    if request.param == "plaintext":
        return FilePlaintextKeyring(Path(os.environ["HOME"]) / ".local/share/keyrings.txt")
    return LowPriorityKeyring("low")


@pytest.fixture
def insecure_service(app_paths, insecure_backend) -> ConfigService:
    return ConfigService(app_paths, SecretStore(insecure_backend))


def _never_used(backend: KeyringBackend) -> None:
    if isinstance(backend, FilePlaintextKeyring):
        assert backend.calls == []
    if isinstance(backend, MemoryKeyring):
        assert backend.entries == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the advice names Linux keyrings")
def test_saving_a_password_without_a_secure_keyring_saves_the_settings_only(
        insecure_service, insecure_backend, app_paths, tmp_path):
    result = insecure_service.save(SETTINGS, PASSWORD)

    assert insecure_service.load().settings == SETTINGS
    assert not result.password_stored
    assert result.password_error is not None
    assert "no secure keyring" in result.password_error.lower()
    assert "gnome-keyring" in result.password_error
    assert "KWallet" in result.password_error
    assert result.message.startswith("Settings saved, but the password was not")
    _never_used(insecure_backend)
    assert app_paths.settings_file.exists()
    assert files_holding(PASSWORD, tmp_path, Path(os.environ["HOME"])) == []


def test_files_holding_finds_a_plaintext_password(tmp_path):
    # The check above is only worth something if it would see a leak.
    backend = FilePlaintextKeyring(tmp_path / "leak" / "passwords.txt")
    backend.set_password("smtp-desktop", ACCOUNT, PASSWORD)
    (tmp_path / "encoded").write_bytes(base64.b64encode(PASSWORD.encode()))
    assert sorted(files_holding(PASSWORD, tmp_path)) == [tmp_path / "encoded",
                                                         tmp_path / "leak" / "passwords.txt"]


def test_without_a_secure_keyring_no_password_is_reported_stored(insecure_service, insecure_backend):
    insecure_service.save(SETTINGS, PASSWORD)
    assert not insecure_service.has_password(SETTINGS)
    assert not insecure_service.keyring_is_secure
    _never_used(insecure_backend)


def test_reading_or_forgetting_without_a_secure_keyring_raises_with_advice(
        insecure_service, insecure_backend):
    with pytest.raises(NoSecureKeyringError, match="No secure keyring"):
        insecure_service.password_for(SETTINGS)
    with pytest.raises(NoSecureKeyringError, match="No secure keyring"):
        insecure_service.forget_password(SETTINGS)
    _never_used(insecure_backend)


def test_changing_the_account_without_a_secure_keyring_saves_and_explains(
        insecure_service, insecure_backend):
    moved = SETTINGS.with_changes(username="other")
    result = insecure_service.save(moved, "", previous=SETTINGS)
    assert insecure_service.load().settings == moved
    assert not result.password_moved
    assert result.password_error is not None
    assert "No secure keyring" in result.password_error
    _never_used(insecure_backend)


def test_saving_without_a_password_needs_no_keyring(insecure_service, insecure_backend):
    result = insecure_service.save(SETTINGS)
    assert result.password_error is None
    assert result.message == "Settings saved."
    assert insecure_service.load().settings == SETTINGS
    _never_used(insecure_backend)
