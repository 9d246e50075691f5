"""Hostile SMTP peers on 127.0.0.1: every attempt ends, in its category, and the app lives on.

Each peer misbehaves in one way a real server (or something posing as one) can: a 100 KB reply
line, a line that never ends, a multi-line reply that never ends, a greeting and then silence,
garbage where the TLS handshake should be. The check runs through the whole app
(`smtp-desktop --json probe` / `send-test`, in-process) with mail.smtp.timeout at 1 s; it must
return with the expected category and exit code 1 well within a generous bound, the JSON and
transcript it prints must stay small, and the same process must then still pass a check against
a well-behaved server. One variant runs through the window and shows its event loop keeps
turning while the worker is stuck with the peer.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QPushButton
from support.qt import child, load_into
from support.smtp_servers import Peer, smtp_script

from smtp_desktop.app import main
from smtp_desktop.config.model import SmtpSettings
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.store import dumps, settings_to_document

TIMEOUT_KEYS = {"mail.smtp.timeout": "1000", "mail.smtp.connectiontimeout": "2000",
                "mail.smtp.writetimeout": "2000", "mail.from": "qa@example.test"}
GENEROUS_S = 20.0  # the whole check, hostile peer included; the timeouts above are 1-2 s
BIG = 100_000


# ---------------------------------------------------------------- hostile scripts


def _flood(peer: Peer, chunk: bytes) -> None:
    """Send `chunk` again and again until the client hangs up (or the server stops)."""
    while not peer.stopping.is_set():
        peer.send_raw(chunk)  # OSError once the client is gone: ends the script


def endless_greeting(peer: Peer) -> None:
    _flood(peer, b"220-still greeting you\r\n" * 100)


def endless_ehlo_reply(peer: Peer, line: str) -> bool:
    _flood(peer, b"250-mx.example.test and one more capability\r\n" * 100)
    return False


def endless_data_reply(peer: Peer, line: str) -> bool:
    peer.send("354 go ahead")
    while peer.read_line() != ".":
        pass
    _flood(peer, b"250-queued, and queued, and queued\r\n" * 100)
    return False


def huge_greeting(peer: Peer) -> None:
    peer.send_raw(b"220 " + b"x" * BIG + b"\r\n")
    peer.hold()


def unterminated_greeting(peer: Peer) -> None:
    peer.send_raw(b"220 " + b"y" * BIG)  # and never a line break
    peer.hold()


def huge_ehlo_reply(peer: Peer, line: str) -> bool:
    peer.send_raw(b"250-mx.example.test\r\n250 " + b"z" * BIG + b"\r\n")
    peer.hold()
    return False


def banner_then_silence(peer: Peer) -> None:
    peer.send("220 mx.example.test ESMTP hello, and then nothing")
    peer.hold()


def _garbage(seed: int) -> bytes:
    # 0xFF is no TLS record type, so the client cannot wait for the rest of a "record".
    return b"\xff" + random.Random(seed).randbytes(4095)


# A record header announcing a 16 KB handshake message that never comes.
TLS_RECORD_START = bytes([0x16, 0x03, 0x03, 0x40, 0x00]) + b"\x02\x00"


def after_starttls(payload: bytes) -> Callable[[Peer, str], bool]:
    def answer(peer: Peer, line: str) -> bool:
        peer.send("220 2.0.0 Ready to start TLS")
        peer.send_raw(payload)
        peer.hold()
        return False

    return answer


def on_connect(payload: bytes) -> Callable[[Peer], None]:
    def script(peer: Peer) -> None:
        peer.send_raw(payload)
        peer.hold()

    return script


STARTTLS_EHLO = ("250-mx.example.test", "250-STARTTLS", "250 8BITMIME")
STARTTLS_KEYS = {"mail.smtp.starttls.enable": "true", "mail.smtp.starttls.required": "true"}
IMPLICIT_KEYS = {"mail.smtp.ssl.enable": "true"}


@dataclass(frozen=True)
class Hostile:
    script: Callable[[Peer], None]
    category: str
    command: str = "probe"
    keys: tuple[tuple[str, str], ...] = ()


SCENARIOS = {
    "100 KB greeting line": Hostile(huge_greeting, "protocol"),
    "greeting line that never ends": Hostile(unterminated_greeting, "protocol"),
    "100 KB EHLO reply line": Hostile(smtp_script(on={"EHLO": huge_ehlo_reply}), "protocol"),
    "endless 220- greeting": Hostile(endless_greeting, "protocol"),
    "endless 250- EHLO reply": Hostile(smtp_script(on={"EHLO": endless_ehlo_reply}), "protocol"),
    "endless 250- reply to the message": Hostile(
        smtp_script(on={"DATA": endless_data_reply}), "protocol", "send-test"),
    "banner then silence": Hostile(banner_then_silence, "timeout"),
    "random bytes after STARTTLS": Hostile(
        smtp_script(ehlo=STARTTLS_EHLO, on={"STARTTLS": after_starttls(_garbage(1))}), "tls",
        keys=tuple(STARTTLS_KEYS.items())),
    "SMTP text after STARTTLS": Hostile(
        smtp_script(ehlo=STARTTLS_EHLO, on={"STARTTLS": after_starttls(b"250 ok, no TLS\r\n")}),
        "tls", keys=tuple(STARTTLS_KEYS.items())),
    "silence after STARTTLS": Hostile(
        smtp_script(ehlo=STARTTLS_EHLO, on={"STARTTLS": after_starttls(b"")}), "timeout",
        keys=tuple(STARTTLS_KEYS.items())),
    "random bytes on an implicit TLS port": Hostile(
        on_connect(_garbage(2)), "tls", keys=tuple(IMPLICIT_KEYS.items())),
    "zero bytes on an implicit TLS port": Hostile(
        on_connect(b"\0" * 4096), "tls", keys=tuple(IMPLICIT_KEYS.items())),
    "half a TLS record on an implicit TLS port": Hostile(
        on_connect(TLS_RECORD_START), "timeout", keys=tuple(IMPLICIT_KEYS.items())),
}


# ---------------------------------------------------------------- through the app


def save_settings(config_dir, settings: SmtpSettings) -> None:
    path = AppPaths(config_dir, config_dir).settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(settings_to_document(settings)), encoding="utf-8")


def run_check(capsys, config_dir, command: str, server=None) -> tuple[int, dict, float]:
    """`smtp-desktop --config-dir DIR COMMAND --json`, in-process; bounded even if the app
    would never give up: after GENEROUS_S the peer hangs up and the test fails."""
    argv = ["--config-dir", str(config_dir), command, "--json"]
    if command == "send-test":
        argv += ["--to", "qa@example.test"]
    capsys.readouterr()
    ended: dict[str, object] = {}

    def check() -> None:
        try:
            ended["code"] = main(argv)
        except BaseException as exc:
            ended["error"] = exc

    thread = threading.Thread(target=check, name="hostile-check", daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(GENEROUS_S)
    elapsed = time.monotonic() - started
    if thread.is_alive():
        if server is not None:
            server.stop()  # hang up, so the stuck check ends before the test does
        thread.join(GENEROUS_S)
        pytest.fail(f"{command} against a hostile server did not end within {GENEROUS_S:g} s")
    if "error" in ended:
        raise ended["error"]  # type: ignore[misc]
    return ended["code"], json.loads(capsys.readouterr().out), elapsed  # type: ignore[return-value]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_hostile_server_ends_in_its_category_and_the_app_lives_on(
        name, tmp_path, capsys, scripted_server_factory, plain_server):
    hostile = SCENARIOS[name]
    server = scripted_server_factory(hostile.script)
    config_dir = tmp_path / "config"
    save_settings(config_dir, server.settings({**TIMEOUT_KEYS, **dict(hostile.keys)}))

    code, result, elapsed = run_check(capsys, config_dir, hostile.command, server)

    assert server.connected.is_set()
    assert (result["category"], code) == (hostile.category, 1), result
    assert elapsed < GENEROUS_S
    # Nothing of the flood is kept: short message, short and bounded transcript.
    assert len(result["message"]) < 1000, result["message"][:300]
    assert max(len(line) for line in result["transcript"]) < 1000
    assert len(result["transcript"]) < 1000

    save_settings(config_dir, plain_server.settings({**TIMEOUT_KEYS, "mail.smtp.auth": "false"}))
    code, result, _ = run_check(capsys, config_dir, "send-test")
    assert (code, result["ok"]) == (0, True), result
    assert len(plain_server.messages) == 1


# ---------------------------------------------------------------- through the window


@pytest.fixture
def settings_window(qtbot, tmp_path, memory_keyring, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from smtp_desktop.config.secrets import SecretStore
    from smtp_desktop.ui.main_window import SettingsWindow

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Discard)
    config = ConfigService(AppPaths(tmp_path / "config", tmp_path / "data"),
                           SecretStore(memory_keyring))
    window = SettingsWindow(config)
    qtbot.addWidget(window)
    window.show()
    yield window
    assert QThreadPool.globalInstance().waitForDone(10_000), "a worker thread is still running"


def test_the_window_stays_responsive_while_a_hostile_server_stalls_it(
        settings_window, qtbot, scripted_server_factory):
    window = settings_window
    server = scripted_server_factory(banner_then_silence)
    load_into(window, server.settings({**TIMEOUT_KEYS, "mail.smtp.timeout": "1500"}))
    ticks_while_stuck = []

    def tick() -> None:
        if server.connected.is_set() and window.check_running:
            ticks_while_stuck.append(time.monotonic())

    timer = QTimer(window)
    timer.setInterval(20)
    timer.timeout.connect(tick)
    timer.start()
    with qtbot.waitSignal(window.check_finished, timeout=int(GENEROUS_S * 1000)) as blocker:
        child(window, QPushButton, "probeButton").click()
    timer.stop()

    assert blocker.args[0].category.value == "timeout"
    # The GUI thread kept running its timers while the worker waited for the silent server.
    assert len(ticks_while_stuck) >= 10, ticks_while_stuck
    assert child(window, QPushButton, "probeButton").isEnabled()
