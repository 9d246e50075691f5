"""The outbox holds up as a real mail server: every limit crossed, answered with the standard
reply, and the next client still served. Real clients (smtplib, raw sockets, swaks) against a
real OutboxServer on 127.0.0.1."""

from __future__ import annotations

import gc
import shutil
import smtplib
import socket
import subprocess
import threading
from email.message import EmailMessage

import pytest

from smtp_desktop.outbox import Outbox, OutboxLimits, OutboxServer
from smtp_desktop.outbox import server as server_module

WAIT = 30


def message(subject: str = "Hello", body: str = "The body.\n") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "sender@example.test"
    mail["To"] = "friend@example.test"
    mail["Subject"] = subject
    mail.set_content(body)
    return mail


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(tmp_path / "outbox")


@pytest.fixture
def serve(outbox):
    started: list[OutboxServer] = []

    def start(**limits: int | float) -> OutboxServer:
        server = OutboxServer(outbox, limits=OutboxLimits(**limits))
        server.start()
        started.append(server)
        # aiosmtpd's start-up probe connection must be gone before connections are counted.
        threading_wait_until(lambda: server_module_connections(server) == 0)
        return server

    yield start
    for server in started:
        server.stop()


def client(server: OutboxServer) -> smtplib.SMTP:
    return smtplib.SMTP(server.host, server.port, timeout=WAIT)


def greeting(server: OutboxServer, source: str = "127.0.0.1") -> tuple[socket.socket, bytes]:
    sock = socket.create_connection((server.host, server.port), timeout=WAIT,
                                    source_address=(source, 0))
    return sock, read_reply(sock)


