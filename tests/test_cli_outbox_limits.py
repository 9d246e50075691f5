"""`outbox serve` limits (flags over outbox.json), logins kept off argv, `outbox list` paging,
and the server as its own process: bounded memory, and a kill -9 mid-DATA that loses nothing."""

from __future__ import annotations

import json
import os
import smtplib
import socket
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from support.cli_harness import WAIT, Serving, build_parser, outbox_cli

from smtp_desktop.outbox import Outbox, OutboxLimits, load_limits, outbox_folder, save_limits
from smtp_desktop.outbox.index import INDEX_FILE

cli = pytest.fixture(outbox_cli, name="cli")


def mail(subject: str, sender: str = "sender@example.test", to: str = "friend@example.test") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content("body\n")
    return message.as_bytes()


# ---------------------------------------------------------------- outbox.json and flags


def test_outbox_json_is_read_flags_win_and_the_limits_are_printed(paths, capsys):
    save_limits(paths.config_dir, OutboxLimits(max_recipients=7, max_message_size=4096))
    document = json.loads((paths.config_dir / "outbox.json").read_text())
    assert document["version"] == 1 and document["max_recipients"] == 7
    serving = Serving(paths, capsys, "--max-message-size", "8K")
    try:
        limits = serving.server.limits
        assert (limits.max_recipients, limits.max_message_size) == (7, 8192)  # the flag wins
        assert limits.max_messages == OutboxLimits().max_messages
        assert "--max-recipients 7" in serving.err and "--max-message-size 8 KiB" in serving.err
        assert "--idle-timeout 300 s" in serving.err
        with smtplib.SMTP("127.0.0.1", serving.server.port, timeout=WAIT) as smtp:
            smtp.ehlo()
            assert smtp.esmtp_features["size"] == "8192"
    finally:
        serving.stop()


@pytest.mark.parametrize(("document", "expected"), [
    ({"version": 1, "max_recipients": 0}, "max_recipients must be between 1 and"),
    ({"version": 1, "max_recipients": "ten"}, "max_recipients must be a whole number"),
    ({"version": 1, "idle_timeout": True}, "idle_timeout must be a number"),
    ({"version": 1, "max_conections": 5}, "unknown field 'max_conections'"),
    ({"max_recipients": 5}, "version must be the number 1"),
    ({"version": 2}, "written by a newer smtp-desktop"),
    ({"version": 1, "max_bytes": 1048576}, "must not exceed max_bytes"),
    ([], "must hold a JSON object"),
])
def test_an_invalid_outbox_json_exits_2_with_a_clear_message(cli, paths, document, expected):
    paths.config_dir.mkdir(parents=True)
    (paths.config_dir / "outbox.json").write_text(json.dumps(document))
    code, _, err = cli("outbox", "serve", "--port", "0")
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not outbox_folder(paths.data_dir).exists()


def test_outbox_json_that_does_not_parse_exits_2(cli, paths):
    paths.config_dir.mkdir(parents=True)
    (paths.config_dir / "outbox.json").write_text("{not json")
    code, _, err = cli("outbox", "serve", "--port", "0")
    assert code == 2 and "is not valid JSON" in err


def test_save_limits_writes_atomically_and_reads_back(tmp_path):
    limits = OutboxLimits(max_messages=10, idle_timeout=2.5)
    path = save_limits(tmp_path, limits)
    assert load_limits(tmp_path) == limits
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left
    assert load_limits(tmp_path / "none") == OutboxLimits()


@pytest.mark.parametrize("argv", [["--max-message-size", "lots"], ["--max-recipients", "0"],
                                  ["--idle-timeout", "-1"], ["--max-bytes", "1K"]])
def test_bad_limit_flags_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["outbox", "serve", *argv])
    assert exit_.value.code == 2
    assert argv[0] in capsys.readouterr().err


# ---------------------------------------------------------------- the login without argv


def test_auth_file_private_to_the_user_is_used(paths, capsys, tmp_path):
    login = tmp_path / "login"
    login.write_text("qa@example.test:file-secret\n")
    login.chmod(0o600)
    serving = Serving(paths, capsys, "--auth-file", str(login))
    try:
        assert "file-secret" not in serving.err and "Warning" not in serving.err
        with smtplib.SMTP("127.0.0.1", serving.server.port, timeout=WAIT) as smtp:
            smtp.login("qa@example.test", "file-secret")
    finally:
        serving.stop()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_auth_file_readable_by_others_exits_2(cli, tmp_path, mode):
    login = tmp_path / "login"
    login.write_text("qa:file-secret\n")
    login.chmod(mode)
    code, out, err = cli("outbox", "serve", "--port", "0", "--auth-file", str(login))
    assert code == 2
    assert "mode 0600 or 0400" in err and "file-secret" not in out + err


