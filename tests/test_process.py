"""Runs that hold a password are non-dumpable: no core dump, no debugger (Linux prctl)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from support.entry import Child, run
from support.fresh_python import run_python

from smtp_desktop.process import is_dumpable, make_non_dumpable

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


@linux_only
def test_make_non_dumpable_clears_pr_get_dumpable():
    code = ("from smtp_desktop.process import is_dumpable, make_non_dumpable\n"
            "before = is_dumpable(); done = make_non_dumpable()\n"
            "print(before, done, is_dumpable())")
    result = run_python(code)
    assert result.stdout.split() == ["True", "True", "False"]


def test_elsewhere_it_is_a_no_op(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert make_non_dumpable() is False
    assert is_dumpable() is None


@pytest.fixture
def settings_file(tmp_path):
    path = tmp_path / "import.json"
    path.write_text(json.dumps({
        "version": 1, "enabled": False, "service": "testsigma",
        "own": {"host": "", "port": 587, "username": "", "keys": {}}}))
    return path


@pytest.fixture
def default_service_file(tmp_path):
    path = tmp_path / "default.json"
    path.write_text(json.dumps({
        "version": 1, "host": "smtp.vendor.example", "port": 587, "username": "svc",
        "sender": "noreply@example.com", "keys": {}}))
    return path


@linux_only
@pytest.mark.parametrize("command", [
    ["send-test", "--to", "me@example.com", "--password-stdin"],
    ["probe", "--password-stdin"],
    ["import", "{settings}", "--dry-run"],
    ["import-default", "{default}"],
    ["show"],
], ids=lambda command: command[0])
def test_commands_that_read_a_password_are_non_dumpable(command, tmp_path, settings_file,
                                                        default_service_file):
    args = [part.format(settings=settings_file, default=default_service_file) for part in command]
    child = run(args, tmp_path, stdin="s3cret\n")

    assert "Traceback" not in child.text(), child.text()
    assert child.dumpable == "False"


@linux_only
def test_commands_without_a_password_stay_dumpable(tmp_path):
    """The hook reads the real state: a run that holds no password keeps the default."""
    child = run(["presets"], tmp_path)

    assert child.process.returncode == 0
    assert child.dumpable == "True"


@linux_only
@pytest.mark.parametrize("auth, dumpable", [(["--auth", "demo:s3cret"], "False"), ([], "True")],
                         ids=["with-auth", "without-auth"])
def test_outbox_serve_with_a_login_is_non_dumpable(auth, dumpable, tmp_path):
    child = Child(["outbox", "serve", "--port", "0", *auth], tmp_path)
    try:
        child.wait_for_line("Local outbox listening", stream="stdout")
        child.process.send_signal(signal.SIGTERM)
        assert child.wait() == 0
    finally:
        child.kill()
    assert child.dumpable == dumpable


@linux_only
def test_without_ctypes_it_warns_and_carries_on(monkeypatch, caplog):
    """Some minimal Python builds have no ctypes: the program must still run."""
    monkeypatch.setitem(sys.modules, "ctypes", None)  # `import ctypes` raises ImportError

    assert make_non_dumpable() is False
    assert is_dumpable() is None
    assert "Could not mark the process non-dumpable" in caplog.text


CRASH_AT_EXIT = """
import atexit, os, sys
import smtp_desktop.process

if sys.argv[1] == "dumpable":  # the control: what the code did before
    smtp_desktop.process.make_non_dumpable = lambda: False
atexit.register(os.abort)  # crash after the command ran: SIGABRT, core dump if allowed
from smtp_desktop.app import main

sys.exit(main(sys.argv[2:]))
"""


def crash_send_test(folder, mode: str) -> list:
    import resource

    folder.mkdir()
    subprocess.run(
        [sys.executable, "-c", CRASH_AT_EXIT, mode, "--config-dir", str(folder / "c"),
         "--data-dir", str(folder / "d"), "send-test", "--to", "me@example.com",
         "--password-stdin"],
        input="core-dump-password-4711\n", cwd=folder, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                                     resource.RLIM_INFINITY)))
    return sorted(folder.glob("core*"))


@linux_only
def test_a_crashing_send_test_leaves_no_core_dump_with_the_password(tmp_path):
    control = crash_send_test(tmp_path / "control", "dumpable")
    if not control:
        pytest.skip("this system writes core dumps elsewhere (see kernel.core_pattern)")
    assert any(b"core-dump-password-4711" in core.read_bytes() for core in control)

    assert crash_send_test(tmp_path / "protected", "as-shipped") == []
