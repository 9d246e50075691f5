"""Issue 11, section 4: SIGINT and SIGTERM during a --json command still print its one JSON
value, with exit 130. A running check is cancelled and reports category `cancelled` with the
transcript so far.

Real processes against a real silent server on 127.0.0.1; each signal is sent once the child is
where it should be interrupted (the server saw its connection, or it waits on standard input),
never after a sleep.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WAIT_S = 60.0  # generous for a busy machine; reached only on failure


def start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smtp_desktop", "--config-dir", str(tmp_path / "config"),
         "--data-dir", str(tmp_path / "data"), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def settings_for(server, tmp_path: Path) -> None:
    """settings.json pointing at `server`: no TLS, no login, timeouts far beyond the test."""
    folder = tmp_path / "config"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps({
        "version": 1, "enabled": True, "service": "own",
        "own": {"host": server.host, "port": server.port, "username": "",
                "keys": {"mail.smtp.auth": "false", "mail.smtp.starttls.enable": "false",
                         "mail.smtp.connectiontimeout": "120000",
                         "mail.smtp.timeout": "120000"}}}))


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def blocked_reading_a_pipe(child: subprocess.Popen[str]) -> bool:
    """True once the child sleeps in a pipe read (its standard input); Linux's wchan says so."""
    try:
        wchan = Path(f"/proc/{child.pid}/wchan").read_text()
    except OSError:
        return False
    return "pipe" in wchan and "read" in wchan


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", [["send-test", "--to", "qa@example.com",
                                      "--from", "me@example.com"], ["probe"]],
                         ids=["send-test", "probe"])
def test_a_signal_during_a_check_prints_its_json_as_cancelled(silent_server, tmp_path,
                                                              command, signum):
    settings_for(silent_server, tmp_path)
    child = start(tmp_path, *command, "--json")
    try:
        assert silent_server.connected.wait(WAIT_S), "the child never connected"
        child.send_signal(signum)
        out, err = child.communicate(timeout=WAIT_S)
    finally:
        child.kill()
    assert child.returncode == 130, err
    document = json.loads(out)  # exactly one JSON value
    assert document["ok"] is False and document["category"] == "cancelled"
    assert f"* connecting to {silent_server.host}:{silent_server.port}" in document["transcript"]
    assert "Traceback" not in err
    history = [json.loads(line) for line in
               (tmp_path / "data" / "history.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["category"]) for r in history] == [(command[0], "cancelled")]


def test_a_signal_during_a_check_without_json_says_cancelled(silent_server, tmp_path):
    settings_for(silent_server, tmp_path)
    child = start(tmp_path, "probe")
    try:
        assert silent_server.connected.wait(WAIT_S), "the child never connected"
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=WAIT_S)
    finally:
        child.kill()
    assert child.returncode == 130
    assert out == ""  # a failure is reported on stderr
    assert err.startswith("FAILED: Cancelled [cancelled]") and "Traceback" not in err


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux's /proc wchan")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", [["import", "IN", "--password-stdin"], ["probe",
                                     "--password-stdin"]], ids=["import", "probe"])
def test_a_signal_while_a_json_command_waits_prints_one_json_value(silent_server, tmp_path,
                                                                     command, signum):
    settings_for(silent_server, tmp_path)
    before = (tmp_path / "config" / "settings.json").read_text()
    source = tmp_path / "in.json"
    source.write_text(before.replace('"username": ""', '"username": "me@example.com"'))
    child = start(tmp_path, *[str(source) if a == "IN" else a for a in command], "--json")
    try:
        wait_until(lambda: blocked_reading_a_pipe(child), "the child waits for the password")
        child.send_signal(signum)
        out, err = child.communicate(timeout=WAIT_S)
    finally:
        child.kill()
    assert child.returncode == 130, err
    document = json.loads(out)
    assert document["ok"] is False
    if command[0] == "probe":
        assert document["category"] == "cancelled" and document["transcript"] == []
    else:
        assert document["exit_code"] == 130
    assert "Traceback" not in err
    assert (tmp_path / "config" / "settings.json").read_text() == before
    assert not silent_server.connected.is_set()
