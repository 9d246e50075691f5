"""Fault profiles, closed loop: the app's own Send test email against the outbox playing each
profile ends in the category the issue's table names; plus the triggers."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import threading

import pytest
from support.smtp_servers import password_forms

from smtp_desktop.checks import CheckKind, CheckRequest, run_check
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.outbox import Outbox, OutboxLimits, OutboxServer
from smtp_desktop.outbox.faults import FaultRuleError, Stage, load_catalogue, parse_rule

# The table, row by row: profile -> the category Send test email must end in.
EXPECTED = {
    "gmail-app-password-required": "auth",
    "gmail-bad-credentials": "auth",
    "m365-smtp-auth-disabled": "auth",
    "auth-mechanism-unsupported": "auth",
    "starttls-required": "tls",
    "greylisted": "unavailable",
    "user-unknown": "recipient-rejected",
    "sender-rejected": "sender-rejected",
    "message-too-big": "rejected",
    "service-unavailable": "unavailable",
    "rate-limited": "unavailable",
    "hang-after-greeting": "timeout",
    "hang-at-data": "timeout",
    "drop-during-data": "connection-lost",
}
USER, PASSWORD = "qa@outbox.test", "not-the-real-one-7"
REPLY_TIMEOUT_MS = "1000"  # mail.smtp.timeout for the hanging profiles: the client gives up


def test_the_catalogue_has_every_row_of_the_table_and_its_category():
    catalogue = load_catalogue()
    assert list(catalogue) == list(EXPECTED)
    assert {pid: p.category for pid, p in catalogue.items()} == EXPECTED


def _settings(server: OutboxServer, login: bool) -> SmtpSettings:
    keys = [("mail.smtp.auth", "true" if login else "false"),
            ("mail.smtp.timeout", REPLY_TIMEOUT_MS)]
    return SmtpSettings(enabled=True, service=Service.OWN, host=server.host, port=server.port,
                        username=USER if login else "", keys=tuple(keys))


@pytest.mark.parametrize("profile_id", list(EXPECTED))
def test_send_test_email_ends_in_the_profiles_category(profile_id, config_service, tmp_path):
    rule = parse_rule(profile_id)
    login = rule.profile.stage is Stage.AUTH
    outbox = Outbox(tmp_path / "outbox")
    with OutboxServer(outbox, faults=[rule]) as server:
        outcome = run_check(config_service, CheckRequest(
            CheckKind.SEND_TEST, _settings(server, login), password=PASSWORD if login else None,
            recipient="friend@example.test", sender=USER))
    assert not outcome.ok
    assert outcome.category is not None and outcome.category.value == EXPECTED[profile_id], outcome
    assert outcome.advice
    assert outbox.list() == []  # no profile lets the message through
    assert PASSWORD not in repr(outcome.to_json())


def test_a_multi_line_reply_reads_as_one_sentence_with_its_code_once(config_service, tmp_path):
    """Gmail's 534 is two lines, each with 5.7.9; the message read "go to 5.7.9 https://"."""
    outbox = Outbox(tmp_path / "outbox")
    with OutboxServer(outbox, faults=_rules("gmail-app-password-required")) as server:
        outcome = run_check(config_service, CheckRequest(
            CheckKind.SEND_TEST, _settings(server, True), password=PASSWORD,
            recipient="friend@example.test", sender=USER))
    said = outcome.message
    assert "go to https://support.google.com/" in said, said
    assert said.count("5.7.9") == 1, said


def test_without_rules_the_same_send_is_stored(config_service, tmp_path):
    """The control: the loop above fails because of the profile, not the setup."""
    outbox = Outbox(tmp_path / "outbox")
    with OutboxServer(outbox) as server:
        outcome = run_check(config_service, CheckRequest(
            CheckKind.SEND_TEST, _settings(server, False), recipient="friend@example.test", sender=USER))
    assert outcome.ok, outcome
    assert len(outbox.list()) == 1


# ---------------------------------------------------------------- triggers, against the server


def _rules(*texts: str):
    return [parse_rule(text) for text in texts]


