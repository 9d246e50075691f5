"""The outbox's HTTP API (`outbox serve --api-port`): real HTTP requests to 127.0.0.1, a real
outbox server, real SMTP clients; `outbox fault list|set|clear` through the API."""

from __future__ import annotations

import http.client
import json
import smtplib
import socket
import threading
from email.message import EmailMessage
from typing import Any

import pytest

from smtp_desktop.outbox import Outbox, OutboxServer
from smtp_desktop.outbox.api import MAX_RULE_TEXT, is_loopback_host

WAIT = 30  # seconds: a generous deadline for a busy machine; the happy path never waits long


@pytest.fixture
def server(tmp_path):
    with OutboxServer(Outbox(tmp_path / "outbox"), api_port=0) as running:
        yield running


def call(api_port: int, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None, host: str = "127.0.0.1"
         ) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(host, api_port, timeout=WAIT + 10)
    try:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        connection.request(method, f"/api/v1{path}", body=data, headers=all_headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def get_json(api_port: int, path: str, **kwargs: Any) -> tuple[int, Any]:
    status, _, body = call(api_port, "GET", path, **kwargs)
    return status, json.loads(body) if body else None


def send(server: OutboxServer, subject: str, to: str = "friend@example.test",
         text: str = "Hello") -> None:
    mail = EmailMessage()
    mail["From"] = "sender@example.test"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(text)
    with smtplib.SMTP(server.host, server.port, timeout=WAIT) as client:
        client.send_message(mail)


def assert_error(status: int, document: Any, expected: int, category: str) -> None:
    assert status == expected
    assert document["ok"] is False
    assert document["status"] == expected
    assert document["category"] == category
    assert isinstance(document["message"], str) and document["message"]


def test_info_names_the_smtp_address_version_and_limits(server):
    status, info = get_json(server.api.port, "/info")
    assert status == 200
    assert info["smtp"] == {"host": "127.0.0.1", "port": server.port}
    assert info["version"]
    assert info["limits"]["max_recipients"] == server.limits.max_recipients


def test_the_api_listens_on_127_0_0_1_whatever_the_smtp_host(tmp_path):
    with OutboxServer(Outbox(tmp_path / "outbox"), host="127.0.0.2", api_port=0) as server:
        assert server.api.url.startswith("http://127.0.0.1:")
        assert get_json(server.api.port, "/info")[1]["smtp"]["host"] == "127.0.0.2"
        with pytest.raises(OSError), socket.create_connection(("127.0.0.2", server.api.port), 5):
            pass


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8025", "192.168.1.5",
                                  "localhost.evil.example", ""])
def test_a_host_header_that_is_not_loopback_is_refused(server, host):
    status, document = get_json(server.api.port, "/info", headers={"Host": host})
    assert_error(status, document, 403, "forbidden")


@pytest.mark.parametrize("host", ["localhost", "localhost:8025", "127.0.0.1:1", "[::1]:8025",
                                  "LOCALHOST"])
def test_loopback_host_headers_are_served(server, host):
    assert get_json(server.api.port, "/info", headers={"Host": host})[0] == 200


def test_host_names_are_never_resolved():
    assert not is_loopback_host("localtest.me")  # resolves to 127.0.0.1, but is a name
    assert is_loopback_host("127.8.9.10:80")


def test_a_token_is_required_when_set(tmp_path):
    with OutboxServer(Outbox(tmp_path / "outbox"), api_port=0, api_token="s3cret-token") as server:
        port = server.api.port
        assert_error(*get_json(port, "/info"), 401, "unauthorized")
        assert_error(*get_json(port, "/info", headers={"Authorization": "Bearer wrong"}),
                     401, "unauthorized")
        status, document = get_json(port, "/info",
                                    headers={"Authorization": "Bearer s3cret-token"})
        assert status == 200
        assert "s3cret-token" not in json.dumps(document)


