"""The local outbox: a real aiosmtpd server on 127.0.0.1 storing mail in a Maildir."""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import email.utils
import logging
import mailbox
import smtplib
import socket
from email.message import EmailMessage

import pytest
from support.smtp_servers import PASSWORD, password_forms

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.outbox import (
    ENVELOPE_FROM_HEADER,
    ENVELOPE_HEADER,
    ENVELOPE_TO_HEADER,
    Outbox,
    OutboxMessage,
    OutboxServer,
    RemoteHostError,
    ServerStartError,
    UnknownMessageError,
    is_loopback,
    outbox_folder,
)

USER = "demo@outbox.test"
ASCII_PASSWORD = "demo-pass-123"


def make_message(subject: str = "Hello", *, to: str = "friend@example.test",
                 sender: str = "Sender Name <sender@example.test>",
                 date: str | None = "Wed, 01 May 2024 10:00:00 +0200",
                 body: str = "The body.\n") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if date is not None:
        message["Date"] = date
    message.set_content(body)
    return message


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(tmp_path / "outbox")


@pytest.fixture
def server(outbox):
    with OutboxServer(outbox) as running:
        yield running


@pytest.fixture
def auth_server(outbox):
    with OutboxServer(outbox, auth=(USER, ASCII_PASSWORD)) as running:
        yield running


def smtp_to(server: OutboxServer) -> smtplib.SMTP:
    return smtplib.SMTP(server.host, server.port, timeout=30)


# ---------------------------------------------------------------- the server


def test_accepts_unauthenticated_mail_and_lists_it(server, outbox):
    assert server.port != 0
    message = make_message("Grüße aus dem Outbox", to="Friend <friend@example.test>")
    with smtp_to(server) as client:
        refused = client.send_message(message, from_addr="envelope@example.test",
                                      to_addrs=["friend@example.test", "hidden@example.test"])
    assert refused == {}

    [stored] = outbox.list()
    assert isinstance(stored, OutboxMessage)
    assert stored.subject == "Grüße aus dem Outbox"
    assert stored.sender == "Sender Name <sender@example.test>"
    # The envelope says who really got it, Bcc included.
    assert stored.recipients == ("friend@example.test", "hidden@example.test")
    assert stored.date == "2024-05-01T10:00:00+02:00"
    assert outbox.to_json() == [{
        "id": stored.id, "date": "2024-05-01T10:00:00+02:00",
        "from": "Sender Name <sender@example.test>",
        "to": ["friend@example.test", "hidden@example.test"], "subject": "Grüße aus dem Outbox",
        "size": len(outbox.raw(stored.id)), "received": stored.received,
        "envelope_from": "envelope@example.test",
    }]
    received = dt.datetime.fromisoformat(stored.received)
    assert received.utcoffset() == dt.timedelta(0)
    assert abs(received - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)


def test_message_lands_in_the_maildir_with_its_envelope(server, outbox):
    with smtp_to(server) as client:
        client.send_message(make_message(), from_addr="bounce@example.test",
                            to_addrs=["a@example.test", "b@example.test"])

    box = mailbox.Maildir(outbox.folder, create=False)
    [key] = box.keys()
    assert len(list((outbox.folder / "new").iterdir())) == 1
    stored = outbox.get(key)
    envelope = outbox.envelope(key)
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "bounce@example.test", ("a@example.test", "b@example.test"))
    assert envelope.client.startswith("127.0.0.1:") and envelope.user is None
    # The message is kept as received: none of our envelope lines in it.
    assert stored[ENVELOPE_HEADER] is None and stored[ENVELOPE_FROM_HEADER] is None
    assert stored.get_content() == "The body.\n"
    assert b"\r\n" not in outbox.raw(key)  # stored with the Maildir's "\n" line endings


def test_null_sender_is_kept_as_angle_brackets(server, outbox):
    with smtp_to(server) as client:
        client.sendmail("", ["postmaster@example.test"], make_message().as_bytes())
    [stored] = outbox.list()
    assert outbox.envelope(stored.id).mail_from == "<>"
    assert stored.envelope_from == "<>"


def test_without_auth_no_login_is_offered(server):
    with smtp_to(server) as client:
        client.ehlo()
        assert not client.has_extn("auth")


def test_auth_server_refuses_mail_before_login(auth_server, outbox):
    with smtp_to(auth_server) as client:
        client.ehlo()
        assert client.has_extn("auth")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(make_message())
    assert refused.value.smtp_code == 530
    assert outbox.list() == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_server_accepts_the_login_with_each_mechanism(auth_server, outbox, mechanism):
    with smtp_to(auth_server) as client:
        client.ehlo()
        assert mechanism in client.esmtp_features["auth"].split()
        client.user, client.password = USER, ASCII_PASSWORD
        method = client.auth_plain if mechanism == "PLAIN" else client.auth_login
        code, _ = client.auth(mechanism, method)
        assert code == 235
        client.send_message(make_message(mechanism))
    assert [m.subject for m in outbox.list()] == [mechanism]


@pytest.mark.parametrize(("user", "password"), [(USER, "wrong-password"), ("other@outbox.test",
                                                                           ASCII_PASSWORD)])
