"""Mail that goes through: real aiosmtpd servers, checking what arrived and the transcript."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

import pytest
from support.smtp_servers import PASSWORD, USERNAME, smtp_script

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.mail import Category, send_message, send_test_email


def client_lines(outcome) -> list[str]:
    return [line for line in outcome.transcript if line.startswith("C: ")]


def test_test_email_over_starttls_arrives_with_headers_and_body(starttls_auth_server, assert_no_leak):
    server = starttls_auth_server
    outcome = send_test_email(server.settings(), server.password, "friend@example.test")

    assert outcome.ok, outcome
    assert outcome.category is None and outcome.advice is None
    assert outcome.message.startswith("250 2.0.0 Ok: queued as TEST1")
    assert outcome.security == "starttls"
    assert outcome.server == f"127.0.0.1:{server.port}"
    [received] = server.received
    message = received.message
    assert message["Subject"] == "smtp-desktop test email"
    assert message["From"] == USERNAME
    assert message["To"] == "friend@example.test"
    assert message["Message-ID"].endswith("@example.test>")
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    body = message.get_content()
    assert f"Server:   127.0.0.1:{server.port}" in body
    assert "Security: STARTTLS" in body
    assert f"User:     {USERNAME}" in body
    assert f"Sent:     {email.utils.format_datetime(sent_at)}" in body
    assert received.mail_from == USERNAME
    assert received.rcpt_tos == ("friend@example.test",)
    assert received.authenticated
    assert "* certificate verified" in outcome.transcript
    assert any(line.startswith("* TLS TLSv1.") for line in outcome.transcript)
    assert outcome.transcript[-1].startswith("* elapsed ")
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_recipient_defaults_to_the_from_address(starttls_auth_server):
    outcome = send_test_email(starttls_auth_server.settings(), PASSWORD, None)

    assert outcome.ok, outcome
    [received] = starttls_auth_server.received
    assert received.message["To"] == USERNAME
    assert received.rcpt_tos == (USERNAME,)


def test_login_payloads_are_redacted_for_login(starttls_auth_server, assert_no_leak):
    settings = starttls_auth_server.settings({"mail.smtp.auth.mechanisms": "LOGIN"})
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    lines = client_lines(outcome)
    start = lines.index("C: AUTH LOGIN")
    assert lines[start + 1:start + 3] == ["C: <redacted>", "C: <redacted>"]
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_login_payloads_are_redacted_for_plain(starttls_auth_server, assert_no_leak):
    settings = starttls_auth_server.settings({"mail.smtp.auth.mechanisms": "PLAIN LOGIN"})
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    assert "C: AUTH PLAIN <redacted>" in client_lines(outcome)
    assert "C: AUTH LOGIN" not in client_lines(outcome)
    assert starttls_auth_server.received[0].authenticated
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_login_disable_falls_back_to_plain(starttls_auth_server):
    settings = starttls_auth_server.settings({"mail.smtp.auth.login.disable": "true"})
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    assert "C: AUTH PLAIN <redacted>" in client_lines(outcome)


def test_disabling_both_mechanisms_leaves_nothing_to_log_in_with(starttls_auth_server):
    settings = starttls_auth_server.settings({"mail.smtp.auth.login.disable": "true",
                                              "mail.smtp.auth.plain.disable": "true"})
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.category is Category.AUTH
    assert "mail.smtp.auth.mechanisms" in outcome.advice
    assert not any(line.startswith("C: AUTH") for line in outcome.transcript)
    assert starttls_auth_server.messages == []


def test_implicit_tls(implicit_tls_server, assert_no_leak):
    outcome = send_test_email(implicit_tls_server.settings(), PASSWORD, None)

    assert outcome.ok, outcome
    assert outcome.security == "ssl"
    assert "STARTTLS" not in "\n".join(client_lines(outcome))
    assert "Security: SSL/TLS (implicit)" in implicit_tls_server.messages[0].get_content()
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_no_tls_when_starttls_is_turned_off(plain_server, assert_no_leak):
    outcome = send_test_email(plain_server.settings(), PASSWORD, None)

    assert outcome.ok, outcome
    assert outcome.security == "none"
    assert plain_server.received[0].authenticated
    assert "* logging in over an unencrypted connection (loopback)" in outcome.transcript
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_starttls_is_used_by_default_when_offered(starttls_auth_server):
    settings = starttls_auth_server.settings().with_changes(keys=(("mail.smtp.auth", "true"),))
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    assert outcome.security == "starttls"
    assert "C: STARTTLS" in client_lines(outcome)


def test_without_starttls_offered_and_not_required_mail_goes_unencrypted(plain_server):
    settings = plain_server.settings().with_changes(keys=(("mail.smtp.auth", "true"),))
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    assert outcome.security == "none"
    assert "* the server does not offer STARTTLS; continuing without encryption" \
        in outcome.transcript


def test_header_from_and_envelope_sender_keys(plain_server):
    settings = plain_server.settings({"mail.from": "Sender Name <sender@example.test>",
                                      "mail.smtp.from": "bounces@example.test"})
    outcome = send_test_email(settings, PASSWORD, "to@example.test")

    assert outcome.ok, outcome
    [received] = plain_server.received
    assert received.message["From"] == "Sender Name <sender@example.test>"
    assert received.mail_from == "bounces@example.test"
    assert "C: MAIL FROM:<bounces@example.test>" in client_lines(outcome)


def test_sender_argument_is_the_from_address_of_last_resort(plain_server):
    settings = plain_server.settings({"mail.smtp.auth": "false"}, username="")
    outcome = send_test_email(settings, None, None, sender="app@example.test")

    assert outcome.ok, outcome
    [received] = plain_server.received
    assert received.message["From"] == "app@example.test"
    assert received.message["To"] == "app@example.test"
    assert "User:     (no login)" in received.message.get_content()
    assert not received.authenticated


def test_ehlo_name_key(plain_server):
    outcome = send_test_email(plain_server.settings({"mail.smtp.localhost": "client.example.test"}),
                              PASSWORD, None)

    assert outcome.ok, outcome
    assert plain_server.received[0].ehlo_name == "client.example.test"
    assert "C: EHLO client.example.test" in client_lines(outcome)


def test_local_address_binds_the_connection(plain_server):
    outcome = send_test_email(plain_server.settings({"mail.smtp.localaddress": "127.0.0.1"}),
                              PASSWORD, None)

    assert outcome.ok, outcome


def test_local_address_of_the_other_family_is_a_network_problem(plain_server):
    outcome = send_test_email(plain_server.settings({"mail.smtp.localaddress": "::1"}), PASSWORD,
                              None)

    assert outcome.category is Category.NETWORK
    assert "mail.smtp.localaddress" in outcome.message
    assert plain_server.messages == []


def test_host_name_is_looked_up(starttls_auth_server):
    # "localhost" goes through the resolver; the local address keeps it on 127.0.0.1.
    settings = starttls_auth_server.settings({"mail.smtp.localaddress": "127.0.0.1"}).with_changes(
        host="localhost")
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    assert f"* connected to 127.0.0.1:{starttls_auth_server.port}" in outcome.transcript
    assert outcome.server == f"localhost:{starttls_auth_server.port}"


def test_unused_keys_are_listed_and_not_fatal(plain_server):
    settings = plain_server.settings({"mail.smtp.ehlo": "true", "x.custom.key": "1",
                                      "mail.smtp.quitwait": "false"})
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    assert outcome.unused_keys == ("mail.smtp.ehlo", "x.custom.key", "mail.smtp.quitwait")
    assert outcome.to_json()["unused_keys"] == list(outcome.unused_keys)


def test_tls_protocols_key_limits_the_version(starttls_auth_server):
    outcome = send_test_email(starttls_auth_server.settings({"mail.smtp.ssl.protocols": "TLSv1.2"}),
                              PASSWORD, None)

    assert outcome.ok, outcome
    assert any(line.startswith("* TLS TLSv1.2,") for line in outcome.transcript)


def test_send_message_takes_recipients_from_to_cc_and_bcc(plain_server):
    message = EmailMessage()
    message["From"] = "Me <me@example.test>"
    message["To"] = "a@example.test, B <b@example.test>"
    message["Cc"] = "c@example.test"
    message["Bcc"] = "hidden@example.test"
    message["Subject"] = "hello"
    message.set_content("first line\n.a line starting with a dot\n.\nlast line\n")

    outcome = send_message(plain_server.settings(), PASSWORD, message)

    assert outcome.ok, outcome
    [received] = plain_server.received
    assert received.rcpt_tos == ("a@example.test", "b@example.test", "c@example.test",
                                 "hidden@example.test")
    assert received.mail_from == "me@example.test"
    assert "Bcc" not in received.message
    # Dot-stuffing is undone by the server: lines starting with "." arrive unchanged.
    assert received.message.get_content().replace("\r\n", "\n") == message.get_content()


def test_send_message_with_explicit_envelope(plain_server):
    message = EmailMessage()
    message["From"] = "me@example.test"
    message["To"] = "listed@example.test"
    message["Subject"] = "explicit envelope"
    message.set_content("body\n")

    outcome = send_message(plain_server.settings(), PASSWORD, message,
                           envelope_from="bounce@example.test",
                           recipients=["actual@example.test"])

    assert outcome.ok, outcome
    [received] = plain_server.received
    assert received.mail_from == "bounce@example.test"
    assert received.rcpt_tos == ("actual@example.test",)


def test_default_service_settings_use_the_same_transport(plain_server):
    from smtp_desktop.config.model import DefaultService

    service = DefaultService(host=plain_server.host, port=plain_server.port, username=USERNAME,
                             sender="noreply@example.test",
                             keys=(("mail.smtp.auth", "true"),
                                   ("mail.smtp.starttls.enable", "false")))
    outcome = send_test_email(service.as_settings(), PASSWORD, "to@example.test",
                              sender=service.sender)

    assert outcome.ok, outcome
    # The username is an address, so it wins over the sender argument.
    assert plain_server.received[0].message["From"] == USERNAME


@pytest.mark.parametrize("password", ["short", "пароль-ünï", "with spaces and \"quotes\""])
def test_any_password_is_sent_correctly_and_never_shown(smtp_server_factory, password,
                                                        assert_no_leak):
    server = smtp_server_factory("none", password=password)
    outcome = send_test_email(server.settings(), password, None)

    assert outcome.ok, outcome
    assert_no_leak(outcome, USERNAME, password)


def test_unsaved_settings_are_accepted_as_is(plain_server):
    settings = SmtpSettings(enabled=False, service=Service.TESTSIGMA, host=plain_server.host,
                            port=plain_server.port, username="",
                            keys=(("mail.smtp.starttls.enable", "false"),))
    outcome = send_test_email(settings, None, None, sender="me@example.test")

    assert outcome.ok, outcome


def test_cram_md5_login(scripted_server_factory):
    import base64
    import hmac

    challenge = b"<1896.697170952@mx.example.test>"
    verdicts: list[bool] = []

    def cram(peer, line) -> bool:
        assert line == "AUTH CRAM-MD5"
        peer.send("334 " + base64.b64encode(challenge).decode())
        user, _, digest = base64.b64decode(peer.read_line()).decode().rpartition(" ")
        expected = hmac.new(PASSWORD.encode(), challenge, "md5").hexdigest()
        verdicts.append(user == USERNAME and digest == expected)
        peer.send("235 2.7.0 Accepted" if verdicts[-1] else "535 5.7.8 Bad digest")
        return True

    server = scripted_server_factory(smtp_script(
        ehlo=("250-mx.example.test", "250 AUTH CRAM-MD5"), on={"AUTH": cram}))
    settings = server.settings({"mail.smtp.auth": "true",
                                "mail.smtp.auth.mechanisms": "CRAM-MD5"}, username=USERNAME)
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.ok, outcome
    assert verdicts == [True]
    assert "C: <redacted>" in client_lines(outcome)


def test_a_server_echoing_the_login_cannot_leak_it(scripted_server_factory, assert_no_leak):
    def echo(peer, line) -> bool:
        peer.send(f"535-5.7.8 you sent: {line}", f"535 5.7.8 password {PASSWORD} is wrong")
        return True

    server = scripted_server_factory(smtp_script(on={"AUTH": echo}))
    settings = server.settings({"mail.smtp.auth": "true", "mail.smtp.auth.mechanisms": "PLAIN"},
                               username=USERNAME)
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.category is Category.AUTH
    assert "S: 535 5.7.8 password <redacted> is wrong" in outcome.transcript
    assert_no_leak(outcome, USERNAME, PASSWORD)


def _parsed(raw: bytes) -> EmailMessage:
    import email
    import email.policy

    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_a_parsed_message_with_folded_headers_is_sent_as_it_was_folded(plain_server):
    message = _parsed(b"From: A Rather Long Display Name\r\n <me@example.test>\r\n"
                      b"To: a@example.test,\r\n b@example.test\r\n"
                      b"Cc: =?utf-8?q?J=C3=B6rg?= <c@example.test>\r\n"
                      b"Subject: folded\r\n\r\nbody\r\n")

    outcome = send_message(plain_server.settings(), PASSWORD, message)

    assert outcome.ok, outcome
    [received] = plain_server.received
    assert received.mail_from == "me@example.test"
    assert received.rcpt_tos == ("a@example.test", "b@example.test", "c@example.test")
    assert str(received.message["Cc"]) == "Jörg <c@example.test>"


@pytest.mark.parametrize("make", [
    # An encoded word can carry CR LF; a long header is refolded and writes it out literally.
    lambda: _parsed(b"From: me@example.test\r\nTo: a@example.test\r\nSubject: =?utf-8?q?"
                    + b"x" * 60 + b"?= =?utf-8?q?=0D=0ABcc=3A_victim=40example=2Etest?=\r\n\r\nb\r\n"),
    lambda: _raw_header("Subject", "hello\r\nBcc: victim@example.test"),
    lambda: _raw_header("Subject", "hello\u2028Bcc: victim@example.test"),  # a line break too
    lambda: _raw_header("X-Note", "hello\r\n\r\nbody injected"),
], ids=["encoded-crlf", "raw-crlf", "raw-unicode-line-separator", "raw-blank-line"])
def test_a_header_that_would_start_a_new_line_is_refused_before_connecting(plain_server, make):
    outcome = send_message(plain_server.settings(), PASSWORD, make())

    assert outcome.category is Category.INVALID_INPUT, outcome
    assert "line break" in outcome.message
    assert plain_server.received == []
    assert not any(line.startswith(("C: ", "S: ")) for line in outcome.transcript)


@pytest.mark.parametrize("to", [
    "=?utf-8?q?evil=40x.test?=, good@example.test",  # an encoded word is not an address
    "=?@",  # junk the email package's parser fails on
])
def test_addresses_hidden_in_encoded_words_or_junk_are_refused_as_invalid_input(plain_server, to):
    message = _parsed(b"From: me@example.test\r\nTo: " + to.encode() + b"\r\nSubject: s\r\n\r\nb\r\n")

    outcome = send_message(plain_server.settings(), PASSWORD, message)

    assert outcome.category is Category.INVALID_INPUT, outcome
    assert plain_server.received == []


def _raw_header(name: str, value: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "me@example.test"
    message["To"] = "a@example.test"
    message.set_raw(name, value)
    message.set_content("body\n")
    return message
