"""Every failure maps to one category with a message and advice; checked against real peers."""

from __future__ import annotations

import pytest
from support.smtp_servers import PASSWORD, USERNAME, RecordingHandler, smtp_script

from smtp_desktop.mail import APP_PASSWORD_HELP, Category, send_test_email


def sent_auth(outcome) -> bool:
    return any(line.startswith("C: AUTH") for line in outcome.transcript)


# ---------------------------------------------------------------- login


def test_wrong_password_is_an_auth_failure(starttls_auth_server, assert_no_leak):
    wrong = "not-the-password"
    outcome = send_test_email(starttls_auth_server.settings(), wrong, None)

    assert outcome.category is Category.AUTH
    assert not outcome.ok
    assert "535" in outcome.message
    assert APP_PASSWORD_HELP in outcome.advice
    assert starttls_auth_server.messages == []
    assert_no_leak(outcome, USERNAME, wrong)


def test_gmail_app_password_required(scripted_server_factory, assert_no_leak):
    server = scripted_server_factory(smtp_script(replies={"AUTH": [
        "534-5.7.9 Application-specific password required. Learn more at",
        "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor a1-2.3 - gsmtp"]}))
    outcome = send_test_email(server.settings({"mail.smtp.auth": "true"}, username=USERNAME),
                              PASSWORD, None)

    assert outcome.category is Category.AUTH
    assert "app password" in outcome.message
    assert "2-Step Verification" in outcome.advice
    assert APP_PASSWORD_HELP in outcome.advice
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_gmail_bad_credentials(scripted_server_factory, assert_no_leak):
    server = scripted_server_factory(smtp_script(replies={"AUTH": [
        "535-5.7.8 Username and Password not accepted. For more information, go to",
        "535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1-2.3 - gsmtp"]}))
    outcome = send_test_email(server.settings({"mail.smtp.auth": "true"}, username=USERNAME),
                              PASSWORD, None)

    assert outcome.category is Category.AUTH
    assert "username or password" in outcome.message
    assert "app password" in outcome.advice
    assert APP_PASSWORD_HELP in outcome.advice
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_server_demanding_a_login_that_is_not_configured(scripted_server_factory):
    server = scripted_server_factory(smtp_script(replies={"MAIL": [
        "530 5.7.0 Authentication required"]}))
    outcome = send_test_email(server.settings(), None, None, sender="me@example.test")

    assert outcome.category is Category.AUTH
    assert "mail.smtp.auth = true" in outcome.advice


def test_temporary_login_failure_is_unavailable(scripted_server_factory):
    server = scripted_server_factory(smtp_script(replies={"AUTH": [
        "454 4.7.0 Temporary authentication failure"]}))
    outcome = send_test_email(server.settings({"mail.smtp.auth": "true"}, username=USERNAME),
                              PASSWORD, None)

    assert outcome.category is Category.UNAVAILABLE
    assert "later" in outcome.advice


# ---------------------------------------------------------------- TLS set-up


def test_starttls_required_but_not_offered(plain_server, assert_no_leak):
    outcome = send_test_email(plain_server.settings({"mail.smtp.starttls.required": "true"}),
                              PASSWORD, None)

    assert outcome.category is Category.TLS
    assert "does not offer STARTTLS" in outcome.message
    assert not sent_auth(outcome), "the password must not go out unencrypted"
    assert plain_server.messages == []
    assert_no_leak(outcome, USERNAME, PASSWORD)


def test_must_issue_starttls_first(starttls_auth_server):
    settings = starttls_auth_server.settings({"mail.smtp.starttls.enable": "false",
                                              "mail.smtp.auth": "false"})
    outcome = send_test_email(settings, None, None)

    assert outcome.category is Category.TLS
    assert "530" in outcome.message
    assert "mail.smtp.starttls.enable = true" in outcome.advice
    assert starttls_auth_server.messages == []


def test_login_offered_only_after_starttls_which_is_off(starttls_auth_server):
    settings = starttls_auth_server.settings({"mail.smtp.starttls.enable": "false"})
    outcome = send_test_email(settings, PASSWORD, None)

    assert outcome.category is Category.TLS
    assert "mail.smtp.starttls.enable = true" in outcome.advice
    assert not sent_auth(outcome)


def test_implicit_tls_on_a_starttls_port(starttls_auth_server):
    outcome = send_test_email(starttls_auth_server.settings({"mail.smtp.ssl.enable": "true"}),
                              PASSWORD, None)

    assert outcome.category is Category.TLS
    assert "wrong version number" in outcome.message.lower()
    assert "mail.smtp.ssl.enable = false" in outcome.advice
    assert "587" in outcome.advice