def test_wrong_login_gets_535_and_stores_nothing(auth_server, outbox, user, password):
    with smtp_to(auth_server) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(user, password)
    assert refused.value.smtp_code == 535
    assert outbox.list() == []


def test_non_ascii_password_is_compared_as_utf8(outbox):
    with OutboxServer(outbox, auth=(USER, PASSWORD)) as server, smtp_to(server) as client:
        client.ehlo()
        right = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        wrong = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode("latin-1")).decode()
        assert client.docmd("AUTH", f"PLAIN {wrong}")[0] == 535
        assert client.docmd("AUTH", f"PLAIN {right}")[0] == 235


def test_the_apps_own_transport_delivers_to_the_demo_outbox(outbox, caplog):
    """What the demo mode does: the app's transport logs in (no TLS, loopback) and sends."""
    from smtp_desktop.mail import send_test_email

    caplog.set_level(logging.DEBUG)
    with OutboxServer(outbox, auth=(USER, PASSWORD)) as server:
        settings = SmtpSettings(
            enabled=True, service=Service.OWN, host=server.host, port=server.port, username=USER,
            keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "false")))
        outcome = send_test_email(settings, PASSWORD, "friend@example.test")
    assert outcome.ok, outcome
    [stored] = outbox.list()
    assert stored.recipients == ("friend@example.test",)
    assert stored.subject == "smtp-desktop test email"
    # Neither the outbox nor aiosmtpd logs the password in any form, at any level.
    logged = [record.getMessage() for record in caplog.records]
    assert any("Local outbox stored message" in line for line in logged)
    for form in password_forms(USER, PASSWORD):
        for line in logged:
            assert form not in line, line
    assert PASSWORD not in repr(server)
    assert "Session.login_data is deprecated" not in "\n".join(logged)


def test_a_message_that_cannot_be_stored_gets_451(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    with (OutboxServer(Outbox(blocked)) as server, smtp_to(server) as client,
          pytest.raises(smtplib.SMTPDataError) as refused):
        client.send_message(make_message())
    assert refused.value.smtp_code == 451


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "mail.example.test", ""])
def test_non_loopback_host_is_refused_with_a_clear_message(outbox, host):
    with pytest.raises(RemoteHostError, match="Refusing to listen on") as refused:
        OutboxServer(outbox, host=host)
    assert isinstance(refused.value, ValueError)
    assert "127.0.0.1" in str(refused.value)