def _send(server: OutboxServer, client: smtplib.SMTP | None = None, *, to=("friend@example.test",),
          subject: str = "hello") -> int | str | dict:
    """Send one message: 250 when stored, else the code that refused it, {recipient: code} for
    refused recipients, or "closed" when the server hung up without a reply."""
    own = client is None
    client = client or smtplib.SMTP(server.host, server.port, timeout=10)
    try:
        refused = client.sendmail("qa@outbox.test", list(to),
                                  f"Subject: {subject}\r\n\r\nbody\r\n".encode())
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code
    except smtplib.SMTPServerDisconnected:
        return "closed"
    finally:
        if own:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
            client.close()
    return {address: code for address, (code, _) in refused.items()} or 250


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(tmp_path / "outbox")


def test_next_n_counts_connections_at_the_mail_stage(outbox):
    with OutboxServer(outbox, faults=_rules("sender-rejected:next=2")) as server:
        first = smtplib.SMTP(server.host, server.port, timeout=10)
        # A connection that got the fault keeps it: its second message is refused too.
        assert [_send(server, first), _send(server, first)] == [550, 550]
        first.quit()
        assert [_send(server), _send(server), _send(server)] == [550, 250, 250]
    assert len(outbox.list()) == 2


def test_next_n_counts_messages_at_the_rcpt_stage(outbox):
    with OutboxServer(outbox, faults=_rules("greylisted:next=2")) as server, \
            smtplib.SMTP(server.host, server.port, timeout=10) as client:
        results = [_send(server, client, subject=f"m{i}") for i in range(3)]
    assert results == [{"friend@example.test": 451}] * 2 + [250]
    assert [m.subject for m in outbox.list()] == ["m2"]


def test_rcpt_regex_picks_the_recipients(outbox):
    with OutboxServer(outbox, faults=_rules("user-unknown:rcpt=^nobody@")) as server:
        result = _send(server, to=("nobody@example.test", "friend@example.test"))
    assert result == {"nobody@example.test": 550}  # the message went to the other recipient
    [stored] = outbox.list()
    assert stored.recipients == ("friend@example.test",)


def test_rcpt_regex_on_a_data_profile_looks_at_the_messages_recipients(outbox):
    with OutboxServer(outbox, faults=_rules("message-too-big:rcpt=big@")) as server:
        assert _send(server, to=("big@example.test",), subject="refused") == 552
        assert _send(server, to=("small@example.test",), subject="kept") == 250
    assert [m.subject for m in outbox.list()] == ["kept"]


@pytest.mark.parametrize("profile", ["service-unavailable", "gmail-bad-credentials",
                                     "rate-limited", "hang-after-greeting"])
def test_rcpt_regex_before_the_rcpt_stage_is_refused(profile):
    with pytest.raises(FaultRuleError, match="rcpt= needs a profile of the RCPT or DATA stage"):
        parse_rule(f"{profile}:rcpt=x")


def _greylist_pattern(outbox: Outbox, trigger: str, messages: int = 24) -> list[bool]:
    with OutboxServer(outbox, faults=_rules(f"greylisted:{trigger}")) as server, \
            smtplib.SMTP(server.host, server.port, timeout=10) as client:
        return [_send(server, client) != 250 for _ in range(messages)]


def test_probability_with_a_seed_repeats_exactly(tmp_path):
    first = _greylist_pattern(Outbox(tmp_path / "a"), "p=0.25,seed=42")
    second = _greylist_pattern(Outbox(tmp_path / "b"), "p=0.25,seed=42")
    assert first == second
    assert any(first) and not all(first)  # some messages refused, some stored
    other_seed = _greylist_pattern(Outbox(tmp_path / "c"), "p=0.25,seed=7")
    assert other_seed != first


def test_probability_zero_and_one(tmp_path):
    assert not any(_greylist_pattern(Outbox(tmp_path / "a"), "p=0", messages=5))
    assert all(_greylist_pattern(Outbox(tmp_path / "b"), "p=1", messages=5))