def test_messages_are_listed_shown_raw_and_deleted(server):
    port = server.api.port
    send(server, "First")
    send(server, "Second, code 482913", text="Your code is 482913.")
    status, page = get_json(port, "/messages")
    assert status == 200
    assert page["total"] == 2
    assert [m["subject"] for m in page["messages"]] == ["Second, code 482913", "First"]
    newest, oldest = (m["id"] for m in page["messages"])

    assert get_json(port, "/messages?limit=1")[1]["messages"][0]["id"] == newest
    assert [m["id"] for m in get_json(port, f"/messages?before={newest}")[1]["messages"]] == [oldest]
    assert [m["id"] for m in get_json(port, "/messages?search=FIRST")[1]["messages"]] == [oldest]

    status, shown = get_json(port, f"/messages/{newest}")
    assert status == 200 and shown["codes"] == ["482913"] and shown["id"] == newest
    status, shown = get_json(port, f"/messages/{newest}?code_pattern=code%20is%20(\\d%7B3%7D)")
    assert shown["codes"] == ["482"]
    assert_error(*get_json(port, f"/messages/{newest}?code_pattern=("), 400, "invalid")

    status, headers, raw = call(port, "GET", f"/messages/{oldest}/raw")
    assert status == 200 and headers["content-type"].startswith("message/rfc822")
    assert raw == server.outbox.raw(oldest) and b"Subject: First" in raw

    assert call(port, "DELETE", f"/messages/{oldest}")[0] == 204
    assert_error(*get_json(port, f"/messages/{oldest}"), 404, "not-found")
    assert_error(*get_json(port, f"/messages/{oldest}/raw"), 404, "not-found")
    status, _, body = call(port, "DELETE", f"/messages/{oldest}")
    assert_error(status, json.loads(body), 404, "not-found")
    assert call(port, "DELETE", "/messages")[0] == 204
    assert get_json(port, "/messages")[1] == {"total": 0, "messages": []}


@pytest.mark.parametrize("query", ["limit=x", "limit=-1", "limit=", "before=no-such-id"])
def test_bad_listing_parameters_are_clear_errors(server, query):
    status, document = get_json(server.api.port, f"/messages?{query}")
    assert status in (400, 404)
    assert_error(status, document, status, "invalid" if status == 400 else "not-found")


def test_wait_long_polls_without_blocking_the_loop(server):
    port = server.api.port
    answers: list[tuple[int, Any]] = []
    waiting = threading.Thread(target=lambda: answers.append(
        get_json(port, "/wait?to=late@example.test&timeout=30")))
    waiting.start()
    try:
        # While the long poll waits, other requests are answered.
        assert get_json(port, "/info")[0] == 200
        assert waiting.is_alive()
        send(server, "Late mail", to="late@example.test")
    finally:
        waiting.join(WAIT + 10)
    [(status, document)] = answers
    assert status == 200
    assert document["subject"] == "Late mail" and document["to"] == ["late@example.test"]


def test_wait_answers_408_on_timeout_and_400_on_bad_criteria(server):
    port = server.api.port
    assert_error(*get_json(port, "/wait?to=nobody@example.test&timeout=0.2"), 408, "timeout")
    assert_error(*get_json(port, "/wait?subject=(&timeout=0"), 400, "invalid")
    assert_error(*get_json(port, "/wait?timeout=abc"), 400, "invalid")
    assert_error(*get_json(port, "/wait?timeout=nan"), 400, "invalid")
    assert_error(*get_json(port, "/wait?timeout="), 400, "invalid")
    assert_error(*get_json(port, "/wait?since=not-a-time"), 400, "invalid")


