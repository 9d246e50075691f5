"""Outcome values and failed_outcome for callers (no network)."""

from __future__ import annotations

import pytest

from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.mail import ADVICE, Category, InvalidInputError, Outcome, failed_outcome
from smtp_desktop.mail.errors import TITLES

SEND_KEYS = {"ok", "category", "message", "advice", "elapsed_ms", "server", "security",
             "unused_keys", "transcript", "title"}


@pytest.mark.parametrize("category", [Category.KEYRING, Category.NOT_PROVISIONED,
                                      Category.DISABLED])
def test_failed_outcome_defaults_from_the_table(category):
    outcome = failed_outcome(category)

    assert not outcome.ok
    assert outcome.category is category
    assert (outcome.message, outcome.advice) == ADVICE[category]
    assert outcome.to_json()["category"] == category.value
    assert outcome.to_json()["title"] == TITLES[category]  # issue 15: a human title beside it
    assert set(outcome.to_json()) == SEND_KEYS


def test_failed_outcome_with_settings_and_own_words():
    settings = SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.test",
                            port=465, username="u",
                            keys=(("mail.smtp.ssl.enable", "true"), ("mail.debug", "true")))

    outcome = failed_outcome(Category.KEYRING, "The keyring is locked.", settings=settings,
                             advice="Unlock it.")

    assert outcome.message == "The keyring is locked."
    assert outcome.advice == "Unlock it."
    assert outcome.server == "smtp.example.test:465"
    assert outcome.security == "ssl"
    assert outcome.unused_keys == ("mail.debug",)


def test_send_json_has_exactly_the_contract_keys():
    outcome = Outcome(ok=True, category=None, message="250 ok", advice=None, elapsed_ms=1.5,
                      server="h:25", security="none", unused_keys=("x",), transcript=("C: QUIT",))

    data = outcome.to_json()

    assert set(data) == SEND_KEYS
    assert data["category"] is None
    assert data["unused_keys"] == ["x"] and data["transcript"] == ["C: QUIT"]


def test_ipv6_server_is_bracketed():
    outcome = failed_outcome(Category.DISABLED, settings=SmtpSettings(host="::1", port=25))

    assert outcome.server == "[::1]:25"


@pytest.mark.parametrize("lookalike", [True, 1.0])
def test_a_port_equal_to_a_valid_one_but_not_an_int_is_refused_even_after_the_valid_one(lookalike):
    from smtp_desktop.mail.options import options_from_settings

    assert options_from_settings(SmtpSettings(host="smtp.example.test", port=1)).port == 1
    with pytest.raises(InvalidInputError):
        options_from_settings(SmtpSettings(host="smtp.example.test", port=lookalike))
