"""`outbox show` and `outbox wait`: the QA mailbox from the command line.

Mail is delivered by real clients (smtplib, swaks) to a real outbox server whose folder the
command reads. The waits run as `smtp-desktop` child processes; mail is delivered only once the
child says it is waiting (its watcher armed), so they prove the wait is woken by the arrival.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import smtplib
import subprocess
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from support.cli_harness import build_parser, outbox_cli
from support.entry import Child

from smtp_desktop.outbox import Outbox, OutboxServer
from smtp_desktop.outbox.mailbox import Mailbox
from smtp_desktop.outbox.reading import WaitCriteria

MAILS = Path(__file__).parent / "data" / "mails"
CORPUS = sorted(MAILS.glob("*.eml"))
WAITING = "Waiting up to"  # the child's stderr line once its watcher is armed
needs_swaks = pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")


cli = pytest.fixture(outbox_cli, name="cli")


@pytest.fixture
def server(paths):
    with OutboxServer(Outbox(paths.outbox_folder)) as running:
        yield running


def send(server: OutboxServer, raw: bytes, to: str = "qa@outbox.test",
         sender: str = "bounce@app.test") -> str:
    """Deliver with smtplib; returns the id of the message stored."""
    before = {m.id for m in server.outbox.list()}
    with smtplib.SMTP(server.host, server.port, timeout=30) as client:
        client.sendmail(sender, [to], raw)
    (new,) = [m.id for m in server.outbox.list() if m.id not in before]
    return new


def swaks(server: OutboxServer, eml: Path, to: str, sender: str = "hello@app.test") -> None:
    subprocess.run(["swaks", "--server", f"{server.host}:{server.port}", "--from", sender,
                    "--to", to, "--data", str(eml), "--silent", "2"], check=True, timeout=60)


def mail(subject: str, body: str, to: str = "qa@outbox.test") -> bytes:
    message = EmailMessage()
    message["From"] = "App <no-reply@app.test>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes()


def expected_of(eml: Path) -> dict:
    return json.loads(eml.with_suffix(".expected.json").read_text(encoding="utf-8"))


# ====================================================================== outbox show


@pytest.mark.parametrize("eml", CORPUS, ids=lambda p: p.stem)
def test_show_json_reads_every_corpus_mail_as_its_file_says(server, cli, eml):
    message_id = send(server, eml.read_bytes(), to="t-1@outbox.test", sender="bounce@acme.test")

    code, out, _ = cli("outbox", "show", message_id, "--json")

    assert code == 0
    shown = json.loads(out)
    expected = expected_of(eml)
    assert list(shown) == ["id", "received", "date", "from", "to", "envelope", "subject",
                           "headers", "text", "html", "attachments", "links", "codes"]
    assert shown["id"] == message_id
    assert shown["codes"] == expected["codes"]
    assert shown["links"] == expected["links"]
    assert shown["subject"] == expected["subject"]
    assert (shown["html"] is not None) == expected.get("html", False)
    for fragment in expected.get("text_contains", []):
        assert fragment in shown["text"]
    assert shown["envelope"]["from"] == "bounce@acme.test"
    assert shown["envelope"]["to"] == ["t-1@outbox.test"]
    assert shown["envelope"]["client"].startswith("127.0.0.1")
    assert shown["received"] == server.outbox.list()[0].received
    assert not any(name.lower().startswith("x-outbox") for name, _ in shown["headers"])


def test_show_for_people_escapes_what_the_sender_wrote(server, cli):
    raw = (b"From: Evil <evil@app.test>\nTo: qa@outbox.test\n"
           b"Subject: =?utf-8?q?Reset_=1B[2J_now_=E2=80=AE?=\n\nYour code is 482913.\x1b[31m red\n")
    message_id = send(server, raw)

    code, out, _ = cli("outbox", "show", message_id)

    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out
    assert "Subject:     Reset \\x1b[2J now \\u202e" in out
    assert "Codes:       482913" in out
    assert "Your code is 482913.\\x1b[31m red" in out


@pytest.mark.parametrize("as_json", [True, False])
def test_show_an_unknown_id_exits_2(server, cli, as_json):
    code, out, err = cli("outbox", "show", "1.M1P1Q1.nowhere", *(["--json"] if as_json else []))

    assert code == 2
    if as_json:
        document = json.loads(out)
        assert document["ok"] is False and document["exit_code"] == 2
        assert "1.M1P1Q1.nowhere" in document["message"]
    else:
        assert "No message '1.M1P1Q1.nowhere'" in err and out == ""


def test_show_code_pattern_replaces_the_rules_and_a_bad_one_exits_2(server, cli):
    message_id = send(server, mail("Your code", "Code: AB-12C9 (or 482913)"))

    code, out, _ = cli("outbox", "show", message_id, "--json", "--code-pattern", r"Code: (\S+)")
    assert code == 0 and json.loads(out)["codes"] == ["AB-12C9"]

    code, out, _ = cli("outbox", "show", message_id, "--json", "--code-pattern", "(")
    assert code == 2
    assert "--code-pattern '(' is not a valid regular expression" in json.loads(out)["message"]


# ====================================================================== outbox wait (in process)


def test_wait_timeout_0_looks_once_and_returns_the_oldest_match(server, cli):
    first = send(server, mail("Code 1", "Your code is 111111"))
    send(server, mail("Code 2", "Your code is 222222"))

    code, out, _ = cli("outbox", "wait", "--to", "QA@OUTBOX.TEST", "--timeout", "0", "--json")

    assert code == 0
    assert json.loads(out)["id"] == first


def test_wait_since_an_id_takes_only_later_messages(server, cli):
    first = send(server, mail("Code 1", "Your code is 111111"))
    second = send(server, mail("Code 2", "Your code is 222222"))

    code, out, _ = cli("outbox", "wait", "--since", first, "--timeout", "0", "--extract", "code")
    assert (code, out) == (0, "222222\n")

    code, out, _ = cli("outbox", "wait", "--since", second, "--timeout", "0", "--json")
    assert code == 1 and json.loads(out)["category"] == "timeout"


def test_wait_since_a_time_compares_the_arrival_not_the_date_header(server, cli):
    raw = mail("Old Date header", "Your code is 333333")
    raw = b"Date: Mon, 01 Jan 2001 00:00:00 +0000\n" + raw
    send(server, raw)

    code, out, _ = cli("outbox", "wait", "--since", "2020-01-01T00:00:00Z", "--timeout", "0",
                       "--extract", "code")
    assert (code, out) == (0, "333333\n")

    code, out, _ = cli("outbox", "wait", "--since", "2999-01-01T00:00:00+00:00", "--timeout", "0",
                       "--json")
    assert code == 1 and json.loads(out)["category"] == "timeout"


def test_every_criterion_must_hold(server, cli):
    send(server, mail("Welcome aboard", "Hello there, your code is 444444"), to="a@outbox.test")
    target = send(server, mail("Welcome aboard", "Hi, your code is 555555"), to="b@outbox.test")

    code, out, _ = cli("outbox", "wait", "--subject", "^Welcome", "--contains", "HI,",
                       "--from", "no-reply@app.test", "--timeout", "0", "--json")
    assert code == 0 and json.loads(out)["id"] == target

    code, out, _ = cli("outbox", "wait", "--to", "a@outbox.test", "--contains", "HI,",
                       "--timeout", "0", "--json")
    assert code == 1


def test_a_timeout_exits_1_with_one_json_value_naming_the_criteria(server, cli):
    code, out, _ = cli("outbox", "wait", "--to", "nobody@outbox.test", "--subject", "Reset",
                         "--timeout", "0", "--json")

    assert code == 1
    document = json.loads(out)
    assert document["ok"] is False and document["exit_code"] == 1
    assert document["category"] == "timeout"
    assert document["criteria"][:2] == ["to 'nobody@outbox.test'", "subject ~ 'Reset'"]


@pytest.mark.parametrize("what", ["code", "link"])
def test_a_match_without_the_code_or_link_asked_for_is_not_found(server, cli, what):
    message_id = send(server, mail("Nothing to extract", "Thanks for your order."))

    code, out, _ = cli("outbox", "wait", "--timeout", "0", "--extract", what, "--json")

    assert code == 1
    document = json.loads(out)
    assert document["category"] == "not-found"
    assert document["id"] == message_id and message_id in document["message"]
    assert document["subject"] == "Nothing to extract"


def test_extract_with_json_is_the_show_object_plus_extracted(server, cli):
    message_id = send(server, (MAILS / "signup-html.eml").read_bytes())

    code, out, _ = cli("outbox", "wait", "--timeout", "0", "--extract", "link", "--json")

    assert code == 0
    document = json.loads(out)
    assert document["id"] == message_id
    assert document["extracted"] == expected_of(MAILS / "signup-html.eml")["links"][0]


@pytest.mark.parametrize(("argv", "text"), [
    (["--subject", "("], "--subject '(' is not a valid regular expression"),
    (["--code-pattern", "["], "--code-pattern '[' is not a valid regular expression"),
    (["--since", "yesterday-ish"], "--since 'yesterday-ish' is neither"),
])
def test_bad_criteria_exit_2_with_one_json_value(server, cli, argv, text):
    code, out, _ = cli("outbox", "wait", "--timeout", "0", "--json", *argv)

    assert code == 2
    assert text in json.loads(out)["message"]


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf"])
def test_a_bad_timeout_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["outbox", "wait", "--timeout", value])
    assert exited.value.code == 2


# ====================================================================== woken by the arrival


def test_the_wait_is_woken_by_a_message_stored_after_its_first_look(server):
    """Delivery starts only after the first look found nothing: only the watcher can wake it."""
    mailbox = Mailbox(server.outbox)
    looked = threading.Event()
    looks = []
    first_match = mailbox._first_match

    def counting(*args, **kwargs):
        found = first_match(*args, **kwargs)
        looks.append(found)
        looked.set()
        return found

    mailbox._first_match = counting  # type: ignore[method-assign]

    def deliver() -> None:
        looked.wait(30)
        send(server, mail("Late", "Your code is 777777"), to="late@outbox.test")

    sender = threading.Thread(target=deliver)
    sender.start()
    try:
        found = mailbox.wait(WaitCriteria(to="late@outbox.test"), timeout=60)
    finally:
        sender.join(30)
    assert found is not None and found["codes"] == ["777777"]
    assert looks[0] is None


def test_without_arrivals_the_wait_never_looks_again(server):
    mailbox = Mailbox(server.outbox)
    looks = []
    first_match = mailbox._first_match
    mailbox._first_match = lambda *a, **k: looks.append(1) or first_match(*a, **k)  # type: ignore

    assert mailbox.wait(WaitCriteria(to="nobody@outbox.test"), timeout=0.5) is None
    assert len(looks) == 1


def test_watchdog_stopping_mid_read_is_not_reported_as_an_error(server, caplog):
    from smtp_desktop.outbox.mailbox import MailArrivals

    with MailArrivals(server.outbox):
        pass
    logging.getLogger("watchdog.observers.inotify").error(
        "InotifyEmitter.queue_events() called when the thread is inactive")
    assert caplog.records == []


# ====================================================================== outbox wait (processes)


def wait_child(tmp_path: Path, *argv: str) -> Child:
    return Child(["outbox", "wait", *argv], tmp_path)


@needs_swaks
def test_wait_extract_code_prints_the_code_of_a_mail_swaks_sends_later(server, tmp_path):
    child = wait_child(tmp_path, "--to", "T-3F9A@outbox.test", "--extract", "code",
                       "--timeout", "60")
    try:
        child.wait_for_line(WAITING)
        swaks(server, MAILS / "signup-text.eml", to="t-3f9a@outbox.test")
        assert child.wait() == 0
    finally:
        child.kill()
    assert child.text("stdout") == "482913\n"


def test_wait_extract_link_prints_the_link_of_a_mail_smtplib_sends_later(server, tmp_path):
    child = wait_child(tmp_path, "--subject", "(?i)reset", "--extract", "link", "--timeout", "60")
    try:
        child.wait_for_line(WAITING)
        send(server, (MAILS / "password-reset-text.eml").read_bytes())
        assert child.wait() == 0
    finally:
        child.kill()
    assert child.text("stdout") == expected_of(MAILS / "password-reset-text.eml")["links"][0] + "\n"


def test_a_mail_that_arrived_just_before_the_wait_counts(server, tmp_path):
    send(server, mail("Already here", "Your code is 246810"))

    child = wait_child(tmp_path, "--contains", "already here", "--extract", "code")
    assert child.wait() == 0
    assert child.text("stdout") == "246810\n"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_wait_prints_one_json_value_and_exits_130(tmp_path, signum):
    child = wait_child(tmp_path, "--to", "never@outbox.test", "--timeout", "600", "--json")
    try:
        child.wait_for_line(WAITING)
        child.process.send_signal(signum)
        assert child.wait() == 130
    finally:
        child.kill()
    document = json.loads(child.text("stdout"))
    assert document["ok"] is False and document["exit_code"] == 130
    assert document["category"] == "interrupted"


# ====================================================================== the store's side


def test_show_reads_a_file_dropped_in_by_hand_without_an_envelope(paths, cli):
    outbox = Outbox(paths.outbox_folder)
    outbox.ensure_folders()
    name = "1796000000.M000001P1Q1.elsewhere"
    (paths.outbox_folder / "new" / name).write_bytes(mail("By hand", "Code 135790"))

    code, out, _ = cli("outbox", "show", name, "--json")

    assert code == 0
    shown = json.loads(out)
    assert shown["received"] == "2026-11-30T00:53:20.000001+00:00"  # from its Maildir name
    assert shown["envelope"] == {"from": None, "to": [], "client": "", "user": None}
    assert shown["codes"] == ["135790"]


def test_a_locked_index_is_never_deleted_as_damaged(tmp_path, monkeypatch):
    """Another process holding the index (SQLITE_BUSY) is no damage: rebuilding it would delete
    the file under that process's feet."""
    import sqlite3

    from smtp_desktop.outbox.index import OutboxIndex

    index = OutboxIndex(tmp_path)
    index.sync()
    index.close()

    def locked(self):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(OutboxIndex, "_open", locked)
    with pytest.raises(sqlite3.OperationalError):
        OutboxIndex(tmp_path).sync()
    assert (tmp_path / ".index.sqlite3").exists()



