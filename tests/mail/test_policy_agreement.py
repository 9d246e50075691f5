"""Issue 11, section 3: the security summary and the transport agree, for generated settings.

The summary (what the window says before connecting) is compared with what the transport
really does: the TLS mode it will use, the TLS context it really builds (verification and
host-name check), and whether it really refuses a login over an unencrypted connection to a
loopback and to a remote peer (`Client.refuse_unencrypted_login`, called before any AUTH).
"""

from __future__ import annotations

import ssl

from hypothesis import example, given, settings
from hypothesis import strategies as st

from smtp_desktop.config.consistency import security_summary
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.mail import session
from smtp_desktop.mail.cancel import CancelToken
from smtp_desktop.mail.errors import Category, SessionError
from smtp_desktop.mail.options import options_from_settings
from smtp_desktop.mail.transcript import Transcript

_FLAG = st.sampled_from([None, "true", "false", "TRUE"])
_HOSTS = st.sampled_from([
    "smtp.example.com", "smtp.example.com.", "SMTP.Example.COM", "Smtp.Example.Com.",
    "mail.example.org", "127.0.0.1", "10.0.0.5", "::1", "::ffff:127.0.0.1", "localhost",
    "127.example.com"])
_TRUST = st.sampled_from([
    None, "", "*", "smtp.example.com", "smtp.example.com.", "SMTP.EXAMPLE.COM", "example.com",
    "other.example.com smtp.example.com.", "mail.example.org", "127.0.0.1"])


@st.composite
def generated_settings(draw) -> SmtpSettings:
    keys: dict[str, str] = {}
    for name in ("mail.smtp.auth", "mail.smtp.ssl.enable", "mail.smtp.starttls.enable",
                 "mail.smtp.starttls.required", "mail.smtp.ssl.checkserveridentity",
                 "smtp-desktop.allow-unencrypted-login"):
        value = draw(_FLAG)
        if value is not None:
            keys[name] = value
    trust = draw(_TRUST)
    if trust is not None:
        keys["mail.smtp.ssl.trust"] = trust
    return SmtpSettings(enabled=True, service=Service.OWN, host=draw(_HOSTS),
                        port=draw(st.sampled_from([25, 465, 587, 2525])),
                        username="me@example.com", keys=tuple(keys.items()))


def _client(settings_: SmtpSettings) -> session.Client:
    return session.Client(options_from_settings(settings_), CancelToken(), Transcript())


_TRAILING_DOT_TRUST = SmtpSettings(
    enabled=True, service=Service.OWN, host="smtp.example.com.", port=587, username="me@example.com",
    keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true"),
          ("mail.smtp.ssl.trust", "smtp.example.com")))


@settings(max_examples=400, deadline=None)
@given(settings_=generated_settings())
@example(settings_=_TRAILING_DOT_TRUST)  # the finding: verified in words, not in deed
def test_the_summary_says_the_tls_mode_and_verification_the_transport_uses(settings_):
    summary = security_summary(settings_, password_in_keyring=True)
    opts = options_from_settings(settings_)
    port = settings_.port
    if opts.implicit_tls:
        assert summary.startswith(f"Implicit TLS on {port},"), summary
    elif opts.starttls_required:
        assert summary.startswith(f"STARTTLS on {port},"), summary
    elif opts.starttls:
        assert summary.startswith(f"STARTTLS on {port} if "), summary
    else:
        assert summary.startswith(f"Not encrypted: port {port} "), summary
        assert "certificate" not in summary
        return

    context = _client(settings_).tls_context()  # the context the transport wraps sockets with
    verified = context.verify_mode == ssl.CERT_REQUIRED
    if "certificate trusted without verification" in summary:
        assert not verified and not context.check_hostname, summary
    elif "certificate not checked against the host name" in summary:
        assert verified and not context.check_hostname, summary
    else:
        assert "certificate verified" in summary
        assert verified and context.check_hostname, summary


def _refused(settings_: SmtpSettings, peer: str) -> bool:
    """Whether the transport refuses to log in over an unencrypted connection to `peer`."""
    client = _client(settings_)
    client.peer_address = peer
    try:
        client.refuse_unencrypted_login()
    except SessionError as exc:
        assert exc.category is Category.TLS
        assert "so the password was not sent" in exc.message
        return True
    return False


@settings(max_examples=400, deadline=None)
@given(settings_=generated_settings())
def test_the_summary_says_what_the_transport_does_with_the_password(settings_):
    summary = security_summary(settings_, password_in_keyring=True)
    opts = options_from_settings(settings_)
    if not opts.auth:
        assert summary.endswith("no login")
        return
    remote = _refused(settings_, "10.0.0.5")
    loopback = _refused(settings_, "127.0.0.1") or _refused(settings_, "::ffff:127.0.0.1")
    assert not loopback  # this computer is always fine
    if opts.implicit_tls or opts.starttls_required:
        # Encrypted before any login, or failed: the refusal never comes into play.
        assert "unencrypted" not in summary, summary
    elif "never sent unencrypted: the login is refused" in summary:
        assert remote, summary
        # A name: the summary cannot know the address yet, so it names both cases.
        assert ("unless the server is on this computer" in summary) is (opts.host_loopback is None)
    elif "sent unencrypted" in summary:
        assert not remote and opts.allow_unencrypted_login, summary
    else:  # nothing said: the host is spelled as loopback, and loopback is allowed
        assert opts.host_loopback is True, summary
