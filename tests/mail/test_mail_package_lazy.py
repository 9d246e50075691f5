"""The mail package loads its names lazily, keeping smtplib, ssl and email off the GUI thread."""

from __future__ import annotations

from support.fresh_python import run_python

from smtp_desktop import mail


def test_every_exported_name_resolves():
    assert sorted(mail.__all__) == sorted(mail._EXPORTS)
    for name in mail.__all__:
        assert getattr(mail, name) is not None


def test_importing_the_cancel_token_does_not_load_the_network_stack():
    code = ("import sys; from smtp_desktop.mail import CancelToken; "
            "print(sorted(m for m in ('smtplib', 'ssl', 'email') if m in sys.modules))")
    result = run_python(code)
    assert result.stdout.strip() == "[]"


def test_warm_up_prepares_the_context_a_default_connection_uses(monkeypatch, tmp_path):
    from smtp_desktop.config.model import SmtpSettings
    from smtp_desktop.mail import session, tls
    from smtp_desktop.mail.cancel import CancelToken
    from smtp_desktop.mail.options import options_from_settings
    from smtp_desktop.mail.transcript import Transcript

    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "a-fresh-cache-key.pem"))
    before = tls._tls_context.cache_info()

    mail.warm_up()
    prepared = tls._tls_context.cache_info()
    client = session.Client(options_from_settings(SmtpSettings(host="smtp.example.test")),
                            CancelToken(), Transcript())
    context = client.tls_context()

    assert prepared.misses == before.misses + 1  # the warm-up built it...
    assert tls._tls_context.cache_info().hits == prepared.hits + 1  # ...the client reused it
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname


def test_checks_warm_up_loads_what_a_first_check_needs_and_importing_does_not():
    code = ("import sys; from smtp_desktop import checks; "
            "wanted = ('smtplib', 'ssl', 'email.generator', 'filelock'); "
            "before = [m for m in wanted if m in sys.modules]; checks.warm_up(); "
            "print(before, [m for m in wanted if m not in sys.modules])")
    result = run_python(code)
    assert result.stdout.strip() == "[] []"
