"""The mail package loads its names lazily, keeping smtplib, ssl and email off the GUI thread."""

from __future__ import annotations

import subprocess
import sys

from smtp_desktop import mail


def test_every_exported_name_resolves():
    assert sorted(mail.__all__) == sorted(mail._EXPORTS)
    for name in mail.__all__:
        assert getattr(mail, name) is not None


def test_importing_the_cancel_token_does_not_load_the_network_stack():
    code = ("import sys; from smtp_desktop.mail import CancelToken; "
            "print(sorted(m for m in ('smtplib', 'ssl', 'email') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