def test_another_process_closing_the_index_leaves_our_connection_working(tmp_path):
    """Opening the index once opened and closed a descriptor of the file, which drops every POSIX
    lock the process holds on it. The server keeps a connection for its writes while its API
    opens others; another process (`outbox list`, `outbox clear`) closing its last connection
    then deleted the WAL and shared memory under the server: "disk I/O error" at its next look."""
    import subprocess
    import sys

    from smtp_desktop.outbox import Outbox
    from smtp_desktop.outbox.index import INDEX_FILE, OutboxIndex

    outbox = Outbox(tmp_path / "outbox")
    outbox.add(b"Subject: first\n\nbody\n", "a@example.test", ["b@example.test"])
    held = OutboxIndex(outbox.folder)  # the server's writer
    held.sync()
    listing = OutboxIndex(outbox.folder)  # the server's API, listing
    listing.sync()
    listing.close()
    subprocess.run([sys.executable, "-c", f"from smtp_desktop.outbox import Outbox; "
                    f"o = Outbox({str(outbox.folder)!r}); o.list(); o.clear()"],
                   check=True, timeout=60)

    assert (outbox.folder / f"{INDEX_FILE}-shm").exists()
    outbox.add(b"Subject: second\n\nbody\n", "a@example.test", ["b@example.test"])
    held.sync()
    assert [row.subject for row in held.page()] == ["second"]
    held.close()


def test_connections_making_a_new_index_at_once_all_find_its_tables(tmp_path):
    """The window's list and a check's outbox once made a new index together: one dropped the
    tables the other had just made, which then failed with "no such table: messages"."""
    import threading

    from smtp_desktop.outbox import Outbox
    from smtp_desktop.outbox.index import OutboxIndex

    failures: list[BaseException] = []

    def look(folder, barrier) -> None:
        barrier.wait()
        try:
            with OutboxIndex(folder) as index:
                index.sync()
                index.page()
        except BaseException as exc:
            failures.append(exc)

    for attempt in range(60):
        outbox = Outbox(tmp_path / f"outbox-{attempt}")
        outbox.ensure_folders()
        barrier = threading.Barrier(4)
        threads = [threading.Thread(target=look, args=(outbox.folder, barrier)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