def test_the_first_matching_rule_wins(outbox):
    rules = _rules("user-unknown:rcpt=^vip@", "greylisted:next=1", "sender-rejected")
    with OutboxServer(outbox, faults=rules) as server, \
            smtplib.SMTP(server.host, server.port, timeout=10) as client:
        # MAIL comes first: the sender-rejected rule (third) is the only one of that stage.
        assert _send(server, client) == 550
    rules = _rules("user-unknown:rcpt=^vip@", "greylisted:next=1")
    with OutboxServer(outbox, faults=rules) as server, \
            smtplib.SMTP(server.host, server.port, timeout=10) as client:
        assert _send(server, client, to=("vip@example.test",)) == {"vip@example.test": 550}
        assert _send(server, client) == {"friend@example.test": 451}
        assert _send(server, client) == 250  # next=1 is used up


def test_rules_are_replaced_while_running_from_another_thread(outbox):
    with OutboxServer(outbox) as server:
        assert _send(server) == 250
        setter = threading.Thread(target=server.set_fault_rules, args=(_rules("rate-limited"),))
        setter.start()
        setter.join()
        assert [rule.text for rule in server.fault_rules] == ["rate-limited:always"]
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            assert _send(server, client) == 421
            with pytest.raises(smtplib.SMTPServerDisconnected):  # 421 closed the connection
                client.noop()
        server.set_fault_rules(())
        assert _send(server) == 250
    assert len(outbox.list()) == 2


def test_replacing_rules_restarts_their_counts(outbox):
    with OutboxServer(outbox, faults=_rules("sender-rejected:next=1")) as server:
        assert [_send(server), _send(server)] == [550, 250]
        server.set_fault_rules(_rules("sender-rejected:next=1"))
        assert [_send(server), _send(server)] == [550, 250]


def test_many_threads_replacing_rules_while_mail_flows(outbox):
    """set_fault_rules from several threads at once, with connections in flight: every message
    ends as one of the rules says, and the server keeps serving."""
    with OutboxServer(outbox) as server:
        stop = threading.Event()

        def flip(rule: str) -> None:
            while not stop.is_set():
                server.set_fault_rules(_rules(rule))
                server.set_fault_rules(())

        flippers = [threading.Thread(target=flip, args=(rule,))
                    for rule in ("greylisted", "sender-rejected:p=0.5,seed=1")]
        for thread in flippers:
            thread.start()
        try:
            results = [_send(server) for _ in range(20)]
        finally:
            stop.set()
            for thread in flippers:
                thread.join()
        server.set_fault_rules(())
        assert _send(server) == 250
    assert set(map(str, results)) <= {"250", "550", str({"friend@example.test": 451})}


def test_auth_profiles_offer_auth_without_a_login_configured(outbox):
    with OutboxServer(outbox) as server, smtplib.SMTP(server.host, server.port, timeout=10) as c:
        c.ehlo()
        assert not c.has_extn("auth")  # unchanged without AUTH-stage rules
    with OutboxServer(outbox, faults=_rules("gmail-bad-credentials:next=1")) as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.ehlo()
            assert client.has_extn("auth")
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(USER, PASSWORD)
            assert refused.value.smtp_code == 535
            assert b"5.7.8 Username and Password not accepted" in refused.value.smtp_error
        # next=1 is used up: the next connection's login is taken as it is (none is required).
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.login(USER, PASSWORD)
            assert _send(server, client) == 250
    [stored] = outbox.list()
    assert outbox.envelope(stored.id).user == USER


def test_auth_profiles_answer_before_a_configured_login_is_checked(outbox):
    with OutboxServer(outbox, auth=(USER, PASSWORD),
                      faults=_rules("m365-smtp-auth-disabled:next=1")) as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(USER, PASSWORD)
            assert refused.value.smtp_code == 535 and b"5.7.139" in refused.value.smtp_error
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.login(USER, PASSWORD)  # the real login, checked as before
        with smtplib.SMTP(server.host, server.port, timeout=10) as client, \
                pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            client.login(USER, "wrong")
        assert b"5.7.139" not in wrong.value.smtp_error


def test_an_unknown_mechanism_is_refused_at_once(outbox):
    with OutboxServer(outbox, faults=_rules("auth-mechanism-unsupported")) as server, \
            smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        assert client.docmd("AUTH", "LOGIN") == (504, b"5.7.4 Unrecognized authentication type")