def test_allow_remote_lifts_the_host_check(outbox):
    server = OutboxServer(outbox, host="192.0.2.10", allow_remote=True)
    assert (server.host, server.port, server.running) == ("192.0.2.10", 0, False)


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("LOCALHOST", True),
    ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False),
    ("example.com", False), ("", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_bad_port_and_half_a_login_are_refused(outbox):
    with pytest.raises(ValueError, match="out of range"):
        OutboxServer(outbox, port=70000)
    with pytest.raises(ValueError, match="user name and a password"):
        OutboxServer(outbox, auth=(USER, ""))


def test_port_in_use_is_a_clear_start_error(server, outbox):
    second = OutboxServer(outbox, port=server.port)
    with pytest.raises(ServerStartError, match=f"Port {server.port} on 127.0.0.1 is already in use"):
        second.start()
    assert not second.running


def test_stop_closes_the_port_and_is_idempotent(outbox):
    server = OutboxServer(outbox)
    server.start()
    port = server.port
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()
    server.stop()
    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# ---------------------------------------------------------------- the Maildir API


def test_list_is_newest_first(outbox):
    ids = [outbox.add(make_message(f"Message {n}").as_bytes(), "a@example.test",
                      ["b@example.test"]) for n in range(3)]
    listed = outbox.list()
    assert [m.id for m in listed] == ids[::-1]
    assert [m.subject for m in listed] == ["Message 2", "Message 1", "Message 0"]


def test_date_falls_back_to_the_arrival_time(outbox):
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    no_date = outbox.add(make_message("no date", date=None).as_bytes())
    bad_date = outbox.add(make_message("bad date", date="sometime last week").as_bytes())
    after = dt.datetime.now(dt.timezone.utc)
    for message in outbox.list():
        assert message.id in (no_date, bad_date)
        when = dt.datetime.fromisoformat(message.date)
        assert when.utcoffset() == dt.timedelta(0)
        assert before <= when <= after


def test_unknown_timezone_date_is_read_as_utc(outbox):
    outbox.add(make_message(date="Wed, 01 May 2024 10:00:00 -0000").as_bytes())
    assert outbox.list()[0].date == "2024-05-01T10:00:00+00:00"


def test_without_envelope_the_headers_give_the_recipients(outbox):
    message = make_message(to="One <one@example.test>, two@example.test")
    message["Cc"] = "three@example.test"
    outbox.add(message.as_bytes())
    [stored] = outbox.list()
    assert stored.recipients == ("one@example.test", "two@example.test", "three@example.test")


def test_envelope_headers_cannot_be_forged_or_broken(outbox):
    forged = make_message()
    forged[ENVELOPE_TO_HEADER] = "forged@example.test"
    key = outbox.add(forged.as_bytes(), "a@example.test\r\nX-Injected: yes",
                     ["real@example.test"])
    [stored] = outbox.list()
    assert stored.recipients == ("real@example.test",)
    message = outbox.get(key)
    assert message["X-Injected"] is None
    assert outbox.envelope(key).mail_from == "a@example.test X-Injected: yes"
    # The sender's own header of that name is content, kept as received, and not believed.
    assert message[ENVELOPE_TO_HEADER] == "forged@example.test"


def test_get_raw_delete(outbox):
    keep = outbox.add(make_message("keep").as_bytes(), "a@example.test", ["b@example.test"])
    drop = outbox.add(make_message("drop").as_bytes(), "a@example.test", ["b@example.test"])

    message = outbox.get(drop)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "drop"
    assert message.policy == email.policy.default
    assert outbox.raw(drop) == make_message("drop").as_bytes().replace(b"\r\n", b"\n")
    assert (outbox.folder / "new" / drop).read_bytes().startswith(f"{ENVELOPE_HEADER}: {{".encode())

    outbox.delete(drop)
    assert [m.id for m in outbox.list()] == [keep]
    with pytest.raises(UnknownMessageError) as missing:
        outbox.get(drop)
    assert isinstance(missing.value, KeyError)
    assert str(missing.value) == f"No message {drop!r} in the local outbox; it may have been deleted."
    with pytest.raises(UnknownMessageError):
        outbox.delete(drop)
    with pytest.raises(UnknownMessageError):
        outbox.raw("../../etc/passwd")


def test_clear_returns_the_number_removed(outbox):
    for n in range(3):
        outbox.add(make_message(f"m{n}").as_bytes())
    assert outbox.clear() == 3
    assert outbox.list() == []
    assert outbox.clear() == 0


def test_save_eml_writes_the_stored_bytes(outbox, tmp_path):
    key = outbox.add(make_message("Saved", body="Ünïcode body\n").as_bytes(), "a@example.test",
                     ["b@example.test"])
    target = tmp_path / "saved.eml"
    outbox.save_eml(key, target)
    assert target.read_bytes() == outbox.raw(key)
    parsed = email.message_from_bytes(target.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Saved"
    assert parsed.get_content() == "Ünïcode body\n"
    with pytest.raises(UnknownMessageError):
        outbox.save_eml("no-such-id", tmp_path / "other.eml")
    assert not (tmp_path / "other.eml").exists()


def test_a_missing_folder_is_an_empty_outbox_and_stays_missing(tmp_path):
    outbox = Outbox(tmp_path / "data" / "outbox")
    assert outbox.list() == []
    assert outbox.to_json() == []
    assert outbox.clear() == 0
    with pytest.raises(UnknownMessageError):
        outbox.raw("anything")
    with pytest.raises(UnknownMessageError):
        outbox.delete("anything")
    assert not (tmp_path / "data").exists()


def test_folders_are_created_on_first_message_private_to_the_user(tmp_path):
    outbox = Outbox(outbox_folder(tmp_path / "data"))
    assert outbox.folder == tmp_path / "data" / "outbox"
    outbox.add(make_message().as_bytes())
    assert (outbox.folder.stat().st_mode & 0o777) == 0o700
    assert len(outbox.list()) == 1


def test_unreadable_file_in_the_maildir_is_skipped(outbox, caplog):
    outbox.add(make_message("good").as_bytes())
    (outbox.folder / "new" / "broken-entry").symlink_to(outbox.folder / "nowhere")
    assert [m.subject for m in outbox.list()] == ["good"]
    assert any("broken-entry" in record.getMessage() for record in caplog.records)


def test_a_file_dropped_in_by_hand_is_listed_by_its_file_time(outbox):
    import os

    ours = outbox.add(make_message("ours").as_bytes())
    dropped = outbox.folder / "new" / "hand-delivered"
    dropped.write_bytes(make_message("by hand", date=None).as_bytes())
    long_ago = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    os.utime(dropped, (long_ago.timestamp(), long_ago.timestamp()))
    listed = outbox.list()
    assert [m.id for m in listed] == [ours, "hand-delivered"]
    assert listed[1].date == "2020-01-02T03:04:05+00:00"


def test_files_of_older_versions_are_read_with_their_envelope_headers(outbox):
    outbox.add(make_message("current").as_bytes())  # makes the folders
    old = (f"{ENVELOPE_FROM_HEADER}: bounce@example.test\n{ENVELOPE_TO_HEADER}: a@example.test,\n"
           f" b@example.test\n").encode() + make_message("old").as_bytes().replace(b"\r\n", b"\n")
    (outbox.folder / "new" / "1700000000.M000001P1Q1.oldhost").write_bytes(old)
    old_message = next(m for m in outbox.list() if m.subject == "old")
    assert old_message.recipients == ("a@example.test", "b@example.test")
    assert old_message.envelope_from == "bounce@example.test"
    assert outbox.raw(old_message.id) == make_message("old").as_bytes().replace(b"\r\n", b"\n")
    assert outbox.envelope(old_message.id).rcpt_tos == ("a@example.test", "b@example.test")
