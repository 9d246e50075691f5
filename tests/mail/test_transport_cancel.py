"""Cancelling from another thread abandons the attempt at once, wherever it is."""

from __future__ import annotations

import logging
import threading

import pytest
from support.smtp_servers import smtp_script

from smtp_desktop.mail import CancelToken, Category, probe, send_test_email

LONG = {"mail.smtp.timeout": "60000", "mail.smtp.connectiontimeout": "60000"}
GENEROUS = 15  # seconds; far below the 60 s timeouts, far above any normal cancel


class Attempt:
    """Runs a send in a worker thread, as the window does."""

    def __init__(self, run) -> None:
        self.outcome = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(run,))
        self.thread.start()

    def _run(self, run) -> None:
        try:
            self.outcome = run()
        finally:
            self.done.set()

    def join(self) -> None:
        assert self.done.wait(GENEROUS), "cancel did not end the attempt"
        self.thread.join()


class _Seen(logging.Handler):
    def __init__(self, prefix: str) -> None:
        super().__init__(logging.DEBUG)
        self.prefix = prefix
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            self.event.set()


@pytest.fixture
def logged(caplog):
    """logged(prefix) -> an Event set once smtp_desktop logs a message starting with prefix."""
    caplog.set_level(logging.DEBUG, logger="smtp_desktop")
    logger = logging.getLogger("smtp_desktop")
    handlers: list[_Seen] = []

    def seen(prefix: str) -> threading.Event:
        handler = _Seen(prefix)
        handlers.append(handler)
        logger.addHandler(handler)
        return handler.event

    yield seen
    for handler in handlers:
        logger.removeHandler(handler)


def test_cancel_while_waiting_for_the_greeting(silent_server, logged):
    connected = logged("* connected to")
    token = CancelToken()
    attempt = Attempt(lambda: send_test_email(silent_server.settings(LONG), None, None,
                                              sender="me@example.test", cancel=token))
    assert connected.wait(GENEROUS)

    token.cancel()
    attempt.join()

    assert attempt.outcome.category is Category.CANCELLED
    assert attempt.outcome.advice
    assert any(line.startswith("* connected to") for line in attempt.outcome.transcript)


def test_cancel_while_the_connection_is_still_opening(blackhole_server, logged):
    connecting_seen = logged("connecting to")
    token = CancelToken()
    attempt = Attempt(lambda: probe(blackhole_server.settings(LONG), None, cancel=token))
    assert connecting_seen.wait(GENEROUS)

    token.cancel()
    attempt.join()

    assert attempt.outcome.category is Category.CANCELLED
    assert not any(line.startswith("* connected to") for line in attempt.outcome.transcript)


def test_cancel_during_the_tls_handshake(scripted_server_factory):
    in_handshake = threading.Event()

    def starttls_then_stall(peer, line) -> bool:
        peer.send("220 2.0.0 Ready to start TLS")
        in_handshake.set()
        peer.hold()
        return False

    server = scripted_server_factory(smtp_script(
        ehlo=("250-mx.example.test", "250 STARTTLS"), on={"STARTTLS": starttls_then_stall}))
    token = CancelToken()
    attempt = Attempt(lambda: send_test_email(
        server.settings({**LONG, "mail.smtp.starttls.enable": "true"}), None, None,
        sender="me@example.test", cancel=token))
    assert in_handshake.wait(GENEROUS)

    token.cancel()
    attempt.join()

    assert attempt.outcome.category is Category.CANCELLED


def test_cancelled_before_starting_never_connects(silent_server):
    token = CancelToken()
    token.cancel()
    token.cancel()  # idempotent

    outcome = send_test_email(silent_server.settings(LONG), None, None,
                              sender="me@example.test", cancel=token)

    assert token.cancelled
    assert outcome.category is Category.CANCELLED
    assert silent_server.connections == 0


def test_a_token_that_is_not_cancelled_changes_nothing(plain_server):
    token = CancelToken()
    outcome = send_test_email(plain_server.settings(), plain_server.password, None, cancel=token)

    assert outcome.ok, outcome
    assert not token.cancelled
