"""Secrets sweep: a whole session with a memorable password, then search everything for it.

The password is configured through `smtp-desktop import --password-stdin` and ConfigService.save,
used for AUTH PLAIN and AUTH LOGIN against a STARTTLS aiosmtpd, refused (a wrong password, which
must not leak either), exported, shown and probed, through the transport and through the CLI
(`-v`, with and without --json, in-process and as a real process) and typed into the window.
Then every file under the test's folders (config, data, home, exports) and everything captured
(stdout, stderr, log records with their tracebacks, transcripts, JSON, the window's texts and the
clipboard) is searched for the passwords: as typed, JSON-escaped, and in the base64 forms AUTH
PLAIN ("\\0user\\0pass") and AUTH LOGIN carry. There must be no hit.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import keyring
import pytest
from support.cli_harness import run_module
from support.memory_keyring import MemoryKeyring
from support.smtp_servers import HOST, trustme_pems

from smtp_desktop import mail
from smtp_desktop.app import main
from smtp_desktop.config.model import KEYRING_SERVICE, Service, SmtpSettings
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService

USER = "sweeper@example.test"
SECRET = "Quokka-Zebra-Äpfel-7731+/="  # memorable: any hit is certainly a leak
WRONG = "Walrus-Öl-Tango-4242=/+"  # a refused password is still a password
RECIPIENT = "qa@example.test"
GENEROUS_S = 60.0
# aiosmtpd (the test server, which is meant to see the password) logs under these names.
SERVER_LOGGERS = ("mail.log", "mail.debug", "asyncio")


def secret_forms(password: str, username: str = USER) -> dict[str, bytes]:
    """Every form in which `password` could leak, by name, as bytes to search for."""
    raw, user = password.encode("utf-8"), username.encode("utf-8")
    forms = {
        "plain": raw,
        "json-escaped": json.dumps(password)[1:-1].encode("ascii"),
        "python-escaped": password.encode("unicode_escape"),
        "AUTH LOGIN (base64)": base64.b64encode(raw),
        "AUTH PLAIN \\0user\\0pass": base64.b64encode(b"\0" + user + b"\0" + raw),
        "AUTH PLAIN user\\0user\\0pass": base64.b64encode(user + b"\0" + user + b"\0" + raw),
        "AUTH PLAIN \\0\\0pass": base64.b64encode(b"\0\0" + raw),
    }
    return {f"{password[:6]}... {name}": form for name, form in forms.items()}


def find_leaks(forms: dict[str, bytes], roots: Iterable[Path],
               texts: dict[str, str]) -> list[str]:
    """Where any form occurs: in a file under `roots`, or in one of the named `texts`."""
    hits = []
    haystacks: dict[str, bytes] = {name: text.encode("utf-8", "surrogateescape")
                                   for name, text in texts.items()}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and not path.is_symlink():
                haystacks[str(path)] = path.read_bytes()
    for where, data in haystacks.items():
        for name, form in forms.items():
            if form in data:
                hits.append(f"{name} in {where}")
    return hits


def formatted_records(caplog) -> str:
    """Every captured log record, message and traceback, except the test server's own."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records
                     if not record.name.startswith(SERVER_LOGGERS))


# ---------------------------------------------------------------- the sweep can fail


@pytest.mark.parametrize("form", ["plain", "json-escaped", "AUTH LOGIN (base64)",
                                  "AUTH PLAIN \\0user\\0pass"])
@pytest.mark.parametrize("planted_in", ["file", "log", "stdout"])
def test_the_sweep_finds_a_planted_password(tmp_path, caplog, capsys, form, planted_in):
    forms = secret_forms(SECRET)
    needle = forms[f"{SECRET[:6]}... {form}"].decode("utf-8")
    caplog.set_level(logging.DEBUG)
    if planted_in == "file":
        (tmp_path / "config" / "deep").mkdir(parents=True)
        (tmp_path / "config" / "deep" / "notes.txt").write_text(f"x{needle}x", encoding="utf-8")
    elif planted_in == "log":
        logging.getLogger("smtp_desktop.mail.transport").debug("C: AUTH %s", needle)
    else:
        print(f'{{"transcript": ["C: {needle}"]}}')
    captured = capsys.readouterr()
    hits = find_leaks(forms, [tmp_path], {"stdout": captured.out, "stderr": captured.err,
                                          "log records": formatted_records(caplog)})
    assert hits, f"the sweep missed the {form} form planted in the {planted_in}"


