"""Provider replies recognized by their text, as real servers send them (not only as the
outbox's fault profiles play them): each names the provider's fix."""

from __future__ import annotations

import json

import pytest

from smtp_desktop.mail import Category
from smtp_desktop.mail.diagnosis import Context, reply_failure
from smtp_desktop.resource_files import resource_path

CTX = Context(host="smtp.example.test", port=587)


def _lines(*lines: str) -> tuple[int, str]:
    """What smtplib hands over for a (multi-line) reply: the code, the texts joined by newlines."""
    return int(lines[0][:3]), "\n".join(line[4:] for line in lines)


@pytest.mark.parametrize(("phase", "wire", "category", "advice_parts"), [
    # Gmail, with the session id and gsmtp tail a real server adds.
    ("auth", ("534-5.7.9 Application-specific password required. For more information, go to",
              "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor "
              "d9443c01a7336-21c1d2e3f4g5h.6 - gsmtp"),
     Category.AUTH, ("app password", "OAuth2")),
    ("auth", ("535-5.7.8 Username and Password not accepted. Learn more at",
              "535 5.7.8  https://support.google.com/mail/?p=BadCredentials "
              "lf4-20020a170902fb4400b0019b4ee071ddsm4794plb.2999 - gsmtp"),
     Category.AUTH, ("app password",)),
    # Microsoft 365 as it answers with the bracketed front-end server name.
    ("auth", ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
              "the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. "
              "[AM0PR10CA0001.EURPRD10.PROD.OUTLOOK.COM 2026-12-01T10:00:00.000Z 08DD00000000]",),
     Category.AUTH, ("tenant administrator must allow SMTP AUTH", "OAuth2")),
    ("auth", ("535 5.7.139 Authentication unsuccessful, user is locked by your organization's "
              "security defaults policy. Contact your administrator. [DM6PR.prod.outlook.com]",),
     Category.AUTH, ("security defaults", "OAuth2")),
    ("auth", ("550 5.7.30 Basic authentication is not supported for Client Submission.",),
     Category.AUTH, ("OAuth2",)),
    ("auth", ("504 5.7.4 Unrecognized authentication type [BN9PR03CA0001.namprd03.prod.outlook.com]",),
     Category.AUTH, ("mail.smtp.auth.mechanisms",)),
    ("mail", ("530 5.7.0 Must issue a STARTTLS command first. a1sm123 - gsmtp",),
     Category.TLS, ("mail.smtp.starttls.enable = true",)),
    # Postfix with postgrey: the greylisting text comes in the RCPT reply.
    ("rcpt", ("450 4.2.0 <friend@example.test>: Recipient address rejected: Greylisted, see "
              "http://postgrey.schweikert.ch/help/example.test.html",),
     Category.UNAVAILABLE, ("few minutes",)),
    ("rcpt", ("451 4.7.1 Greylisting in action, please come back later",),
     Category.UNAVAILABLE, ("few minutes",)),
    ("rcpt", ("550-5.1.1 The email account that you tried to reach does not exist. Please try",
              "550-5.1.1 double-checking the recipient's email address for typos or",
              "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser "
              "a1si2 - gsmtp"),
     Category.RECIPIENT_REJECTED, ("typos", "deleted")),
    ("mail", ("550 5.7.60 SMTP; Client does not have permissions to send as this sender",),
     Category.SENDER_REJECTED, ("mail.from", "permission to send as")),
    ("message", ("552-5.3.4 Your message exceeded Google's message size limits. Please visit",
                 "552-5.3.4  https://support.google.com/mail/?p=MaxSizeError to view our size",
                 "552 5.3.4 guidelines. 5614622812f47-3eb - gsmtp"),
     Category.REJECTED, ("smaller", "attachments")),
    ("greeting", ("421 4.3.2 Service not available, closing transmission channel",),
     Category.UNAVAILABLE, ("later",)),
    ("mail", ("421-4.7.0 [192.0.2.1] Our system has detected an unusual rate of",
              "421-4.7.0 unsolicited mail originating from your IP address. To protect our",
              "421 4.7.0 users from spam, mail sent from your IP address has been temporarily "
              "rate limited. - gsmtp"),
     Category.UNAVAILABLE, ("fewer messages", "sending limits")),
])
def test_real_provider_replies_are_recognized(phase, wire, category, advice_parts):
    code, text = _lines(*wire)
    result = reply_failure(CTX, phase, code, text)

    assert result.category is category, result.message
    assert str(code) in result.message
    for part in advice_parts:
        assert part in result.advice


def test_every_profile_reply_gets_its_table_category_and_specific_advice():
    """The same rules hold for the outbox's own profiles: one diagnosis for both."""
    phases = {"auth": "auth", "mail": "mail", "rcpt": "rcpt", "data": "message",
              "greeting": "greeting"}
    profiles = json.loads(resource_path("faults.json").read_text("utf-8"))["profiles"]
    generic = "Read the server's reply"
    for profile in profiles:
        if not profile["reply"]:
            continue
        code, text = _lines(*profile["reply"])
        result = reply_failure(CTX, phases[profile["stage"]], code, text)
        assert result.category.value == profile["category"], profile["id"]
        assert generic not in result.advice, profile["id"]


def test_a_mailbox_full_552_is_not_called_too_big():
    result = reply_failure(CTX, "message", 552, "5.2.2 The email account that you tried to reach "
                                                "is over quota.")
    assert result.category is Category.REJECTED
    assert "smaller" not in result.advice
