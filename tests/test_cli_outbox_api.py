"""`outbox serve --api-port` and `outbox fault list|set|clear` (through the running API)."""

from __future__ import annotations

import json
import os
import smtplib
import socket
import urllib.error
import urllib.request

import pytest
from support.cli_harness import outbox_cli, run_module

from smtp_desktop.outbox.api import API_ENV, TOKEN_ENV

WAIT = 30  # seconds, as in test_cli_outbox.py (which this file imported it from)

cli = pytest.fixture(outbox_cli, name="cli")


@pytest.fixture(autouse=True)
def no_api_env(monkeypatch):
    monkeypatch.delenv(API_ENV, raising=False)
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def info(url: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"{url}/info", headers=headers)
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        return json.load(response)


def test_serve_with_api_port_serves_the_api_on_loopback(serve, capsys):
    serving = serve("--api-port", "0", "--port", "0")
    kind, server = serving.start()
    assert kind == "ready"
    assert f"HTTP API on {server.api.url}" in capsys.readouterr().err
    assert server.api.url.startswith("http://127.0.0.1:")
    assert info(server.api.url)["smtp"]["port"] == server.port
    assert serving.stop() == 0


def test_serve_takes_the_api_token_from_a_file_never_argv(serve, tmp_path, capsys):
    token_file = tmp_path / "token"
    token_file.write_text("file-token-123\n")
    serving = serve("--api-port", "0", "--port", "0", "--api-token-file", str(token_file))
    _, server = serving.start()
    with pytest.raises(urllib.error.HTTPError) as refused:
        info(server.api.url)
    assert refused.value.code == 401
    assert info(server.api.url, "file-token-123")["smtp"]["port"] == server.port
    assert "file-token-123" not in capsys.readouterr().err
    serving.stop()


def test_serve_takes_the_api_token_from_the_environment(serve, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "env-token-456")
    serving = serve("--api-port", "0", "--port", "0")
    _, server = serving.start()
    with pytest.raises(urllib.error.HTTPError) as refused:
        info(server.api.url, "wrong")
    refused.value.close()
    assert refused.value.code == 401
    assert info(server.api.url, "env-token-456")
    serving.stop()


def test_an_empty_token_file_is_exit_2(serve, tmp_path, capsys):
    (tmp_path / "token").write_text("\n")
    kind, code = serve("--api-port", "0", "--port", "0",
                       "--api-token-file", str(tmp_path / "token")).start()
    assert (kind, code) == ("exited", 2)
    assert "empty" in capsys.readouterr().err


def test_fault_set_list_clear_change_the_running_server(serve, cli, capsys):
    serving = serve("--api-port", "0", "--port", "0")
    _, server = serving.start()
    capsys.readouterr()  # the serve lines
    url = server.api.url

    code, out, _ = cli("outbox", "fault", "set", "user-unknown:rcpt=^victim@", "--api", url,
                       "--json")
    assert code == 0
    assert json.loads(out)["rules"] == [{"profile": "user-unknown", "trigger": "rcpt=^victim@"}]
    with pytest.raises(smtplib.SMTPRecipientsRefused), \
            smtplib.SMTP("127.0.0.1", server.port, timeout=WAIT) as client:
        client.sendmail("a@example.test", ["victim@example.test"], "Subject: x\r\n\r\nx\r\n")

    code, out, _ = cli("outbox", "fault", "list", "--api", url)
    assert code == 0
    assert "user-unknown:rcpt=^victim@" in out and "gmail-bad-credentials" in out
    code, out, _ = cli("outbox", "fault", "list", "--api", url, "--json")
    document = json.loads(out)
    assert {p["id"] for p in document["profiles"]} >= {"greylisted", "hang-at-data"}

    code, out, _ = cli("outbox", "fault", "clear", "--api", url)
    assert code == 0 and "No fault rules" in out
    assert server.fault_rules == ()
    serving.stop()


def test_fault_commands_use_the_environment_and_the_token(serve, cli, capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "tok-789")
    serving = serve("--api-port", "0", "--port", "0")
    _, server = serving.start()
    capsys.readouterr()
    monkeypatch.setenv(API_ENV, server.api.url)
    code, out, _ = cli("outbox", "fault", "set", "greylisted", "--json")
    assert code == 0
    assert json.loads(out)["rules"] == [{"profile": "greylisted", "trigger": "always"}]
    monkeypatch.setenv(TOKEN_ENV, "wrong")
    code, out, _ = cli("outbox", "fault", "list", "--json")
    assert code == 4 and json.loads(out)["ok"] is False
    serving.stop()


@pytest.mark.parametrize("rule", ["no-such-profile", "service-unavailable:rcpt=x",
                                  "user-unknown:rcpt=" + "a" * 400, "greylisted:p=7"])
def test_a_bad_rule_is_exit_2_and_changes_nothing(serve, cli, capsys, rule):
    serving = serve("--api-port", "0", "--port", "0", "--fault", "greylisted")
    _, server = serving.start()
    capsys.readouterr()
    code, out, _ = cli("outbox", "fault", "set", rule, "--api", server.api.url, "--json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False and document["message"]
    assert [r.text for r in server.fault_rules] == ["greylisted:always"]
    serving.stop()


def test_no_api_reachable_is_exit_4_with_one_json_value(cli):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for action in (["list"], ["set", "greylisted"], ["clear"]):
        code, out, _ = cli("outbox", "fault", *action, "--api",
                             f"http://127.0.0.1:{port}/api/v1", "--json")
        assert code == 4
        document = json.loads(out)
        assert document["ok"] is False and document["category"] == "unreachable"
    code, out, _ = cli("outbox", "fault", "list", "--json")
    assert code == 4 and API_ENV in json.loads(out)["message"]


def test_fault_set_needs_a_rule_and_is_in_help():
    result = run_module("outbox", "fault", "--help", timeout=WAIT,
                        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0
    assert "list" in result.stdout and "set" in result.stdout and "clear" in result.stdout


def test_a_busy_api_port_is_exit_4(serve, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        kind, code = serve("--port", "0", "--api-port", str(taken.getsockname()[1])).start()
    assert (kind, code) == ("exited", 4)
    assert "HTTP API" in capsys.readouterr().err