# ---------------------------------------------------------------- the session


def window_texts(window) -> dict[str, str]:
    """Everything the window shows, except the password field itself."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QPlainTextEdit, QTextEdit

    texts = {"window title": window.windowTitle()}
    for kind, read in ((QLabel, QLabel.text), (QAbstractButton, QAbstractButton.text),
                       (QTextEdit, QTextEdit.toHtml), (QPlainTextEdit, QPlainTextEdit.toPlainText),
                       (QLineEdit, QLineEdit.text)):
        for index, widget in enumerate(window.findChildren(kind)):
            if widget.objectName() != "passwordEdit":
                name = widget.objectName() or f"{kind.__name__}[{index}]"
                texts[f"window {name}"] = f"{read(widget)}\n{widget.toolTip()}"
    return texts


def window_session(qtbot, monkeypatch, config: ConfigService) -> dict[str, str]:
    """Type the password into the window, send, probe, try a wrong one, save; return its texts."""
    from PySide6.QtCore import QThreadPool
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QLineEdit, QMessageBox, QPushButton

    from smtp_desktop.ui.main_window import SettingsWindow

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Discard)
    window = SettingsWindow(config)
    qtbot.addWidget(window)
    window.show()
    password = window.findChild(QLineEdit, "passwordEdit")
    window.findChild(QLineEdit, "testRecipientEdit").setText(RECIPIENT)
    texts: dict[str, str] = {}
    for label, typed, button, ok in (("send", SECRET, "sendTestButton", True),
                                     ("probe", SECRET, "probeButton", True),
                                     ("wrong", WRONG, "probeButton", False)):
        password.setText(typed)
        with qtbot.waitSignal(window.check_finished, timeout=int(GENEROUS_S * 1000)) as blocker:
            window.findChild(QPushButton, button).click()
        assert blocker.args[0].ok is ok, blocker.args[0]
        window.findChild(QPushButton, "copyTranscriptButton").click()
        texts[f"window {label}: clipboard"] = QGuiApplication.clipboard().text()
        texts.update({f"{key} after {label}": text for key, text in window_texts(window).items()})
    password.setText(SECRET)
    assert window.save()
    texts.update({f"{key} after save": text for key, text in window_texts(window).items()})
    assert QThreadPool.globalInstance().waitForDone(int(GENEROUS_S * 1000))
    return texts


@pytest.fixture
def auth_server(smtp_server_factory, smtp_ca):
    return smtp_server_factory("starttls", pems=trustme_pems(smtp_ca, HOST, "localhost"),
                               username=USER, password=SECRET)


def settings_for(server, mechanism: str) -> SmtpSettings:
    keys = {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true",
            "mail.smtp.starttls.required": "true", "mail.smtp.auth.mechanisms": mechanism,
            "mail.from": "Sweeper <sweeper@example.test>", "mail.smtp.timeout": "10000"}
    return SmtpSettings(enabled=True, service=Service.OWN, host=server.host, port=server.port,
                        username=USER, keys=tuple(keys.items()))


class Session:
    """Runs CLI commands in-process and keeps everything they printed."""

    def __init__(self, paths: AppPaths, capsys, monkeypatch) -> None:
        self.paths = paths
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.outputs: dict[str, str] = {}

    def cli(self, name: str, *args: str, stdin: str | None = None) -> int:
        argv = ["-v", "--config-dir", str(self.paths.config_dir),
                "--data-dir", str(self.paths.data_dir), *args]
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        code = main(argv)
        captured = self.capsys.readouterr()
        self.outputs[f"{name}: stdout"] = captured.out
        self.outputs[f"{name}: stderr"] = captured.err
        return code

    def json(self, name: str) -> dict:
        return json.loads(self.outputs[f"{name}: stdout"])


def test_no_trace_of_the_password_anywhere_after_a_full_session(
        tmp_path, auth_server, capsys, caplog, monkeypatch, qtbot):
    caplog.set_level(logging.DEBUG)
    memory = MemoryKeyring()
    keyring.set_keyring(memory)  # what ConfigService(paths) in the CLI picks up
    paths = AppPaths(tmp_path / "config", tmp_path / "data")
    session = Session(paths, capsys, monkeypatch)
    texts: dict[str, str] = {}
    plain, login = settings_for(auth_server, "PLAIN"), settings_for(auth_server, "LOGIN")
    account = plain.password_account

    # Configure with the CLI: import --password-stdin.
    source = tmp_path / "import" / "smtp.json"
    source.parent.mkdir()
    source.write_text(json.dumps({"version": 1, "enabled": True, "service": "own", "own": {
        "host": plain.host, "port": plain.port, "username": USER, "keys": dict(plain.keys)}}))
    assert session.cli("import", "import", str(source), "--password-stdin", "--json",
                       stdin=SECRET + "\n") == 0
    assert memory.get_password(KEYRING_SERVICE, account) == SECRET

    # Send and probe with the stored password (AUTH PLAIN), verbose, JSON and for people.
    assert session.cli("send-test plain", "send-test", "--to", RECIPIENT, "--json") == 0
    assert "C: AUTH PLAIN <redacted>" in session.json("send-test plain")["transcript"]
    assert session.cli("probe plain", "probe") == 0

    # Configure through the service (AUTH LOGIN) and use it again.
    config = ConfigService(paths, SecretStore(memory))
    config.save(login, SECRET, previous=plain)
    assert session.cli("send-test login", "send-test", "--to", RECIPIENT) == 0
    assert session.cli("probe login", "probe", "--json") == 0
    assert "C: AUTH LOGIN" in session.json("probe login")["transcript"]
    assert session.json("probe login")["login"] is True

    # A wrong password, piped in: refused, for people and as JSON.
    assert session.cli("probe wrong", "probe", "--password-stdin", "--json",
                       stdin=WRONG + "\n") == 1
    assert session.json("probe wrong")["category"] == "auth"
    assert session.cli("send-test wrong", "send-test", "--to", RECIPIENT, "--password-stdin",
                       stdin=WRONG + "\n") == 1

    # Export, show.
    assert session.cli("export file", "export", str(tmp_path / "exported.json"), "--json") == 0
    assert session.cli("export stdout", "export", "-") == 0
    assert session.cli("show", "show", "--json") == 0
    assert session.json("show")["password_stored"] is True
    assert session.cli("show for people", "show") == 0

    # The transport directly: both mechanisms, right and wrong password, send and probe.
    for name, settings in (("PLAIN", plain), ("LOGIN", login)):
        for password, ok in ((SECRET, True), (WRONG, False)):
            for outcome in (mail.send_test_email(settings, password, RECIPIENT),
                            mail.probe(settings, password)):
                assert outcome.ok is ok, outcome
                assert ok or outcome.category.value == "auth", outcome
                label = f"transport {name} {'right' if ok else 'wrong'}"
                texts[f"{label}: json"] = json.dumps(outcome.to_json(), ensure_ascii=False)
                texts[f"{label}: repr"] = repr(outcome)
                texts[f"{label}: transcript"] = "\n".join(outcome.transcript)

    # The window: typed password, send, probe, a wrong password, save.
    texts.update(window_session(qtbot, monkeypatch, config))
    assert memory.get_password(KEYRING_SERVICE, account) == SECRET

    # The real program, with -v logging to a real stderr.
    env = {**os.environ, "SMTP_DESKTOP_CONFIG_DIR": str(paths.config_dir),
           "SMTP_DESKTOP_DATA_DIR": str(paths.data_dir)}
    for label, args, password, code in (
            ("process send-test", ["send-test", "--to", RECIPIENT], SECRET, 0),
            ("process probe wrong", ["probe", "--json"], WRONG, 1)):
        done = run_module("-v", *args, "--password-stdin", stdin=password + "\n", env=env,
                          timeout=GENEROUS_S)
        assert done.returncode == code, done.stderr
        assert "INFO" in done.stderr  # -v did log
        texts[f"{label}: stdout"], texts[f"{label}: stderr"] = done.stdout, done.stderr

    assert len(auth_server.messages) == 6  # CLI 2, transport 2, window 1, process 1
    texts.update(session.outputs)
    texts["log records"] = formatted_records(caplog)
    assert "DEBUG" in texts["log records"]  # the transcript was logged, so it was searched
    assert paths.settings_file.is_file() and (tmp_path / "exported.json").is_file()
    assert USER in texts["show: stdout"] and USER in texts["export stdout: stdout"]
    roots = [tmp_path, Path(os.environ["HOME"])]
    forms = {**secret_forms(SECRET), **secret_forms(WRONG)}
    assert find_leaks(forms, roots, texts) == []