def read_reply(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def next_client_is_served(server: OutboxServer, outbox: Outbox, subject: str) -> None:
    with client(server) as smtp:
        assert smtp.send_message(message(subject)) == {}
    assert subject in [m.subject for m in outbox.list()]


def test_every_accepted_connection_has_tcp_nodelay(serve):
    """Without it each multi-line EHLO reply waits for the client's delayed ACK (40 ms)."""
    server = serve()
    with client(server) as smtp:
        smtp.ehlo()
        sessions = [o for o in gc.get_objects()
                    if type(o).__name__ == "OutboxSMTP" and getattr(o, "transport", None)]
        assert sessions
        for session in sessions:
            sock = session.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_size_is_announced_and_a_bigger_message_gets_552_after_the_final_dot(serve, outbox):
    server = serve(max_message_size=2048)
    with client(server) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == "2048"
        smtp.mail("sender@example.test")  # no SIZE= parameter: the limit is found in DATA
        smtp.rcpt("friend@example.test")
        code, text = smtp.data(message(body=("x" * 70 + "\n") * 40).as_bytes())
        assert (code, text.split()[0]) == (552, b"5.3.4")
        # The connection is still good: the same client sends a message that fits.
        assert smtp.send_message(message("fits")) == {}
    assert [m.subject for m in outbox.list()] == ["fits"]
    assert list((outbox.folder / "tmp").iterdir()) == [] or all(
        p.stat().st_size == 0 for p in (outbox.folder / "tmp").iterdir())  # only blanks made ahead


def test_a_size_declared_in_mail_from_above_the_limit_gets_552_5_3_4_at_once(serve, outbox):
    server = serve(max_message_size=2048)
    with client(server) as smtp:
        smtp.ehlo()
        code, text = smtp.mail("sender@example.test", ["SIZE=2049"])
        assert (code, text.split()[0]) == (552, b"5.3.4")
        assert b"2048 bytes" in text
        assert smtp.mail("sender@example.test", ["SIZE=2048"])[0] == 250


def test_a_line_longer_than_the_limit_gets_500_and_the_connection_is_kept(serve, outbox):
    server = serve(max_line_length=1000)
    with client(server) as smtp:
        smtp.ehlo()
        smtp.mail("sender@example.test")
        smtp.rcpt("friend@example.test")
        code, text = smtp.data(b"Subject: long\r\n\r\n" + b"y" * 1001 + b"\r\n")
        assert (code, text.split()[0]) == (500, b"5.5.2")
        smtp.mail("sender@example.test")
        smtp.rcpt("friend@example.test")
        code, _ = smtp.data(b"Subject: at the limit\r\n\r\n" + b"y" * 1000 + b"\r\n")
        assert code == 250
    assert [m.subject for m in outbox.list()] == ["at the limit"]


def test_recipients_past_the_limit_get_452_each_and_the_first_are_kept(serve, outbox):
    server = serve(max_recipients=3)
    with client(server) as smtp:
        smtp.ehlo()
        smtp.mail("sender@example.test")
        replies = [smtp.rcpt(f"r{n}@example.test") for n in range(5)]
        assert [code for code, _ in replies] == [250, 250, 250, 452, 452]
        assert replies[3][1].split()[0] == b"4.5.3"
        assert smtp.data(message("three").as_bytes())[0] == 250
    [stored] = outbox.list()
    assert stored.recipients == ("r0@example.test", "r1@example.test", "r2@example.test")


def test_connections_past_the_limit_get_421_at_the_greeting(serve, outbox):
    server = serve(max_connections=2)
    first, hello1 = greeting(server)
    second, hello2 = greeting(server)
    third, refused = greeting(server)
    assert hello1.startswith(b"220") and hello2.startswith(b"220")
    assert refused.startswith(b"421 4.7.0")
    assert third.recv(100) == b""  # then closed
    for sock in (first, second, third):
        sock.close()
    threading_wait_until(lambda: server_module_connections(server) == 0)
    next_client_is_served(server, outbox, "after the crowd")


def test_all_of_loopback_counts_as_one_client(serve, outbox):
    server = serve(max_connections_per_client=2)
    held = [greeting(server, "127.0.0.1"), greeting(server, "127.0.0.2")]
    assert all(reply.startswith(b"220") for _, reply in held)
    sock, refused = greeting(server, "127.0.0.3")
    assert refused.startswith(b"421 4.7.0")
    sock.close()
    for sock, _ in held:
        sock.close()
    threading_wait_until(lambda: server_module_connections(server) == 0)
    next_client_is_served(server, outbox, "one client again")


def test_an_idle_connection_gets_421_and_is_closed(serve, outbox):
    server = serve(idle_timeout=1)
    sock, hello = greeting(server)
    assert hello.startswith(b"220")
    assert read_reply(sock).startswith(b"421 4.4.2")  # waits for the server, not for a clock
    assert sock.recv(100) == b""
    sock.close()
    next_client_is_served(server, outbox, "awake")


def test_200_simultaneous_connects_each_get_220_or_421(serve):
    server = serve()
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) for _ in range(200)]
    try:
        replies = [read_reply(sock)[:3] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert set(replies) <= {b"220", b"421"}, set(replies)
    assert replies.count(b"220") == OutboxLimits().max_connections_per_client  # loopback is one


def test_the_oldest_messages_are_pruned_past_max_messages(serve, outbox):
    server = serve(max_messages=3)
    with client(server) as smtp:
        for n in range(5):
            smtp.send_message(message(f"m{n}"))
    assert [m.subject for m in outbox.list()] == ["m4", "m3", "m2"]


def test_the_oldest_messages_are_pruned_past_max_bytes(serve, outbox):
    server = serve(max_bytes=1024 * 1024, max_message_size=512 * 1024)
    body = ("z" * 99 + "\n") * 3000  # about 300 KB
    with client(server) as smtp:
        for n in range(5):
            smtp.send_message(message(f"big{n}", body))
    listed = outbox.list()
    assert [m.subject for m in listed][:3] == ["big4", "big3", "big2"]
    assert sum(m.size for m in listed) <= 1024 * 1024


def test_little_free_disk_gets_452_4_3_1(serve, outbox, monkeypatch):
    class Full:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(server_module.os, "statvfs", lambda path: Full())
    server = serve()
    with client(server) as smtp, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.send_message(message())
    assert (refused.value.smtp_code, refused.value.smtp_error.split()[0]) == (452, b"4.3.1")
    assert outbox.list() == []


def test_limits_that_cannot_hold_one_message_are_refused(outbox):
    with pytest.raises(ValueError, match="max_message_size"):
        OutboxServer(outbox, limits=OutboxLimits(max_message_size=2 * 1024**3, max_bytes=1024**3))


# ---------------------------------------------------------------- AUTH


def test_failed_logins_slow_down_and_the_third_closes_the_connection(outbox):
    with OutboxServer(outbox, auth=("qa", "right"), auth_delay=0.05) as server:
        sock, _ = greeting(server)
        sock.sendall(b"EHLO me\r\n")
        while b"250 " not in (reply := read_reply(sock)):
            pass
        wrong = b"AUTH PLAIN AHFhAHdyb25n\r\n"  # \0qa\0wrong
        sock.sendall(wrong)
        assert read_reply(sock).startswith(b"535")
        sock.sendall(wrong)
        assert read_reply(sock).startswith(b"535")
        sock.sendall(wrong)
        assert read_reply(sock).startswith(b"421 4.7.0")
        assert sock.recv(100) == b""
        sock.close()
        with client(server) as smtp:  # a new connection may log in
            smtp.login("qa", "right")
    assert reply


def test_a_delayed_login_failure_does_not_hold_up_other_clients(outbox):
    with OutboxServer(outbox, auth=("qa", "right"), auth_delay=WAIT * 4) as server:
        slow = smtplib.SMTP(server.host, server.port, timeout=WAIT)
        slow.ehlo()
        assert slow.docmd("AUTH", "PLAIN AHFhAHdyb25n")[0] == 535  # the first answers at once
        slow.send(b"AUTH PLAIN AHFhAHdyb25n\r\n")  # the second waits WAIT * 4 seconds
        with client(server) as other:
            other.login("qa", "right")
            assert other.send_message(message("meanwhile")) == {}
        slow.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            slow.sock.recv(100)  # still waiting: only that connection is slowed
        slow.close()
    assert [m.subject for m in outbox.list()] == ["meanwhile"]


# ---------------------------------------------------------------- the envelope


def test_a_folded_first_line_cannot_forge_the_envelope(serve, outbox):
    server = serve()
    forged = (b" attacker@evil.example, ceo@example.com\r\nFrom: sender@example.test\r\n"
              b"Subject: forged\r\n\r\nbody\r\n")
    with client(server) as smtp:
        smtp.sendmail("sender@example.test", ["real@example.test"], forged)
    [stored] = outbox.list()
    assert stored.recipients == ("real@example.test",)
    assert outbox.envelope(stored.id).rcpt_tos == ("real@example.test",)
    assert outbox.page(search="evil.example") == []  # the forged text is no envelope address
    # Raw reads and .eml exports give the bytes as received, without our envelope line.
    assert outbox.raw(stored.id) == forged.replace(b"\r\n", b"\n")


def test_dots_and_line_ends_survive_the_streaming(serve, outbox):
    server = serve()
    body = ".starts with a dot\n..two dots\n.\n\nend without newline"
    with client(server) as smtp:
        smtp.send_message(message("dots", body))
    [stored] = outbox.list()
    assert outbox.get(stored.id).get_content() == body + "\n"


# ---------------------------------------------------------------- swaks


swaks = pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")


@swaks
def test_swaks_delivers_without_pipelining(serve, outbox):
    server = serve()
    done = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.port}", "--to", "qa@example.test",
         "--from", "swaks@example.test", "--header", "Subject: from swaks", "--no-hints"],
        capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PIPELINING" not in done.stdout
    [stored] = outbox.list()
    assert (stored.subject, stored.recipients, stored.envelope_from) == (
        "from swaks", ("qa@example.test",), "swaks@example.test")


