"""mail.smtp.timeout bounds a whole reply: a peer dripping lines cannot stretch an attempt."""

from __future__ import annotations

from smtp_desktop.mail import Category, send_test_email


def dripping_greeting(peer) -> None:
    """A '220-' continuation line every 200 ms, forever (until the client leaves)."""
    try:
        while not peer.stopping.wait(0.2):
            peer.send("220-still greeting you")
    except OSError:
        return


def test_a_reply_dripping_continuation_lines_ends_at_the_timeout(scripted_server_factory):
    server = scripted_server_factory(dripping_greeting)
    # Each line arrives well within the 1 s timeout; only a whole-reply deadline ends this
    # before the 200-line limit (40 s away) would.
    settings = server.settings({"mail.smtp.timeout": "1000", "mail.from": "qa@example.test"})
    outcome = send_test_email(settings, None, "qa@example.test")
    assert outcome.category is Category.TIMEOUT, outcome.message
    greeting_lines = [line for line in outcome.transcript if line.startswith("S: 220-")]
    assert 1 <= len(greeting_lines) < 50


def greeting_one_byte_at_a_time(peer) -> None:
    """'220 ' then one byte every 200 ms: a single line that never ends within the timeout.

    After 40 bytes (8 s) the line is completed, so a client that waits per read instead of per
    reply would go on to a normal session instead of timing out.
    """
    peer.bytes_sent = 0
    try:
        for byte in b"220 " + b"x" * 40:
            if peer.stopping.wait(0.2):
                return
            peer.send_raw(bytes([byte]))
            peer.bytes_sent += 1
        peer.send_raw(b"\r\n")
        peer.hold()
    except OSError:
        return


def test_a_line_dripping_one_byte_at_a_time_ends_at_the_timeout(scripted_server_factory):
    peers = []

    def script(peer) -> None:
        peers.append(peer)
        greeting_one_byte_at_a_time(peer)

    server = scripted_server_factory(script)
    settings = server.settings({"mail.smtp.timeout": "1000", "mail.from": "qa@example.test"})
    outcome = send_test_email(settings, None, "qa@example.test")

    assert outcome.category is Category.TIMEOUT, outcome.message
    assert peers and peers[0].bytes_sent < 40  # the client left before the line was complete
