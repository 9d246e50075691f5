"""resources/faults.json: its shape is checked at load, every entry names its source and date;
`outbox serve --fault` takes the rules (bad ones are usage errors, exit 2, no traceback)."""

from __future__ import annotations

import argparse
import copy
import json
import queue
import smtplib
import sys
import threading

import pytest
from support.cli_harness import run_module

from smtp_desktop.cli import outbox as cli_outbox
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.outbox.faults import (
    FaultRuleError,
    FaultsFileError,
    Stage,
    load_catalogue,
    parse_catalogue,
    parse_rule,
    parse_trigger,
)
from smtp_desktop.resource_files import resource_path

WAIT = 60


@pytest.fixture(scope="module")
def data() -> dict:
    return json.loads(resource_path("faults.json").read_text("utf-8"))


def test_every_profile_has_a_source_or_says_why_not_and_a_date(data):
    catalogue = load_catalogue()
    assert len(catalogue) == len(data["profiles"]) == 14
    for profile in catalogue.values():
        assert profile.source is None or profile.source.startswith("https://")
        assert profile.source or profile.note, profile.id
        assert profile.confirmed[:4].isdigit()
        if profile.reply:
            assert profile.wire.split("\r\n")[-1][3] == " "
    # The AUTH-stage profiles are the ones the issue lists for the AUTH stage.
    assert {p.id for p in catalogue.values() if p.stage is Stage.AUTH} == {
        "gmail-app-password-required", "gmail-bad-credentials", "m365-smtp-auth-disabled",
        "auth-mechanism-unsupported"}


def _broken(data: dict, index: int, **changes) -> dict:
    broken = copy.deepcopy(data)
    for name, value in changes.items():
        if value is KeyError:
            del broken["profiles"][index][name]
        else:
            broken["profiles"][index][name] = value
    return broken


@pytest.mark.parametrize(("changes", "message"), [
    ({"stage": "quit"}, "field 'stage': must be one of greeting, auth, mail, rcpt, data"),
    ({"action": "hang"}, "field 'action': 'hang' cannot happen at the auth stage"),
    ({"reply": ["535 5.7.8 fine", "535 5.7.8 again"]}, "line 1: every line but the last"),
    ({"reply": ["250 2.0.0 OK"]}, "line 1 must be a 4xx or 5xx code"),
    ({"reply": ["535-5.7.8 a", "534 5.7.9 b"]}, "all lines must carry the same code"),
    ({"reply": []}, "must hold at least one line"),
    ({"source": None}, "field 'note': must say why there is no source link"),
    ({"source": "http://example.test/"}, "field 'source': must be an https:// link"),
    ({"confirmed": "2026-13"}, "field 'confirmed': '2026-13' must be a date"),
    ({"category": "oops"}, "field 'category': must be one of"),
    ({"confirmed": KeyError}, "field 'confirmed': is missing"),
    ({"colour": "red"}, "field 'colour': is not a known field"),
])
def test_a_wrong_entry_is_named_with_its_field(data, changes, message):
    broken = _broken(data, 1, **changes)
    with pytest.raises(FaultsFileError) as error:
        parse_catalogue(broken, "faults.json")
    assert "profile 'gmail-bad-credentials'" in str(error.value)
    assert message in str(error.value)


def test_a_hang_with_a_reply_and_a_duplicate_id_are_refused(data):
    hang = next(i for i, p in enumerate(data["profiles"]) if p["id"] == "hang-at-data")
    with pytest.raises(FaultsFileError, match="must be empty: 'hang' sends no reply"):
        parse_catalogue(_broken(data, hang, reply=["451 4.3.0 x"]), "faults.json")
    twice = copy.deepcopy(data)
    twice["profiles"].append(copy.deepcopy(twice["profiles"][0]))
    with pytest.raises(FaultsFileError, match="listed twice"):
        parse_catalogue(twice, "faults.json")
    with pytest.raises(FaultsFileError, match="'version' must be 1"):
        parse_catalogue({**data, "version": 2}, "faults.json")


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "faults.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(FaultsFileError, match="Cannot read the fault profiles file"):
        load_catalogue(path)
    with pytest.raises(FaultsFileError, match="is missing"):
        load_catalogue(tmp_path / "absent.json")


@pytest.mark.parametrize(("text", "shown"), [
    ("greylisted", "greylisted:always"), ("greylisted:always", "greylisted:always"),
    ("greylisted:next=3", "greylisted:next=3"), ("user-unknown:rcpt=^a@(b|c)\\.test$",
                                                  "user-unknown:rcpt=^a@(b|c)\\.test$"),
    ("hang-at-data:p=0.25,seed=42", "hang-at-data:p=0.25,seed=42"),
    ("rate-limited:p=0.5", "rate-limited:p=0.5"),
])
def test_rules_read_and_show_back(text, shown):
    assert parse_rule(text).text == shown