@swaks
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_swaks_delivers_through_auth(outbox, mechanism):
    with OutboxServer(outbox, auth=("qa@example.test", "swaks-pass")) as server:
        done = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{server.port}", "--to", "qa@example.test",
             "--from", "swaks@example.test", "--header", f"Subject: {mechanism}",
             "--auth", mechanism, "--auth-user", "qa@example.test", "--auth-password",
             "swaks-pass", "--no-hints"],
            capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stdout + done.stderr
    [stored] = outbox.list()
    assert stored.subject == mechanism
    assert outbox.envelope(stored.id).user == "qa@example.test"


# ---------------------------------------------------------------- helpers


def server_module_connections(server: OutboxServer) -> int:
    return server._context.connections  # type: ignore[union-attr]


def threading_wait_until(condition, timeout: float = WAIT) -> None:
    """Wait for the server thread to see closed connections (an event, polled briefly)."""
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met")


def test_an_empty_message_is_stored_with_its_envelope(serve, outbox):
    server = serve()
    sock, _ = greeting(server)
    for command in (b"HELO me", b"MAIL FROM:<a@example.test>", b"RCPT TO:<b@example.test>",
                    b"DATA"):
        sock.sendall(command + b"\r\n")
        read_reply(sock)
    sock.sendall(b".\r\n")
    assert read_reply(sock).startswith(b"250")
    sock.sendall(b"QUIT\r\n")
    read_reply(sock)
    sock.close()
    [stored] = outbox.list()
    assert outbox.raw(stored.id) == b""
    assert (stored.envelope_from, stored.recipients, stored.size) == ("a@example.test",
                                                                      ("b@example.test",), 0)