def test_plain_client_on_an_implicit_tls_port_gets_no_greeting(implicit_tls_server):
    settings = implicit_tls_server.settings({"mail.smtp.ssl.enable": "false",
                                             "mail.smtp.timeout": "500"})
    outcome = send_test_email(settings, PASSWORD, None)

    # On port 465 this is reported as TLS; on other ports the advice names implicit TLS.
    assert outcome.category is Category.TIMEOUT
    assert "no greeting" in outcome.message
    assert "mail.smtp.ssl.enable = true" in outcome.advice


def test_no_common_tls_version(smtp_server_factory, _good_pems):
    import ssl

    server = smtp_server_factory("starttls", pems=_good_pems, max_tls=ssl.TLSVersion.TLSv1_2)
    outcome = send_test_email(server.settings({"mail.smtp.ssl.protocols": "TLSv1.3"}), PASSWORD,
                              None)

    assert outcome.category is Category.TLS
    assert "mail.smtp.ssl.protocols" in outcome.advice
    assert not sent_auth(outcome)


# ---------------------------------------------------------------- connecting


def test_greeting_timeout_is_honoured(silent_server):
    outcome = send_test_email(silent_server.settings({"mail.smtp.timeout": "500"}), None, None,
                              sender="me@example.test")

    assert outcome.category is Category.TIMEOUT
    assert "0.5 s" in outcome.message
    assert "mail.smtp.timeout" in outcome.message
    assert outcome.elapsed_ms >= 500  # it waited the configured time, not less


def test_connect_timeout_is_honoured(blackhole_server):
    outcome = send_test_email(blackhole_server.settings({"mail.smtp.connectiontimeout": "300"}),
                              None, None, sender="me@example.test")

    assert outcome.category is Category.TIMEOUT
    assert "0.3 s" in outcome.message
    assert "mail.smtp.connectiontimeout" in outcome.message
    assert outcome.elapsed_ms >= 300


def test_closed_port_is_refused(closed_port):
    outcome = send_test_email(closed_port.settings(), None, None, sender="me@example.test")

    assert outcome.category is Category.REFUSED
    assert f"127.0.0.1:{closed_port.port}" in outcome.message
    assert "587" in outcome.advice


# ---------------------------------------------------------------- peers that are not SMTP


def test_http_server_is_a_protocol_error(http_server):
    outcome = send_test_email(http_server.settings(), None, None, sender="me@example.test")

    assert outcome.category is Category.PROTOCOL
    assert "HTTP/1.1 400 Bad Request" in outcome.message
    assert "web server" in outcome.message


def test_ssh_banner_is_a_protocol_error(scripted_server_factory):
    server = scripted_server_factory(lambda peer: (peer.send("SSH-2.0-OpenSSH_9.6"), peer.hold()))
    outcome = send_test_email(server.settings(), None, None, sender="me@example.test")

    assert outcome.category is Category.PROTOCOL
    assert "SSH-2.0" in outcome.message


def test_endless_reply_is_a_protocol_error(scripted_server_factory):
    def endless_ehlo(peer, line) -> bool:
        for number in range(600):
            peer.send(f"250-FEATURE{number}")
        peer.hold()
        return False

    server = scripted_server_factory(smtp_script(on={"EHLO": endless_ehlo}))
    outcome = send_test_email(server.settings(), None, None, sender="me@example.test")

    assert outcome.category is Category.PROTOCOL
    assert "more than 500 lines" in outcome.message


def test_reply_line_without_end_is_a_protocol_error(scripted_server_factory):
    server = scripted_server_factory(lambda peer: (peer.send_raw(b"220 " + b"x" * 10000),
                                                   peer.hold()))
    outcome = send_test_email(server.settings(), None, None, sender="me@example.test")

    assert outcome.category is Category.PROTOCOL
    assert "longer than 8192 bytes" in outcome.message


# ---------------------------------------------------------------- server refusals


def test_connection_dropped_during_data(drop_during_data_server):
    outcome = send_test_email(drop_during_data_server.settings(), None, None,
                              sender="me@example.test")

    assert outcome.category is Category.CONNECTION_LOST
    assert "probably not delivered" in outcome.message


def test_421_at_greeting_is_unavailable(greeting_421_server):
    outcome = send_test_email(greeting_421_server.settings(), None, None, sender="me@example.test")

    assert outcome.category is Category.UNAVAILABLE
    assert "421 4.3.2" in outcome.message
    assert "Try again later" in outcome.advice


def test_550_on_rcpt_is_recipient_rejected(rcpt_rejecting_server):
    outcome = send_test_email(rcpt_rejecting_server.settings(), PASSWORD, "nobody@example.test")

    assert outcome.category is Category.RECIPIENT_REJECTED
    assert "User unknown" in outcome.message
    assert rcpt_rejecting_server.messages == []
    assert outcome.transcript[-3:-1] == ("C: QUIT", "S: 221 Bye")


def test_not_permitted_to_send_as_is_sender_rejected(sender_rejecting_server):
    outcome = send_test_email(sender_rejecting_server.settings(), PASSWORD, None)

    assert outcome.category is Category.SENDER_REJECTED
    assert "not permitted to send as" in outcome.message
    assert "mail.from" in outcome.advice


