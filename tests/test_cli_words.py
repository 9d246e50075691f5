"""Issue 15: the command line's words: failure titles, advice about the CLI, tables, yes/no."""

from __future__ import annotations

import json

import pytest

from smtp_desktop.mail import Category
from smtp_desktop.mail.diagnosis import failure
from smtp_desktop.mail.errors import TITLES

pytestmark = pytest.mark.usefixtures("ring")  # the shared `cli` with an in-memory keyring


def own(tmp_path, settings) -> str:
    keys = dict(settings.keys)
    document = {"version": 1, "enabled": True, "service": "own",
                "own": {"host": settings.host, "port": settings.port,
                        "username": settings.username, "keys": keys}}
    path = tmp_path / "in.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_every_category_has_a_title_and_the_readme_lists_it():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert set(TITLES) == set(Category)
    for category, title in TITLES.items():
        assert f"| `{category.value}` | {title} |" in readme


def test_a_failure_prints_its_title_and_slug_and_advice_about_the_cli(cli):
    code, _, err = cli("send-test", "--to", "qa@example.com")
    assert code == 3
    assert "FAILED: SMTP is off [disabled]" in err
    assert '"enabled": true' in err and "toggle" not in err and "settings, save" not in err


def test_json_keeps_the_slug_and_gains_the_title(cli):
    _code, out, _ = cli("probe", "--json")
    document = json.loads(out)
    assert (document["category"], document["title"]) == ("disabled", "SMTP is off")


def test_a_missing_password_is_advised_through_password_stdin(cli, tmp_path, plain_server):
    cli("import", own(tmp_path, plain_server.settings()))
    code, out, _ = cli("send-test", "--to", "qa@example.com", "--json")
    assert code == 2
    advice = json.loads(out)["advice"]
    assert "--password-stdin" in advice and "Enter the password" not in advice


def test_presets_print_a_table_with_a_header(cli):
    code, out, _ = cli("presets")
    assert code == 0
    header, first = out.splitlines()[:2]
    assert header.split() == ["ID", "NAME", "SERVER", "LOGIN", "REGIONS"]
    assert first.split()[0] != "ID"


def test_probe_says_yes_or_no_not_true(cli, tmp_path, plain_server):
    cli("import", own(tmp_path, plain_server.settings()), "--password-stdin",
        stdin=plain_server.password)
    code, out, err = cli("probe")
    assert code == 0, err
    assert "Login: yes" in out and "True" not in out


def test_a_server_reply_ending_in_a_period_gives_one_period():
    error = failure(Category.AUTH, "The server did not accept the login: 535 Authentication "
                                   "failed..")
    assert error.message.endswith("Authentication failed.")
    assert failure(Category.AUTH, "Wait...").message == "Wait..."