def test_the_hanging_profiles_end_at_the_idle_timeout(outbox):
    limits = OutboxLimits(idle_timeout=1)
    # The client waits longer than the outbox's idle timeout: the outbox's 421 ends the silence
    # and reaches the client (what the client sent meanwhile was read, so no reset).
    with OutboxServer(outbox, limits=limits, faults=_rules("hang-after-greeting")) as server, \
            smtplib.SMTP(server.host, server.port, timeout=30) as client:
        code, text = client.ehlo()
        assert (code, text) == (421, b"4.4.2 localhost Error: timeout exceeded")
    with OutboxServer(outbox, limits=limits, faults=_rules("hang-at-data")) as server, \
            smtplib.SMTP(server.host, server.port, timeout=30) as client:
        assert _send(server, client) == 421
    assert outbox.list() == []


def _closed_by_peer(client: socket.socket) -> bool:
    """The other side closed (EOF, or a reset when our unread bytes were still there)."""
    try:
        return client.recv(1024) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("profile", ["hang-after-greeting", "hang-at-data"])
def test_stopping_closes_a_connection_that_hangs_instead_of_waiting_for_the_client(outbox, profile):
    """From CPython 3.12.1 on, asyncio's Server.wait_closed() (in aiosmtpd's stop) waits for
    every open connection: a silent client used to hold stop() for the whole idle timeout."""
    limits = OutboxLimits(idle_timeout=3600)  # far beyond the waits below
    server = OutboxServer(outbox, limits=limits, faults=_rules(profile))
    server.start()
    stopped = threading.Event()
    try:
        with socket.create_connection((server.host, server.port), timeout=30) as client:
            client.recv(1024)  # the greeting
            if profile == "hang-at-data":
                client.sendall(b"EHLO qa\r\nMAIL FROM:<qa@outbox.test>\r\n"
                               b"RCPT TO:<friend@example.test>\r\nDATA\r\n")
                replies = b""
                while b"354" not in replies:
                    replies += client.recv(1024)
                client.sendall(b"Subject: hang\r\n\r\nbody\r\n.\r\n")  # then silence
            stopper = threading.Thread(target=lambda: (server.stop(), stopped.set()), daemon=True)
            stopper.start()
            assert stopped.wait(30), "stop() waited for the client"
            assert _closed_by_peer(client)
    finally:
        if not stopped.is_set():  # a failure above: do not leave the server to the next test
            server.stop()
    assert outbox.list() == []


def test_a_dropped_data_stores_nothing_and_the_next_connection_is_served(outbox):
    with OutboxServer(outbox, faults=_rules("drop-during-data:next=1")) as server:
        with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)), \
                smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.sendmail("qa@outbox.test", ["friend@example.test"],
                            b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 20000)
        assert _send(server, subject="after") == 250
    assert [m.subject for m in outbox.list()] == ["after"]
    assert not list((outbox.folder / "tmp").iterdir())  # no half-written file left


def test_service_unavailable_does_not_count_as_an_open_connection(outbox):
    limits = OutboxLimits(max_connections=2, max_connections_per_client=2)
    with OutboxServer(outbox, limits=limits, faults=_rules("service-unavailable:next=5")) as server:
        for _ in range(5):
            with pytest.raises(smtplib.SMTPConnectError) as refused:
                smtplib.SMTP(server.host, server.port, timeout=10)
            assert refused.value.smtp_code == 421
        assert _send(server) == 250


@pytest.mark.parametrize(("mechanism", "initial"), [("PLAIN", True), ("PLAIN", False),
                                                   ("LOGIN", False)])
def test_credentials_read_by_an_auth_profile_are_never_logged(outbox, caplog, mechanism, initial):
    caplog.set_level(logging.DEBUG)
    with OutboxServer(outbox, faults=_rules("gmail-app-password-required")) as server, \
            smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        method = {"PLAIN": client.auth_plain, "LOGIN": client.auth_login}[mechanism]
        client.user, client.password = USER, PASSWORD
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth(mechanism, method, initial_response_ok=initial)
        assert refused.value.smtp_code == 534
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "fault gmail-app-password-required at auth" in logged
    for form in password_forms(USER, PASSWORD):
        assert form not in logged
