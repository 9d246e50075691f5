"""Issue 11, section 4: bad input gets a clear error, never a traceback, and nothing is lost.

Each test here failed on the code before the fix it names.
"""

from __future__ import annotations

import json
import sys

import pytest
from support.settings_documents import as_version_2

from smtp_desktop.app import main

HUGE_NUMBER = "9" * 5000  # past Python's 4,300-digit limit for int(): json.loads raises ValueError
SETTINGS = {
    "version": 1, "enabled": True, "service": "own",
    "own": {"host": "smtp.example.com", "port": 587, "username": "me@example.com",
            "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}},
}
DEFAULT_SERVICE = {"version": 1, "host": "mail.vendor.example", "port": 587, "username": "svc",
                   "sender": "noreply@vendor.example", "keys": {"mail.smtp.auth": "true"}}


@pytest.fixture
def binary_stdin() -> bool:
    """The shared `cli` fixture reads standard input as bytes here (stdin may be str or bytes)."""
    return True


def write(path, document) -> str:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def with_huge_port(document: dict) -> str:
    """`document` as JSON text whose port is a 5,000-digit number."""
    text = json.dumps(document)
    return text.replace('"port": 587', f'"port": {HUGE_NUMBER}')


# ---------------------------------------------------------------- numbers past 4,300 digits


def test_show_json_on_a_settings_file_with_a_huge_number_is_one_json_error(cli):
    cli.config_dir.mkdir(parents=True)
    damaged = with_huge_port(SETTINGS)
    (cli.config_dir / "settings.json").write_text(damaged)
    code, out, _ = cli("show", "--json")
    assert code == 2
    assert "settings.json is not valid JSON" in json.loads(out)["message"]
    assert (cli.config_dir / "settings.json").read_text() == damaged  # commands never move it


def test_import_repairs_a_settings_file_with_a_huge_number(cli, tmp_path):
    cli.config_dir.mkdir(parents=True)
    damaged = with_huge_port(SETTINGS)
    (cli.config_dir / "settings.json").write_text(damaged)
    code, out, err = cli("import", write(tmp_path / "in.json", SETTINGS), "--json")
    assert code == 0, out + err
    assert json.loads((cli.config_dir / "settings.json").read_text()) == as_version_2(SETTINGS)
    assert [b.read_text() for b in cli.config_dir.glob("settings.json.corrupt-*")] == [damaged]


@pytest.mark.parametrize("command", ["import", "import-default"])
def test_an_import_file_with_a_huge_number_is_invalid_input(cli, tmp_path, command):
    document = SETTINGS if command == "import" else DEFAULT_SERVICE
    source = write(tmp_path / "in.json", with_huge_port(document))
    code, out, _ = cli(command, source, "--json")
    assert code == 2
    assert "in.json is not valid JSON" in json.loads(out)["message"]
    assert not cli.config_dir.exists() or not any(cli.config_dir.iterdir())


def test_a_default_service_file_with_a_huge_number_is_a_problem_not_a_crash(cli, tmp_path):
    cli("import", write(tmp_path / "in.json", {**SETTINGS, "service": "testsigma"}))
    (cli.config_dir / "default-service.json").write_text(with_huge_port(DEFAULT_SERVICE))
    code, out, _ = cli("show", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["default_service"] is None
    assert "default-service.json is not valid JSON" in document["default_service_problem"]
    code, out, _ = cli("send-test", "--to", "qa@example.com", "--json")
    assert code == 2 and json.loads(out)["category"] == "not-provisioned"


# ---------------------------------------------------------------- untrusted text, escaped

# C0 (ESC, BEL), DEL, C1 (CSI) and bidi controls (RLO, LRI), each as it must be shown.
HOSTILE = {"\x1b": "\\x1b", "\x07": "\\x07", "\x7f": "\\x7f", "\x9b": "\\x9b",
           "\u202e": "\\u202e", "\u2066": "\\u2066"}
HOSTILE_TEXT = "a" + "b".join(HOSTILE) + "z"


def assert_escaped(text: str) -> None:
    """No hostile character raw in `text`, and each shown as its escape."""
    for raw, shown in HOSTILE.items():
        assert raw not in text, f"{shown} printed raw"
        assert shown in text, f"{shown} not shown"


def test_show_escapes_untrusted_text_and_json_keeps_it(cli, tmp_path):
    off = {**SETTINGS, "enabled": False,  # SMTP off: own fields are kept unvalidated
           "own": {**SETTINGS["own"], "host": f"h{HOSTILE_TEXT}", "username": HOSTILE_TEXT,
                   "keys": {f"k{HOSTILE_TEXT}": f"v{HOSTILE_TEXT}"}}}
    code, _, err = cli("import", write(tmp_path / "in.json", off))
    assert code == 0, err
    code, out, _ = cli("show")
    assert code == 0
    assert_escaped(out)
    assert len(out.splitlines()) == 10  # nothing added a line
    document = json.loads(cli("show", "--json")[1])
    assert document["settings"]["own"]["username"] == HOSTILE_TEXT


def test_error_messages_escape_untrusted_text_one_problem_a_line(cli, tmp_path):
    bad = {**SETTINGS, "own": {**SETTINGS["own"], "keys": {f"k\n{HOSTILE_TEXT}": "1"}}}
    code, out, err = cli("import", write(tmp_path / "in.json", bad))
    assert code == 2 and out == ""
    assert_escaped(err)
    assert "\\x0a" in err
    lines = err.splitlines()
    assert lines[0] == "in.json was not imported:"
    assert len(lines) == 2 and "cannot contain spaces" in lines[1]
    code, out, _ = cli("import", str(tmp_path / "in.json"), "--json")
    assert f"k\n{HOSTILE_TEXT}" in json.loads(out)["problems"][0]


def test_transcripts_escape_what_the_server_says(cli, tmp_path, scripted_server_factory):
    from support.smtp_servers import smtp_script

    server = scripted_server_factory(smtp_script(greeting=f"220 mx{HOSTILE_TEXT} ESMTP"))
    settings = {**SETTINGS, "own": {"host": server.host, "port": server.port, "username": "",
                                    "keys": {"mail.smtp.auth": "false",
                                             "mail.smtp.starttls.enable": "false"}}}
    cli("import", write(tmp_path / "in.json", settings))
    code, out, err = cli("send-test", "--to", "qa@example.com", "--from", "me@example.com")
    assert code == 0, err
    assert_escaped(out)
    assert all(line.startswith(("OK:", "Transcript:", "  ")) for line in out.splitlines())


def test_outbox_list_escapes_headers_from_outside(cli):
    from smtp_desktop.outbox import Outbox

    raw = (f"From: x{HOSTILE_TEXT}@example.com\r\nTo: qa@example.com\r\n"
           f"Subject: hi {HOSTILE_TEXT}\r\n\r\nbody\r\n").encode()
    Outbox(cli.data_dir / "outbox").add(raw, "x@example.com", [f"r{HOSTILE_TEXT}@example.com"])
    code, out, _ = cli("outbox", "list")
    assert code == 0
    assert_escaped(out.split("\n", 2)[1])  # the subject line
    assert_escaped(out.split("\n", 3)[2])  # from and to
    assert json.loads(cli("outbox", "list", "--json")[1])[0]["subject"] == f"hi {HOSTILE_TEXT}"


def test_a_refused_recipient_is_stored_escaped_so_history_and_its_json_agree(cli, tmp_path):
    cli("import", write(tmp_path / "in.json", {**SETTINGS, "service": "testsigma"}))
    recipient = f"qa@example.com\r\nBcc: {HOSTILE_TEXT}@evil.example"
    code, out, _ = cli("send-test", "--to", recipient, "--json")
    assert code == 2 and json.loads(out)["category"] == "invalid-input"
    stored = (cli.data_dir / "history.jsonl").read_text()
    assert len(stored.splitlines()) == 1 and "\r" not in stored
    code, out, _ = cli("history")
    assert len(out.splitlines()) == 1
    assert_escaped(out)
    shown = json.loads(cli("history", "--json")[1])[0]["recipient"]
    escaped = "a" + "b".join(HOSTILE.values()) + "z"
    assert shown == f"qa@example.com\\x0d\\x0aBcc: {escaped}@evil.example"
    assert shown in out


# ---------------------------------------------------------------- import: every problem


def test_import_reports_unknown_fields_and_validation_problems_together(cli, tmp_path):
    bad = {**SETTINGS, "extra": 1,
           "own": {**SETTINGS["own"], "host": "smtp://x", "port": 70000, "colour": "red"}}
    source = write(tmp_path / "in.json", bad)
    code, out, _ = cli("import", source, "--json")
    assert code == 2
    problems = json.loads(out)["problems"]
    assert problems[:2] == ["in.json has unknown field(s): extra.",
                            "own has unknown field(s): colour."]
    assert [p.split(":")[0] for p in problems[2:]] == ["host", "port"]
    code, _, err = cli("import", source)
    assert code == 2
    assert all(p in err for p in problems)
    assert not (cli.config_dir / "settings.json").exists()


def test_import_with_one_unknown_field_lists_it_as_a_problem(cli, tmp_path):
    code, out, _ = cli("import", write(tmp_path / "x.json", {**SETTINGS, "extra": 1}), "--json")
    assert code == 2
    assert json.loads(out)["problems"] == ["x.json has unknown field(s): extra."]


# ---------------------------------------------------------------- send-test arguments


@pytest.fixture
def on_local_outbox(cli, tmp_path):
    """Settings on the Testsigma service with nothing provisioned: checks go to the local outbox."""
    cli("import", write(tmp_path / "in.json", {**SETTINGS, "service": "testsigma"}))
    return cli


@pytest.mark.parametrize("sender", ["=?utf-8?q?a=0D=0AX-Inj:_1?= <me@example.com>",
                                    "=?utf-8?b?YQ1YLUluajogMQ==?= <me@example.com>",
                                    "=?utf-8?q?a=01b?= <me@example.com>"])
def test_an_encoded_line_break_in_from_is_invalid_input_with_one_json_value(on_local_outbox,
                                                                             sender):
    code, out, _ = on_local_outbox("send-test", "--to", "qa@example.com", "--from", sender,
                                   "--json")
    assert code == 2
    document = json.loads(out)
    assert document["category"] == "invalid-input"
    assert "decodes to a line break" in document["message"]
    assert json.loads(on_local_outbox("outbox", "list", "--json")[1]) == []


def test_a_plain_display_name_in_from_still_works(on_local_outbox):
    code, out, err = on_local_outbox("send-test", "--to", "qa@example.com", "--from",
                                     "=?utf-8?q?J=C3=B6rg?= <me@example.com>", "--json")
    assert code == 0, out + err


@pytest.mark.parametrize("recipient", ["", "  "])
def test_an_empty_recipient_is_invalid_input(on_local_outbox, recipient):
    code, out, _ = on_local_outbox("send-test", "--to", recipient, "--json")
    assert code == 2
    document = json.loads(out)
    assert document["category"] == "invalid-input" and "--to" in document["message"]
    assert json.loads(on_local_outbox("outbox", "list", "--json")[1]) == []


# ---------------------------------------------------------------- --password-stdin


NOT_UTF8 = b"pass\xff\xfeword\n"


@pytest.mark.parametrize("command", [["send-test", "--to", "qa@example.com"], ["probe"]])
def test_a_password_that_is_not_utf8_is_invalid_input_for_checks(cli, ring, tmp_path, command):
    cli("import", write(tmp_path / "in.json", SETTINGS))
    code, out, _ = cli(*command, "--password-stdin", "--json", stdin=NOT_UTF8)
    assert code == 2
    document = json.loads(out)
    assert document["category"] == "invalid-input" and "not UTF-8" in document["message"]
    assert document["transcript"] == []


def test_a_password_that_is_not_utf8_is_invalid_input_for_import(cli, ring, tmp_path):
    code, out, _ = cli("import", write(tmp_path / "in.json", SETTINGS), "--password-stdin",
                       "--json", stdin=NOT_UTF8)
    assert code == 2 and "not UTF-8" in json.loads(out)["message"]
    assert not cli.config_dir.exists() or not (cli.config_dir / "settings.json").exists()
    assert ring.entries == {}


def test_a_password_that_is_not_utf8_is_invalid_input_for_import_default(cli, ring, tmp_path):
    code, _, err = cli("import-default", write(tmp_path / "d.json", DEFAULT_SERVICE),
                       "--password-stdin", stdin=NOT_UTF8)
    assert code == 2 and "not UTF-8" in err
    assert not (cli.config_dir / "default-service.json").exists()
    assert ring.entries == {}


# ---------------------------------------------------------------- a file of ours not written


@pytest.fixture
def disk_full(monkeypatch):
    """Every fsync fails as on a full disk (the real tmpfs case is in test_cli_full_disk.py)."""
    import errno
    import os

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def test_import_that_cannot_write_settings_exits_4_and_rolls_back_the_password(
        cli, ring, tmp_path, disk_full):
    code, out, _ = cli("import", write(tmp_path / "in.json", SETTINGS), "--password-stdin",
                       "--json", stdin="new-password\n")
    assert code == 4
    assert "(rolled back)" in json.loads(out)["message"]
    assert ring.entries == {}
    assert not (cli.config_dir / "settings.json").exists()


def test_import_default_that_cannot_write_its_file_exits_4_and_keeps_the_old_password(
        cli, ring, tmp_path, disk_full):
    ring.set_password("smtp-desktop", "default-service", "old-password")
    code, _, err = cli("import-default", write(tmp_path / "d.json", DEFAULT_SERVICE),
                       "--password-stdin", stdin="new-password\n")
    assert code == 4
    assert "No space left on device" in err and "previous password again" in err
    assert ring.entries == {("smtp-desktop", "default-service"): "old-password"}


def test_a_damaged_settings_file_is_reported_escaped(cli):
    cli.config_dir.mkdir(parents=True)
    damaged = {**SETTINGS, f"x\n{HOSTILE_TEXT}": 1}
    (cli.config_dir / "settings.json").write_text(json.dumps(damaged))
    code, out, err = cli("show")
    assert code == 2 and out == ""
    assert_escaped(err)
    assert "x\\x0aa" in err and len(err.splitlines()) == 2


def test_usage_errors_escape_the_arguments_they_quote(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--config-dir", str(tmp_path), "show", f"stray{HOSTILE_TEXT}"])
    assert caught.value.code == 2
    assert_escaped(capsys.readouterr().err)


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_a_password_that_is_not_utf8_is_refused_by_a_real_process_in_any_locale(tmp_path, locale):
    import os
    import subprocess

    source = write(tmp_path / "in.json", SETTINGS)
    env = {**os.environ, "LC_ALL": locale, "PYTHONIOENCODING": ""}
    result = subprocess.run(
        [sys.executable, "-m", "smtp_desktop", "--config-dir", str(tmp_path / "config"),
         "import", source, "--password-stdin", "--json"],
        input=NOT_UTF8, capture_output=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr
    assert "not UTF-8" in json.loads(result.stdout)["message"]
    assert b"Traceback" not in result.stderr
    assert not (tmp_path / "config" / "settings.json").exists()