@pytest.mark.parametrize(("text", "message"), [
    ("next=0", "next= needs a whole number of 1 or more"),
    ("next=x", "next= needs a whole number"),
    ("p=1.5", "p= needs a probability from 0 to 1"),
    ("p=0.2,seed=x", "only ',seed=N'"),
    ("p=0.2,sed=1", "only ',seed=N'"),
    ("rcpt=(", "not a valid regular expression"),
    ("rcpt=", "give a regular expression"),
    ("sometimes", "Unknown trigger 'sometimes'"),
])
def test_bad_triggers_say_what_is_wrong(text, message):
    with pytest.raises(FaultRuleError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse_trigger(text)


# ---------------------------------------------------------------- outbox serve --fault


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smtp-desktop")
    cli_outbox.add_subcommands(parser.add_subparsers(dest="command"))
    return parser


def test_serve_takes_repeated_fault_rules(tmp_path, capsys):
    paths = AppPaths(tmp_path / "config", tmp_path / "data")
    args = build_parser().parse_args(["outbox", "serve", "--port", "0",
                                      "--fault", "user-unknown:rcpt=^nobody@",
                                      "--fault", "greylisted:next=1"])
    stop, events = threading.Event(), queue.Queue()
    thread = threading.Thread(target=lambda: events.put(("exited", cli_outbox.run(
        args, paths, stop=stop, on_ready=lambda s: events.put(("ready", s))))))
    thread.start()
    try:
        kind, server = events.get(timeout=WAIT)
        assert kind == "ready"
        assert [r.text for r in server.fault_rules] == ["user-unknown:rcpt=^nobody@",
                                                        "greylisted:next=1"]
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.ehlo()
            client.mail("qa@outbox.test")
            assert client.rcpt("nobody@example.test")[0] == 550  # the first rule wins
            assert client.rcpt("friend@example.test")[0] == 451  # the second one, once
            client.rset()
            client.mail("qa@outbox.test")
            assert client.rcpt("friend@example.test")[0] == 250
    finally:
        stop.set()
        thread.join(WAIT)
    assert events.get(timeout=WAIT) == ("exited", 0)
    err = capsys.readouterr().err
    assert "Fault rules (the first that matches wins):" in err
    assert "  user-unknown:rcpt=^nobody@: rcpt, reply" in err


@pytest.mark.parametrize(("rule", "message"), [
    ("service-unavailable:rcpt=x", "rcpt= needs a profile of the RCPT or DATA stage"),
    ("no-such-profile", "Unknown fault profile 'no-such-profile'; use one of: gmail-"),
    ("greylisted:next=-1", "next= needs a whole number of 1 or more"),
])
def test_a_bad_fault_rule_is_a_usage_error(rule, message):
    """As the user meets it: exit 2, the reason on stderr, no traceback, nothing served."""
    result = run_module("outbox", "serve", "--port", "0", "--fault", rule, timeout=WAIT)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stdout


def test_send_test_json_against_outbox_serve_fault(tmp_path, capsys, monkeypatch):
    """The whole way round, as a QA person does it: `outbox serve --fault ...` and the CLI's
    `send-test --json` with a password piped in; one JSON value, exit 1, the provider's fix."""
    import io

    from smtp_desktop.app import main

    serve_paths = AppPaths(tmp_path / "serve-config", tmp_path / "serve-data")
    args = build_parser().parse_args(["outbox", "serve", "--port", "0",
                                      "--fault", "m365-smtp-auth-disabled"])
    stop, events = threading.Event(), queue.Queue()
    thread = threading.Thread(target=lambda: events.put(("exited", cli_outbox.run(
        args, serve_paths, stop=stop, on_ready=lambda s: events.put(("ready", s))))))
    thread.start()
    try:
        kind, server = events.get(timeout=WAIT)
        assert kind == "ready"
        settings = {"version": 1, "enabled": True, "service": "own",
                    "own": {"host": server.host, "port": server.port,
                            "username": "qa@contoso.test",
                            "keys": {"mail.smtp.auth": "true"}}}
        (tmp_path / "in.json").write_text(json.dumps(settings))
        base = ["--config-dir", str(tmp_path / "config"), "--data-dir", str(tmp_path / "data")]
        assert main([*base, "import", str(tmp_path / "in.json")]) == 0
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO("app-secret-9\n"))
        code = main([*base, "send-test", "--to", "friend@example.test", "--password-stdin",
                     "--json"])
        out = capsys.readouterr().out
    finally:
        stop.set()
        thread.join(WAIT)
    document = json.loads(out)
    assert code == 1
    assert (document["ok"], document["category"]) == (False, "auth")
    assert "5.7.139" in document["message"]
    assert "tenant administrator must allow SMTP AUTH" in document["advice"]
    assert "app-secret-9" not in out
