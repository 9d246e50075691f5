"""Issue 11, section 4: an import onto a full disk is an environment problem (exit 4), and the
new password does not stay in the keyring when settings.json could not be written.

The config folder is a 64 KiB tmpfs, filled up, in a private mount namespace (`unshare -m`,
root): the real kernel says ENOSPC. The keyring is the real Secret Service of
tests/support/secret_service.py, shared by this process and the child, so what the child left
in it is read back here.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from smtp_desktop.config.model import KEYRING_SERVICE

pytestmark = pytest.mark.secret_service

SETTINGS = {
    "version": 1, "enabled": True, "service": "own",
    "own": {"host": "smtp.example.com", "port": 587, "username": "me@example.com",
            "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}},
}
ACCOUNT = "me@example.com@smtp.example.com"
NEW_PASSWORD = "new-Pässword-4242"
OLD_SETTINGS = {**SETTINGS, "own": {**SETTINGS["own"], "port": 465,
                                    "keys": {"mail.smtp.auth": "true",
                                             "mail.smtp.ssl.enable": "true"}}}


def _unshare_unavailable(tmp_path) -> str | None:
    """Why a private mount namespace with a tmpfs cannot be had here, or None."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs Linux and root (unshare -m, mount -t tmpfs)"
    if not shutil.which("unshare"):
        return "unshare is not installed"
    probe = tmp_path / "probe"
    probe.mkdir()
    result = subprocess.run(["unshare", "-m", "sh", "-c",
                             f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(probe))}"],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        return f"cannot mount a tmpfs in a private mount namespace: {result.stderr.strip()}"
    return None


@pytest.fixture
def full_disk(tmp_path):
    """A runner of `smtp-desktop ARGS` with the config folder on a full 64 KiB tmpfs."""
    reason = _unshare_unavailable(tmp_path)
    if reason:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(f"CI runs as root, so this must work: {reason}")
        pytest.skip(reason)
    mount_point = tmp_path / "disk"
    mount_point.mkdir()

    def run(*args: str, stdin: str = "", seed: dict | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        config = mount_point / "config"
        command = [sys.executable, "-m", "smtp_desktop", "--config-dir", str(config),
                   "--data-dir", str(tmp_path / "data"), *args]
        script = " && ".join([
            f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(mount_point))}",
            f"mkdir {shlex.quote(str(config))}",
            *([f"printf %s {shlex.quote(json.dumps(seed))} > {shlex.quote(str(config))}"
               "/settings.json"] if seed else []),
            # Fill the rest: dd stops with "No space left on device".
            f"{{ dd if=/dev/zero of={shlex.quote(str(mount_point))}/filler bs=1k 2>/dev/null; "
            "true; }",
            "exec " + shlex.join(command),
        ])
        return subprocess.run(["unshare", "-m", "sh", "-c", script], input=stdin,
                              capture_output=True, text=True, timeout=120, env=env)

    return run


@pytest.fixture
def keyring_env(secret_service, secret_service_keyring) -> dict[str, str]:
    """The environment for a child using the same real Secret Service as this test."""
    return {**os.environ, "DBUS_SESSION_BUS_ADDRESS": secret_service.address,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}


def test_import_onto_a_full_disk_exits_4_and_rolls_the_new_password_back(
        full_disk, tmp_path, keyring_env, secret_service_keyring):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(SETTINGS))
    result = full_disk("import", str(source), "--password-stdin", "--json",
                       stdin=NEW_PASSWORD + "\n", env=keyring_env)
    assert result.returncode == 4, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["exit_code"] == 4
    assert "No space left on device" in document["message"]
    assert "not kept in the keyring (rolled back)" in document["message"]
    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) is None


def test_a_full_disk_keeps_the_previous_password_of_the_account(
        full_disk, tmp_path, keyring_env, secret_service_keyring):
    secret_service_keyring.set_password(KEYRING_SERVICE, ACCOUNT, "old-password")
    source = tmp_path / "in.json"
    source.write_text(json.dumps(SETTINGS))
    result = full_disk("import", str(source), "--password-stdin", seed=OLD_SETTINGS,
                       stdin=NEW_PASSWORD + "\n", env=keyring_env)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "previous password again" in result.stderr
    assert secret_service_keyring.get_password(KEYRING_SERVICE, ACCOUNT) == "old-password"


def test_import_without_a_password_onto_a_full_disk_exits_4(full_disk, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(SETTINGS))
    result = full_disk("import", str(source), "--json")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Could not write" in json.loads(result.stdout)["message"]