def test_faults_are_listed_replaced_and_cleared_and_take_effect(server):
    port = server.api.port
    status, faults = get_json(port, "/faults")
    assert status == 200 and faults["rules"] == []
    assert "user-unknown" in {p["id"] for p in faults["profiles"]}

    status, _, body = call(port, "PUT", "/faults",
                           {"rules": [{"profile": "user-unknown", "trigger": "rcpt=^victim@"}]})
    assert status == 200
    assert json.loads(body)["rules"] == [{"profile": "user-unknown", "trigger": "rcpt=^victim@"}]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(server, "Refused", to="victim@example.test")
    assert refused.value.recipients["victim@example.test"][0] == 550
    send(server, "Accepted", to="other@example.test")

    assert call(port, "DELETE", "/faults")[0] == 204
    assert get_json(port, "/faults")[1]["rules"] == []
    send(server, "Accepted again", to="victim@example.test")


@pytest.mark.parametrize("body", [
    {"rules": [{"profile": "no-such-profile"}]},
    {"rules": [{"profile": "service-unavailable", "trigger": "rcpt=x"}]},  # greeting stage
    {"rules": [{"profile": "user-unknown", "trigger": "rcpt=" + "a" * MAX_RULE_TEXT}]},
    {"rules": [{"profile": "user-unknown", "trigger": "p=2"}]},
    {"rules": "user-unknown"},
    {"rules": [42]},
    [],
])
def test_bad_fault_rules_are_refused_and_change_nothing(server, body):
    port = server.api.port
    call(port, "PUT", "/faults", {"rules": [{"profile": "greylisted"}]})
    status, _, answer = call(port, "PUT", "/faults", body)
    assert_error(status, json.loads(answer), 400, "invalid")
    assert get_json(port, "/faults")[1]["rules"] == [{"profile": "greylisted", "trigger": "always"}]


def test_a_body_that_is_not_json_is_a_clear_error(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.api.port, timeout=WAIT)
    connection.request("PUT", "/api/v1/faults", body=b"{no", headers={"Content-Type": "text/plain"})
    response = connection.getresponse()
    assert_error(response.status, json.loads(response.read()), 400, "invalid")
    connection.close()


def test_unknown_paths_and_methods_get_the_error_shape(server):
    assert_error(*get_json(server.api.port, "/nothing-here"), 404, "not-found")
    status, headers, body = call(server.api.port, "POST", "/info")
    assert_error(status, json.loads(body), 405, "method-not-allowed")
    assert "GET" in headers["allow"].split(",")  # RFC 9110


def test_a_busy_api_port_is_a_start_error(tmp_path):
    from smtp_desktop.outbox import ServerStartError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = OutboxServer(Outbox(tmp_path / "outbox"), api_port=taken.getsockname()[1])
        with pytest.raises(ServerStartError, match="HTTP API"):
            server.start()
        assert not server.running


def test_stopping_the_server_ends_a_pending_long_poll(tmp_path):
    server = OutboxServer(Outbox(tmp_path / "outbox"), api_port=0)
    server.start()
    answers: list[int] = []

    def poll() -> None:
        try:
            answers.append(call(server.api.port, "GET", "/wait?to=never@example.test&timeout=300")[0])
        except (OSError, http.client.HTTPException):
            answers.append(0)  # the connection closed: also an end

    waiting = threading.Thread(target=poll)
    try:
        waiting.start()
        # The long poll is running once a pool thread took it.
        deadline = threading.Event()
        while not any(t.name.startswith("outbox-api") for t in threading.enumerate()):
            assert not deadline.wait(0.01) and waiting.is_alive()
    finally:
        server.stop()
    waiting.join(WAIT)
    assert not waiting.is_alive()  # well before the 300 s the poll asked for
    assert answers in ([408], [0])
    assert not any(t.name.startswith("outbox-api") and t.is_alive() for t in threading.enumerate())


def test_a_body_over_one_mebibyte_is_413(server):
    status, _, body = call(server.api.port, "PUT", "/faults",
                           {"rules": [{"profile": "greylisted", "trigger": "x" * (2 << 20)}]})
    assert_error(status, json.loads(body), 413, "too-large")
    assert server.fault_rules == ()
