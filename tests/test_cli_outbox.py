"""`outbox serve|list|clear` and `history`: output, --json shapes and exit codes.

`outbox serve` runs for real: in a thread through `run()`, and as a separate process that is
stopped with SIGTERM and SIGINT.
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import signal
import smtplib
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from smtp_desktop.cli import outbox as cli_outbox
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.history import HistoryLog, HistoryRecord, history_file
from smtp_desktop.outbox import Outbox, OutboxServer, outbox_folder

LISTENING = re.compile(r"^Local outbox listening on 127\.0\.0\.1:(\d+), storing mail in (.+)$")
WAIT = 30  # seconds: generous deadlines for a busy CI machine; the happy path never waits long

# The subprocess tests start the real entry point.
ENTRY = ["-m", "smtp_desktop"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smtp-desktop")
    cli_outbox.add_subcommands(parser.add_subparsers(dest="command"))
    return parser


@pytest.fixture
def paths(tmp_path) -> AppPaths:
    return AppPaths(tmp_path / "config", tmp_path / "data")


@pytest.fixture
def cli(paths, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_outbox.run(build_parser().parse_args(argv), paths)
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def message(subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "sender@example.test"
    mail["To"] = "friend@example.test"
    mail["Subject"] = subject
    mail["Date"] = "Wed, 01 May 2024 10:00:00 +0000"
    mail.set_content("body\n")
    return mail


class ServeThread:
    """`outbox serve` through run() in a thread; `stop()` ends it the way a signal would."""

    def __init__(self, paths: AppPaths, *argv: str) -> None:
        self.args = build_parser().parse_args(["outbox", "serve", *argv])
        self.paths = paths
        self.stopping = threading.Event()
        self.events: queue.Queue[tuple[str, object]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="outbox-serve")

    def _run(self) -> None:
        code = cli_outbox.run(self.args, self.paths, stop=self.stopping,
                              on_ready=lambda server: self.events.put(("ready", server)))
        self.events.put(("exited", code))

    def start(self) -> tuple[str, object]:
        """The first event: ("ready", server) or ("exited", exit code)."""
        self.thread.start()
        event = self.events.get(timeout=WAIT)
        if event[0] == "exited":  # the thread has only to end now: wait, so stop() is not needed
            self.thread.join(timeout=WAIT)
        return event

    def stop(self) -> int:
        self.stopping.set()
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive()
        kind, code = self.events.get(timeout=WAIT)
        assert kind == "exited"
        return code


@pytest.fixture
def serve(paths):
    started: list[ServeThread] = []

    def start(*argv: str) -> ServeThread:
        serving = ServeThread(paths, *argv)
        started.append(serving)
        return serving

    yield start
    for serving in started:
        if serving.thread.is_alive():
            serving.stop()


# ---------------------------------------------------------------- serve in a thread


def test_serve_prints_where_it_listens_and_stores_what_it_gets(serve, paths, cli, capsys):
    serving = serve("--port", "0")
    kind, server = serving.start()
    assert kind == "ready"
    assert isinstance(server, OutboxServer) and server.port != 0
    # The line is printed before the server is handed to on_ready.
    assert capsys.readouterr().out.splitlines() == [
        f"Local outbox listening on 127.0.0.1:{server.port}, storing mail in "
        f"{outbox_folder(paths.data_dir)}"]
    with smtplib.SMTP("127.0.0.1", server.port, timeout=WAIT) as client:
        client.send_message(message("Via serve"))

    code, out, _ = cli("outbox", "list", "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert listed["subject"] == "Via serve"
    assert listed["to"] == ["friend@example.test"]

    assert serving.stop() == 0
    assert not server.running
    assert "Local outbox stopped." in capsys.readouterr().err


def test_serve_with_auth_requires_that_login(serve, paths, capsys):
    serving = serve("--port", "0", "--auth", "demo:pa:ss word")
    kind, server = serving.start()
    assert kind == "ready"
    with smtplib.SMTP("127.0.0.1", server.port, timeout=WAIT) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login("demo", "pa")
        assert refused.value.smtp_code == 535
        client.login("demo", "pa:ss word")  # the password is everything after the first colon
        client.send_message(message("Logged in"))
    assert serving.stop() == 0
    assert [m.subject for m in Outbox(outbox_folder(paths.data_dir)).list()] == ["Logged in"]
    captured = capsys.readouterr()
    assert "pa:ss word" not in captured.out + captured.err
    assert "Login required: user 'demo'" in captured.err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_serve_refuses_a_reachable_host_without_allow_remote(serve, capsys, host):
    # In a thread with a stop event, so a regression fails instead of serving forever.
    assert serve("--host", host, "--port", "0").start() == ("exited", 2)
    out, err = capsys.readouterr()
    assert out == ""
    assert f"Refusing to listen on {host!r}" in err
    assert "--allow-remote" in err


def test_serve_on_a_port_in_use_exits_4(cli, tmp_path):
    with OutboxServer(Outbox(tmp_path / "other")) as busy:
        code, out, err = cli("outbox", "serve", "--port", str(busy.port))
    assert code == 4
    assert out == ""
    assert f"Port {busy.port} on 127.0.0.1 is already in use" in err


@pytest.mark.parametrize("argv", [
    ["outbox"],
    ["outbox", "serve", "--port", "70000"],
    ["outbox", "serve", "--port", "smtp"],
    ["outbox", "serve", "--auth", "no-colon-secret"],
    ["outbox", "serve", "--auth", ":only-a-secret"],
    ["outbox", "serve", "--auth", "user:"],
])
def test_usage_errors_exit_2_without_echoing_a_password(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "secret" not in err
    if "--auth" in argv:
        assert "expected USER:PASSWORD" in err


def test_serve_defaults_to_loopback_and_port_2525():
    args = build_parser().parse_args(["outbox", "serve"])
    assert (args.command, args.outbox_command) == ("outbox", "serve")
    assert (args.host, args.port, args.auth, args.allow_remote) == ("127.0.0.1", 2525, None, False)


# ---------------------------------------------------------------- list and clear


def test_list_and_clear(cli, paths):
    outbox = Outbox(outbox_folder(paths.data_dir))
    first = outbox.add(message("First").as_bytes(), "sender@example.test", ["a@example.test"])
    second = outbox.add(message("Second").as_bytes(), "sender@example.test",
                        ["a@example.test", "b@example.test"])

    code, out, err = cli("outbox", "list", "--json")
    assert (code, err) == (0, "")
    listed = json.loads(out)
    for item in listed:  # the items gained size, received and envelope_from
        assert item.pop("envelope_from") == "sender@example.test"
        assert item.pop("size") == len(outbox.raw(item["id"]))
        assert item.pop("received").endswith("+00:00")
    assert listed == [
        {"id": second, "date": "2024-05-01T10:00:00+00:00", "from": "sender@example.test",
         "to": ["a@example.test", "b@example.test"], "subject": "Second"},
        {"id": first, "date": "2024-05-01T10:00:00+00:00", "from": "sender@example.test",
         "to": ["a@example.test"], "subject": "First"},
    ]

    code, out, _ = cli("outbox", "list")
    assert code == 0
    assert out.splitlines()[0] == f"2 messages in {outbox.folder}, newest first:"
    assert out.index("Second") < out.index("First")
    assert f"id {first}" in out and "to a@example.test, b@example.test" in out

    code, out, _ = cli("outbox", "clear", "--json")
    assert code == 0
    document = json.loads(out)
    assert (document["ok"], document["exit_code"], document["removed"]) == (True, 0, 2)

    code, out, _ = cli("outbox", "list", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = cli("outbox", "list")
    assert out.strip() == f"The local outbox is empty ({outbox.folder})."
    code, out, _ = cli("outbox", "clear")
    assert (code, out.strip()) == (0, f"Deleted 0 messages from the local outbox ({outbox.folder}).")


def test_an_unusable_data_folder_exits_4_with_one_json_value(cli, paths):
    paths.data_dir.parent.mkdir(parents=True, exist_ok=True)
    paths.data_dir.write_text("a file where the data folder should be")
    history_code, out, _ = cli("history", "--json")
    assert history_code == 4
    document = json.loads(out)
    assert (document["ok"], document["exit_code"]) == (False, 4)
    assert document["message"].startswith("Cannot use the data folder")


# ---------------------------------------------------------------- history


def test_history_lists_the_records_oldest_first(cli, paths):
    log = HistoryLog(history_file(paths.data_dir))
    code, out, _ = cli("history", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = cli("history")
    assert out.strip() == f"No tests yet ({log.path})."

    old = HistoryRecord("2024-05-01T10:00:00.000+00:00", "send-test", "local-outbox",
                        "127.0.0.1:2525", "friend@example.test", True, None, 41.6)
    new = HistoryRecord("2024-05-02T10:00:00.000+00:00", "probe", "own", "smtp.example.test:587",
                        None, False, "auth", 812.0)
    log.append(old)
    log.append(new)

    code, out, _ = cli("history", "--json")
    assert code == 0
    assert json.loads(out) == [old.to_json(), new.to_json()]
    code, out, _ = cli("history")
    assert out.splitlines() == [
        "2024-05-01T10:00:00.000+00:00  send-test  local-outbox  127.0.0.1:2525 to "
        "friend@example.test  OK  42 ms",
        "2024-05-02T10:00:00.000+00:00  probe      own  smtp.example.test:587  FAILED [auth]  812 ms",
    ]


# ---------------------------------------------------------------- serve as its own process


class ServeProcess:
    def __init__(self, data_dir: Path, *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *ENTRY, "--data-dir", str(data_dir), "outbox", "serve", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def first_line(self) -> str:
        line = self.lines.get(timeout=WAIT)
        assert line is not None, self.process.stderr.read()
        return line

    def finish(self, signum: int) -> tuple[int, str]:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)
        return code, self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def serve_process():
    started: list[ServeProcess] = []

    def start(data_dir: Path, *argv: str) -> ServeProcess:
        serving = ServeProcess(data_dir, *argv)
        started.append(serving)
        return serving

    yield start
    for serving in started:
        serving.kill()


@pytest.mark.parametrize(("signum", "expected"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_serve_process_receives_mail_and_stops_on_a_signal(serve_process, tmp_path, signum, expected):
    data_dir = tmp_path / "data"
    serving = serve_process(data_dir, "--port", "0", "--auth", "demo:process-secret")
    match = LISTENING.match(serving.first_line())
    assert match, "unexpected first line"
    port = int(match.group(1))
    assert Path(match.group(2)) == outbox_folder(data_dir)

    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as client:
        client.login("demo", "process-secret")
        client.send_message(message("From another process"))

    code, err = serving.finish(signum)
    assert code == expected
    assert "process-secret" not in err
    assert ("(interrupted)" in err) is (expected == 130)
    assert [m.subject for m in Outbox(outbox_folder(data_dir)).list()] == ["From another process"]


def test_the_apps_own_send_test_delivers_to_outbox_serve_with_a_login(serve, paths, tmp_path,
                                                                      capsys, monkeypatch):
    """`outbox serve --auth` as the @own server of `smtp-desktop send-test --password-stdin`."""
    import io

    from smtp_desktop.app import main

    serving = serve("--port", "0", "--auth", "qa@example.test:outbox-pass")
    kind, server = serving.start()
    assert kind == "ready"
    settings = {"version": 1, "enabled": True, "service": "own",
                "own": {"host": "127.0.0.1", "port": server.port, "username": "qa@example.test",
                        "keys": {"mail.smtp.auth": "true",
                                 "mail.smtp.starttls.enable": "false"}}}
    source = tmp_path / "own.json"
    source.write_text(json.dumps(settings))
    dirs = ["--config-dir", str(paths.config_dir), "--data-dir", str(paths.data_dir)]
    assert main([*dirs, "import", str(source)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO("outbox-pass\n"))
    code = main([*dirs, "send-test", "--to", "friend@example.test", "--password-stdin",
                 "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["ok"] and "delivered_to" not in result  # an @own server, not the embedded one
    listed = Outbox(outbox_folder(paths.data_dir)).list()
    assert [(m.subject, m.recipients) for m in listed] == [
        ("smtp-desktop test email", ("friend@example.test",))]
    assert serving.stop() == 0
