"""The Qt-free edit session (issue 15): what the window, the CLI and tests drive alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smtp_desktop.checks import CheckKind
from smtp_desktop.config.edit_session import SAVED, EditSession
from smtp_desktop.config.errors import SettingsChangedError
from smtp_desktop.config.model import Service, SmtpSettings

SETTINGS = SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com", port=587,
                        username="me@example.com",
                        keys=(("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true")))


def test_the_session_has_no_qt():
    import smtp_desktop.config.edit_session as module

    with open(module.__file__, encoding="utf-8") as source:
        assert "PySide6" not in source.read()


def test_a_fresh_session_is_clean_and_an_edit_makes_it_dirty(config_service):
    session = EditSession(config_service)
    session.load()
    assert not session.dirty and session.settings_state == SAVED
    session.set_draft(SETTINGS)
    assert session.dirty and session.can_save and not session.problems
    session.set_draft(SmtpSettings(enabled=True, service=Service.OWN))
    assert {p.field for p in session.problems} >= {"host", "username"}
    assert not session.can_save


def test_save_stores_the_password_and_the_state_says_so(config_service, memory_keyring):
    session = EditSession(config_service)
    session.load()
    session.set_draft(SETTINGS)
    session.set_password("pw")
    result = session.save()
    assert result.password_stored and not session.dirty and session.password == ""
    assert session.password_state.stored is True and session.password_state.secure is True
    forgotten = session.forget_job()()
    assert forgotten.removed and session.refresh_password_state().stored is False


def test_save_refuses_a_file_changed_underneath_unless_told_to_overwrite(config_service):
    first, second = EditSession(config_service), EditSession(config_service)
    first.load()
    second.load()
    second.set_draft(SETTINGS)
    second.save()
    first.set_draft(replace(SETTINGS, port=465))
    with pytest.raises(SettingsChangedError):
        first.save()
    assert first.save(overwrite=True).settings.port == 465


def test_a_check_on_unsaved_edits_uses_the_password_of_the_saved_account(config_service):
    session = EditSession(config_service)
    session.load()
    session.set_draft(SETTINGS)
    session.set_password("pw")
    session.save()
    session.set_draft(replace(SETTINGS, host="mail.example.com"))
    request = session.check_request(CheckKind.SEND_TEST, "qa@example.com")
    assert request.settings.host == "mail.example.com" and request.password is None
    assert request.password_account == "me@example.com@smtp.example.com"
    assert request.settings_state == "unsaved"


def test_an_older_keyring_answer_never_replaces_a_newer_one(config_service):
    session = EditSession(config_service)
    older, newer = session.password_state_job(), session.password_state_job()
    assert session.set_password_state(newer())
    assert not session.set_password_state(older())