@pytest.mark.parametrize("content", ["no-colon\n", ":nouser\n", "a:b\nc:d\n", ""])
def test_auth_file_malformed_exits_2_without_echoing_it(cli, tmp_path, content):
    login = tmp_path / "login"
    login.write_text(content)
    login.chmod(0o400)
    code, _, err = cli("outbox", "serve", "--port", "0", "--auth-file", str(login))
    assert code == 2 and "USER:PASSWORD" in err
    for part in ("nouser", "no-colon"):
        assert part not in err


def test_auth_and_auth_file_are_mutually_exclusive(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["outbox", "serve", "--auth", "a:b", "--auth-file", "x"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_environment_variable_gives_the_login(paths, capsys, monkeypatch):
    monkeypatch.setenv("SMTP_DESKTOP_OUTBOX_AUTH", "env-user:env-secret")
    serving = Serving(paths, capsys)
    try:
        with smtplib.SMTP("127.0.0.1", serving.server.port, timeout=WAIT) as smtp:
            smtp.login("env-user", "env-secret")
        assert "env-secret" not in serving.err
    finally:
        serving.stop()


def test_auth_on_the_command_line_still_works_and_warns(paths, capsys, monkeypatch):
    monkeypatch.setenv("SMTP_DESKTOP_OUTBOX_AUTH", "env-user:env-secret")  # the flag wins
    serving = Serving(paths, capsys, "--auth", "argv-user:argv-secret")
    try:
        assert "other local users" in serving.err and "argv-secret" not in serving.err
        with smtplib.SMTP("127.0.0.1", serving.server.port, timeout=WAIT) as smtp:
            smtp.login("argv-user", "argv-secret")
    finally:
        serving.stop()


# ---------------------------------------------------------------- outbox list


def test_list_pages_with_a_cursor_that_does_not_shift_as_mail_arrives(cli, paths):
    outbox = Outbox(outbox_folder(paths.data_dir))
    ids = [outbox.add(mail(f"m{n}"), "s@example.test", [f"r{n}@example.test"]) for n in range(5)]
    code, out, _ = cli("outbox", "list", "--json", "--limit", "2")
    first = json.loads(out)
    assert code == 0 and [m["id"] for m in first] == [ids[4], ids[3]]
    outbox.add(mail("newer"), "s@example.test", ["x@example.test"])  # arrives meanwhile
    code, out, _ = cli("outbox", "list", "--json", "--limit", "2", "--before", first[-1]["id"])
    assert [m["subject"] for m in json.loads(out)] == ["m2", "m1"]
    code, out, _ = cli("outbox", "list", "--json", "--offset", "4")
    assert [m["subject"] for m in json.loads(out)] == ["m1", "m0"]
    # The cursor still works when its message has been deleted meanwhile.
    outbox.delete(ids[2])
    code, out, _ = cli("outbox", "list", "--json", "--before", ids[2])
    assert [m["subject"] for m in json.loads(out)] == ["m1", "m0"]
    code, out, _ = cli("outbox", "list", "--json")  # without options: everything
    assert len(json.loads(out)) == 5


def test_search_ignores_case_over_from_to_envelope_and_subject(cli, paths):
    outbox = Outbox(outbox_folder(paths.data_dir))
    outbox.add(mail("Quarterly REPORT"), "a@example.test", ["b@example.test"])
    outbox.add(mail("other", sender="Ünïcode Sender <u@example.test>"), "c@example.test",
               ["d@example.test"])
    outbox.add(mail("third", to="Carol <carol@EXAMPLE.test>"), "e@example.test", ["hidden@bcc.test"])
    for text, expected in [("report", ["Quarterly REPORT"]), ("ÜNÏCODE", ["other"]),
                           ("carol@example", ["third"]), ("HIDDEN@bcc", ["third"]),
                           ("E@EXAMPLE.TEST", ["third"]), ("nothing", [])]:
        code, out, _ = cli("outbox", "list", "--json", "--search", text)
        assert (code, [m["subject"] for m in json.loads(out)]) == (0, expected), text
    code, out, _ = cli("outbox", "list", "--search", "nothing")
    assert (code, out.strip()) == (0, f"No messages match ({outbox.folder}).")
    code, out, _ = cli("outbox", "list", "--search", "REPORT")
    assert out.splitlines()[0] == f"1 message in {outbox.folder}, newest first:"


def test_an_unknown_cursor_exits_2_with_one_json_value(cli, paths):
    Outbox(outbox_folder(paths.data_dir)).add(mail("m"), "s@example.test", ["r@example.test"])
    code, out, _ = cli("outbox", "list", "--json", "--before", "hand-made-id")
    document = json.loads(out)
    assert (code, document["exit_code"]) == (2, 2)
    assert "hand-made-id" in document["message"]


def test_the_index_is_rebuilt_when_missing_and_catches_up_with_files_it_missed(paths):
    outbox = Outbox(outbox_folder(paths.data_dir))
    kept = outbox.add(mail("kept"), "s@example.test", ["r@example.test"])
    assert [m.id for m in outbox.list()] == [kept]
    # A crash between the message file and the index: a file the index never heard of.
    other = Outbox(outbox.folder)
    from smtp_desktop.outbox.store import MessageWriter

    writer = MessageWriter.start(other, {"mail_from": "late@example.test",
                                         "rcpt_tos": ("z@example.test",)})
    writer.write(mail("unindexed").replace(b"\r\n", b"\n"))
    writer.commit()  # renamed into new/, never indexed
    assert [m.subject for m in outbox.list()] == ["unindexed", "kept"]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{outbox.folder / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    listed = outbox.list()
    assert [(m.subject, m.envelope_from) for m in listed] == [
        ("unindexed", "late@example.test"), ("kept", "s@example.test")]
    (outbox.folder / INDEX_FILE).write_bytes(b"not a database at all")
    assert [m.subject for m in outbox.list()] == ["unindexed", "kept"]


def test_listing_never_reads_message_bodies(paths, monkeypatch):
    outbox = Outbox(outbox_folder(paths.data_dir))
    big = mail("big").replace(b"body\n", b"body\n" + b"B" * 2_000_000)
    outbox.add(big, "s@example.test", ["r@example.test"])
    for suffix in ("", "-wal", "-shm"):  # force the index to read the file again
        Path(f"{outbox.folder / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    read: list[int] = []
    real_open = open

    def counting_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "new" in str(path) and "b" in mode:
            real_read = handle.read

            class Counting:
                def __getattr__(self, name):
                    return getattr(handle, name)

                def read(self, n=-1):
                    data = real_read(n)
                    read.append(len(data))
                    return data

                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    handle.close()

            return Counting()
        return handle

    import smtp_desktop.outbox.store as store

    monkeypatch.setattr(store, "open", counting_open, raising=False)
    [listed] = outbox.list()
    assert listed.size == len(big.replace(b"\r\n", b"\n"))
    assert 0 < sum(read) <= 64 * 1024  # the envelope line and headers only


# ---------------------------------------------------------------- serve as its own process


def begin_data(port: int) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=WAIT)
    smtp.ehlo()
    smtp.mail("sender@example.test")
    smtp.rcpt("friend@example.test")
    assert smtp.docmd("DATA")[0] == 354
    return smtp


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize(("chunk", "repeat", "reply"), [
    (b"\r\n" * (512 * 1024), 31, 250),  # 31 MiB of empty lines: stored
    (b"x" * (1024 * 1024), 64, 500),  # one 64 MiB line without CRLF: refused, 500 5.5.2
])
def test_memory_stays_bounded_whatever_the_lines_look_like(serve_process, tmp_path, chunk, repeat,
                                                           reply):
    serving = serve_process(tmp_path / "data")
    before = serving.peak_rss_kib()
    smtp = begin_data(serving.port)
    for _ in range(repeat):
        smtp.sock.sendall(chunk)
    smtp.sock.sendall(b"\r\n.\r\n")
    code, _ = smtp.getreply()
    smtp.quit()
    assert code == reply
    grown_mib = (serving.peak_rss_kib() - before) / 1024
    assert grown_mib < 64, f"the server's peak RSS grew by {grown_mib:.0f} MiB"
    messages = Outbox(outbox_folder(tmp_path / "data")).list()
    assert len(messages) == (1 if reply == 250 else 0)


def test_kill_9_mid_data_then_restart_loses_no_accepted_message(serve_process, tmp_path):
    data_dir = tmp_path / "data"
    folder = outbox_folder(data_dir)
    serving = serve_process(data_dir)
    with smtplib.SMTP("127.0.0.1", serving.port, timeout=WAIT) as smtp:
        smtp.sendmail("sender@example.test", ["friend@example.test"], mail("accepted"))
    half = begin_data(serving.port)
    half.sock.sendall(mail("half") + b"more of the body\r\n" * 20_000)
    # The half message is on its way to tmp/: wait until the server has written some of it.
    deadline = threading.Event()
    for _ in range(WAIT * 100):
        if any(p.stat().st_size > 1000 for p in (folder / "tmp").iterdir()):
            break
        deadline.wait(0.01)
    serving.process.kill()  # SIGKILL: no clean-up of any kind
    serving.process.wait(WAIT)
    half.close()
    assert any((folder / "tmp").iterdir())  # what the dead process left behind
    assert [m.subject for m in Outbox(folder).list()] == ["accepted"]

    restarted = serve_process(data_dir)
    assert all(p.stat().st_size == 0 for p in (folder / "tmp").iterdir())  # only fresh blanks
    with smtplib.SMTP("127.0.0.1", restarted.port, timeout=WAIT) as smtp:
        smtp.sendmail("sender@example.test", ["friend@example.test"], mail("after restart"))
    assert [m.subject for m in Outbox(folder).list()] == ["after restart", "accepted"]


def test_a_client_that_disappears_mid_data_leaves_nothing(serve_process, tmp_path):
    data_dir = tmp_path / "data"
    serving = serve_process(data_dir)
    smtp = begin_data(serving.port)
    smtp.sock.sendall(mail("cut off") + b"line\r\n" * 1000)
    smtp.sock.shutdown(socket.SHUT_RDWR)
    smtp.close()
    with smtplib.SMTP("127.0.0.1", serving.port, timeout=WAIT) as other:
        other.sendmail("sender@example.test", ["friend@example.test"], mail("next"))
    folder = outbox_folder(data_dir)
    assert [m.subject for m in Outbox(folder).list()] == ["next"]


def test_a_late_index_row_of_a_deleted_message_does_not_bring_it_back(paths):
    """The server indexes in batches: its row may arrive after the window deleted the file."""
    from smtp_desktop.outbox.index import OutboxIndex
    from smtp_desktop.outbox.store import MessageWriter

    outbox = Outbox(outbox_folder(paths.data_dir))
    kept = outbox.add(mail("kept"), "s@example.test", ["r@example.test"])
    writer = MessageWriter.start(outbox, {"mail_from": "s@example.test", "rcpt_tos": ("r@x.test",)})
    writer.write(mail("deleted").replace(b"\r\n", b"\n"))
    stored = writer.commit()
    assert len(outbox.list()) == 2
    outbox.delete(stored.id)
    assert [m.id for m in outbox.list()] == [kept]
    with OutboxIndex(outbox.folder) as index:
        index.put([stored.row()])  # the late batch
    assert [m.id for m in outbox.list()] == [kept]


def test_the_embedded_outbox_of_a_test_send_follows_outbox_json(paths, tmp_path, capsys):
    """Testsigma mode with nothing provisioned: each send runs the embedded outbox, which reads
    outbox.json like `outbox serve` does (here: keep one message)."""
    from smtp_desktop.app import main

    save_limits(paths.config_dir, OutboxLimits(max_messages=1))
    settings = tmp_path / "in.json"
    settings.write_text(json.dumps({"version": 1, "enabled": True, "service": "testsigma",
                                    "own": {"host": "", "port": 587, "username": "", "keys": {}}}))
    dirs = ["--config-dir", str(paths.config_dir), "--data-dir", str(paths.data_dir)]
    assert main([*dirs, "import", str(settings)]) == 0
    for recipient in ("first@example.test", "second@example.test"):
        assert main([*dirs, "send-test", "--to", recipient, "--json"]) == 0
    capsys.readouterr()
    listed = Outbox(outbox_folder(paths.data_dir)).list()
    assert [m.recipients for m in listed] == [("second@example.test",)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_outbox_is_still_listed(cli, paths):
    outbox = Outbox(outbox_folder(paths.data_dir))
    outbox.add(mail("kept"), "s@example.test", ["r@example.test"])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{outbox.folder / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    outbox.folder.chmod(0o500)
    try:
        code, out, _ = cli("outbox", "list", "--json")
    finally:
        outbox.folder.chmod(0o700)
    assert (code, [m["subject"] for m in json.loads(out)]) == (0, ["kept"])


def test_an_index_that_cannot_be_opened_is_replaced_by_one_in_memory(paths, monkeypatch):
    import sqlite3

    outbox = Outbox(outbox_folder(paths.data_dir))
    outbox.add(mail("kept"), "s@example.test", ["r@example.test"])
    real_connect = sqlite3.connect

    def no_file(path, *args, **kwargs):
        if path != ":memory:":
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(path, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", no_file)
    assert [m.subject for m in outbox.list()] == ["kept"]


def test_serve_help_lists_every_limits_bounds_and_default_as_people_read_them(capsys):
    from smtp_desktop.outbox.limits import LIMITS

    with pytest.raises(SystemExit):
        build_parser().parse_args(["outbox", "serve", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "1 KiB to 4 GiB" in shown and "default 32 MiB" in shown
    assert "1 s to 86400 s" in shown and "default 300 s" in shown
    assert "e+0" not in shown  # no float notation (it printed 3.35544e+07)
    for limit in LIMITS:
        assert f"{limit.flag} N {limit.bounds}" in shown