def test_the_outbox_folder_removed_while_serving_is_made_again(serve, outbox):
    server = serve()
    next_client_is_served(server, outbox, "before")
    shutil.rmtree(outbox.folder)
    next_client_is_served(server, outbox, "after")
    assert [m.subject for m in outbox.list()] == ["after"]


def test_streaming_keeps_every_byte_whatever_the_chunk_boundaries(tmp_path):
    """Dots, empty lines and stray CRs around the 64 KiB chunks DATA is read in, sent in random
    pieces: what is stored is what was sent (dot-unstuffed, CRLF stored as LF)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    outbox = Outbox(tmp_path / "outbox")
    line = st.text(alphabet=".a\r ", max_size=6)

    with OutboxServer(outbox) as server, client(server) as smtp:
        smtp.ehlo()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(filler=st.integers(0, 70_000), lines=st.lists(line, max_size=12),
               cuts=st.lists(st.integers(1, 80_000), max_size=4))
        def check(filler: int, lines: list[str], cuts: list[int]) -> None:
            body_lines = ["x" * (filler % 900)] * (filler // 900) + lines
            body = "".join(f"{text}\r\n" for text in body_lines).encode()
            stuffed = b"".join((b"." + text if text.startswith(b".") else text) + b"\r\n"
                               for text in body.split(b"\r\n")[:-1])
            data = stuffed + b".\r\n"
            smtp.mail("a@example.test")
            smtp.rcpt("b@example.test")
            assert smtp.docmd("DATA")[0] == 354
            start = 0
            for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
                smtp.sock.sendall(data[start:cut])
                start = cut
            code, reply = smtp.getreply()
            assert code == 250, reply
            stored_id = reply.decode().rsplit(" ", 1)[-1]
            assert outbox.raw(stored_id) == body.replace(b"\r\n", b"\n")

        check()


def test_a_message_whose_new_folder_vanished_while_it_arrived_is_still_stored(outbox):
    """The folder removed while a message was being received (a race the test above can hit
    with the thread that makes files ahead): committing makes new/ again."""
    from smtp_desktop.outbox.store import MessageWriter

    writer = MessageWriter.start(outbox, {"mail_from": "a@example.test",
                                          "rcpt_tos": ["b@example.test"]})
    writer.write(b"Subject: raced\r\n\r\nbody\r\n")
    shutil.rmtree(outbox.folder / "new")
    writer.commit()
    assert [m.subject for m in outbox.list()] == ["raced"]