def test_unverified_sender_after_data_is_sender_rejected(smtp_server_factory):
    handler = RecordingHandler(data_reply="550 The from address does not match a verified "
                                          "Sender Identity. Mail cannot be sent until this "
                                          "error is resolved.")
    server = smtp_server_factory("none", handler=handler)
    outcome = send_test_email(server.settings(), PASSWORD, None)

    assert outcome.category is Category.SENDER_REJECTED
    assert "verified Sender Identity" in outcome.message


def test_other_5xx_after_data_is_rejected(smtp_server_factory):
    server = smtp_server_factory("none", handler=RecordingHandler(
        data_reply="554 5.6.0 Message rejected as spam"))
    outcome = send_test_email(server.settings(), PASSWORD, None)

    assert outcome.category is Category.REJECTED
    assert "spam" in outcome.message


def test_4xx_on_rcpt_is_unavailable(smtp_server_factory):
    server = smtp_server_factory("none", handler=RecordingHandler(
        rcpt_reply="452 4.5.3 Too many recipients, try later"))
    outcome = send_test_email(server.settings(), PASSWORD, None)

    assert outcome.category is Category.UNAVAILABLE


# ---------------------------------------------------------------- refused before connecting


CRLF_CASES = [
    pytest.param({"recipient": "to@example.test\r\nBcc: victim@example.test"}, id="recipient"),
    pytest.param({"sender": "me@example.test\r\nBcc: victim@example.test"}, id="sender"),
    pytest.param({"keys": {"mail.from": "me@example.test\r\nBcc: victim@example.test"}},
                 id="mail.from"),
    pytest.param({"keys": {"mail.smtp.from": "me@example.test>\r\nRCPT TO:<victim@example.test"}},
                 id="mail.smtp.from"),
    pytest.param({"keys": {"mail.smtp.localhost": "me\r\nMAIL FROM:<x@example.test>"}},
                 id="ehlo-name"),
    pytest.param({"username": "tester@example.test\r\nRSET"}, id="username"),
    pytest.param({"host": "127.0.0.1\r\nX"}, id="host"),
    pytest.param({"recipient": "to@example.test\nX-Injected: yes"}, id="recipient-lf"),
    pytest.param({"recipient": "to@example.test\0"}, id="recipient-nul"),
]


@pytest.mark.parametrize("case", CRLF_CASES)
def test_line_breaks_in_any_field_are_refused_before_connecting(silent_server, case):
    settings = silent_server.settings(case.get("keys"), username=case.get("username", ""))
    if "host" in case:
        settings = settings.with_changes(host=case["host"])
    outcome = send_test_email(settings, None, case.get("recipient"),
                              sender=case.get("sender", "me@example.test"))

    assert outcome.category is Category.INVALID_INPUT
    assert outcome.advice
    assert "\r" not in outcome.message and "\n" not in outcome.message
    assert not any(line.startswith("* connecting") for line in outcome.transcript)
    assert silent_server.connections == 0


def test_missing_from_address_is_invalid_input(silent_server):
    outcome = send_test_email(silent_server.settings(username="not-an-address"), None, None)

    assert outcome.category is Category.INVALID_INPUT
    assert "From address" in outcome.message
    assert "mail.from" in outcome.advice
    assert silent_server.connections == 0


def test_auth_without_password_is_invalid_input(silent_server):
    settings = silent_server.settings({"mail.smtp.auth": "true"}, username=USERNAME)
    outcome = send_test_email(settings, None, None)

    assert outcome.category is Category.INVALID_INPUT
    assert "password" in outcome.message
    assert silent_server.connections == 0


def test_invalid_timeout_value_is_invalid_input(silent_server):
    outcome = send_test_email(silent_server.settings({"mail.smtp.timeout": "soon"}), None, None,
                              sender="me@example.test")

    assert outcome.category is Category.INVALID_INPUT
    assert "mail.smtp.timeout" in outcome.message


def test_write_timeout_when_the_server_stops_reading(scripted_server_factory):
    from email.message import EmailMessage

    from smtp_desktop.mail import send_message

    def stall_after_354(peer, line) -> bool:
        peer.send("354 End data with <CR><LF>.<CR><LF>")
        peer.stall()
        return False

    server = scripted_server_factory(smtp_script(on={"DATA": stall_after_354}))
    message = EmailMessage()
    message["From"] = "me@example.test"
    message["To"] = "to@example.test"
    message["Subject"] = "large"
    # More than loopback socket buffers hold, so writes block once the server stops reading.
    message.set_content(("x" * 76 + "\n") * 400_000, cte="7bit")

    outcome = send_message(server.settings({"mail.smtp.writetimeout": "300"}), None, message)

    assert outcome.category is Category.TIMEOUT
    assert "mail.smtp.writetimeout" in outcome.message
    assert "0.3 s" in outcome.message
