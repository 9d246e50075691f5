"""The command line: subcommands, --json shapes and the shared exit-code rule."""

from __future__ import annotations

import json
import os
import sys

import pytest
from support.cli_harness import run_module

PASSWORD = "s3cret pass phrase"
SETTINGS = {
    "version": 1, "enabled": True, "service": "own",
    "own": {"host": "smtp.gmail.com", "port": 587, "username": "me@gmail.com",
            "keys": {"mail.smtp.auth": True, "mail.smtp.starttls.enable": "true"}},
}


def write(path, document) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_show_json_on_a_fresh_install(cli):
    code, out, _ = cli("show", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["saved"] is False
    assert document["settings"] == {
        "version": 2, "enabled": False, "service": "testsigma",
        "own": {"host": "", "port": 587, "username": "", "auth": "password",
                "oauth2": {"provider": "microsoft", "client_id": "", "tenant": "organizations",
                           "authorization_endpoint": None, "token_endpoint": None,
                           "device_authorization_endpoint": None, "scopes": None},
                "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}}}
    assert document["keyring"]["secure"] is False
    assert document["password_stored"] is None
    assert document["default_service"] is None


def test_import_with_password_then_show_says_it_is_stored_but_never_prints_it(cli, ring, tmp_path):
    source = write(tmp_path / "in.json", SETTINGS)
    code, out, err = cli("import", source, "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0, err
    assert ring.entries == {("smtp-desktop", "me@gmail.com@smtp.gmail.com"): PASSWORD}
    code, out, _ = cli("show", "--json")
    document = json.loads(out)
    assert document["password_stored"] is True
    assert document["settings"]["own"]["keys"]["mail.smtp.auth"] == "true"
    code, text, _ = cli("show")
    assert "stored in the system keyring" in text
    assert PASSWORD not in out + text


def test_import_dry_run_changes_nothing(cli, tmp_path):
    source = write(tmp_path / "in.json", SETTINGS)
    code, out, _ = cli("import", source, "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["dry_run"] is True
    assert not (cli.config_dir / "settings.json").exists()


def test_import_of_invalid_settings_prints_every_problem_and_changes_nothing(cli, tmp_path):
    cli("import", write(tmp_path / "good.json", SETTINGS))
    before = (cli.config_dir / "settings.json").read_text()
    bad = json.loads(json.dumps(SETTINGS))
    bad["own"].update(host="https://smtp.gmail.com", username="", port=70000)
    code, out, err = cli("import", write(tmp_path / "bad.json", bad))
    assert code == 2
    assert "scheme" in err and "port" in err and "username" in err
    code, out, _ = cli("import", str(tmp_path / "bad.json"), "--json")
    assert code == 2
    assert len(json.loads(out)["problems"]) == 3
    assert (cli.config_dir / "settings.json").read_text() == before


def test_import_of_a_wrong_shape_is_a_usage_error(cli, tmp_path):
    code, _, err = cli("import", write(tmp_path / "x.json", {**SETTINGS, "extra": 1}))
    assert code == 2 and "unknown field(s): extra" in err


def test_import_with_password_but_no_secure_keyring_is_an_environment_error(cli, tmp_path):
    code, _, err = cli("import", write(tmp_path / "in.json", SETTINGS), "--password-stdin",
                       stdin=PASSWORD)
    assert code == 4
    assert "No secure keyring" in err and "gnome-keyring" in err
    assert not (cli.config_dir / "settings.json").exists()
    assert PASSWORD not in err


def test_export_never_contains_the_password(cli, ring, tmp_path):
    cli("import", write(tmp_path / "in.json", SETTINGS), "--password-stdin", stdin=PASSWORD)
    target = tmp_path / "out.json"
    code, out, _ = cli("export", str(target))
    assert code == 0
    exported = json.loads(target.read_text())
    assert exported["own"]["host"] == "smtp.gmail.com"
    assert PASSWORD not in target.read_text()
    code, out, _ = cli("export", "-")
    assert json.loads(out) == exported


def test_import_default_service(cli, ring, tmp_path):
    service = {"version": 1, "host": "mail.vendor.example", "port": 587, "username": "svc",
               "sender": "noreply@vendor.example", "keys": {"mail.smtp.auth": "true"}}
    code, _, err = cli("import-default", write(tmp_path / "d.json", service), "--password-stdin",
                       stdin="vendor-pass")
    assert code == 0, err
    assert ring.entries == {("smtp-desktop", "default-service"): "vendor-pass"}
    assert json.loads((cli.config_dir / "default-service.json").read_text()) == service
    document = json.loads(cli("show", "--json")[1])
    assert document["default_service"]["sender"] == "noreply@vendor.example"


def test_commands_on_a_future_settings_file_refuse(cli):
    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "settings.json").write_text('{"version": 9}')
    code, out, _ = cli("show", "--json")
    assert code == 2
    assert "newer" in json.loads(out)["message"]
    assert (cli.config_dir / "settings.json").read_text() == '{"version": 9}'


@pytest.mark.parametrize("command", ["send-test", "probe"])
def test_checks_exit_3_when_smtp_is_off(cli, command):
    args = [command, "--json"] + (["--to", "qa@example.com"] if command == "send-test" else [])
    code, out, _ = cli(*args)
    assert code == 3
    document = json.loads(out)
    assert document["ok"] is False and document["category"] == "disabled"


def test_send_test_on_testsigma_without_a_default_service_delivers_to_the_local_outbox(
        cli, tmp_path):
    settings = {**SETTINGS, "service": "testsigma"}
    cli("import", write(tmp_path / "in.json", settings))
    code, out, err = cli("send-test", "--to", "qa@example.com", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["ok"] is True
    assert document["delivered_to"] == "local-outbox"
    code, out, _ = cli("outbox", "list", "--json")
    assert [m["to"] for m in json.loads(out)] == [["qa@example.com"]]


def test_send_test_with_an_unusable_default_service_is_not_provisioned(cli, tmp_path):
    cli("import", write(tmp_path / "in.json", {**SETTINGS, "service": "testsigma"}))
    (cli.config_dir / "default-service.json").write_text("{}")
    code, out, _ = cli("send-test", "--to", "qa@example.com", "--json")
    assert code == 2
    assert json.loads(out)["category"] == "not-provisioned"


def test_checks_are_recorded_in_the_history(cli, tmp_path):
    cli("import", write(tmp_path / "in.json", {**SETTINGS, "service": "testsigma"}))
    cli("send-test", "--to", "qa@example.com")
    cli("probe")
    code, out, _ = cli("history", "--json")
    assert code == 0
    records = json.loads(out)
    assert [(r["kind"], r["service"], r["ok"]) for r in records] == [
        ("send-test", "local-outbox", True), ("probe", "local-outbox", True)]
    assert records[0]["recipient"] == "qa@example.com"


def test_send_test_without_a_stored_password_asks_for_one(cli, ring, tmp_path):
    cli("import", write(tmp_path / "in.json", SETTINGS))
    code, out, _ = cli("send-test", "--to", "qa@example.com", "--json")
    assert code == 2
    document = json.loads(out)
    assert document["category"] == "invalid-input"
    assert "No password is stored" in document["message"]


def test_usage_errors_exit_2(cli):
    with pytest.raises(SystemExit) as caught:
        cli("import")
    assert caught.value.code == 2


def test_version_and_module_entry_point():
    result = run_module("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("smtp-desktop ")


def test_no_display_says_so_in_one_line_and_exits_4(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    if not sys.platform.startswith("linux"):
        pytest.skip("the no-display check is for Linux")
    result = run_module("--config-dir", str(tmp_path), env=env)
    assert result.returncode == 4
    assert "No display found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_presets_json_contract(cli):
    code, out, _ = cli("presets", "--json")
    assert code == 0
    presets = json.loads(out)
    assert {p["id"] for p in presets} >= {"gmail", "outlook", "sendgrid", "ses", "custom"}
    for preset in presets:
        assert set(preset) == {"id", "name", "host", "port", "keys", "username_hint", "regions",
                               "auth", "oauth2", "docs"}
        assert preset["auth"] in {"password", "app-password", "api-key", "oauth2-only"}
        assert preset["oauth2"] in {"microsoft", "google", None}
    assert next(p for p in presets if p["id"] == "outlook")["auth"] == "oauth2-only"


def test_import_accepts_a_preset_and_explicit_fields_win(cli, tmp_path):
    document = {"version": 1, "enabled": True, "service": "own",
                "own": {"preset": "ses", "region": "eu-west-1", "username": "AKIAEXAMPLE",
                        "port": 2587, "keys": {"mail.smtp.timeout": "5000"}}}
    code, _, err = cli("import", write(tmp_path / "p.json", document))
    assert code == 0, err
    own = json.loads((cli.config_dir / "settings.json").read_text())["own"]
    assert own["host"] == "email-smtp.eu-west-1.amazonaws.com"
    assert own["port"] == 2587
    assert own["keys"]["mail.smtp.timeout"] == "5000"
    assert own["keys"]["mail.smtp.auth"] == "true"
    assert "preset" not in own


def test_import_with_an_unknown_preset_is_invalid(cli, tmp_path):
    document = {"version": 1, "enabled": True, "service": "own",
                "own": {"preset": "nope", "username": "x"}}
    code, _, err = cli("import", write(tmp_path / "p.json", document))
    assert code == 2 and "nope" in err


def test_commands_never_change_a_damaged_settings_file_and_dry_run_changes_nothing(cli, tmp_path):
    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "settings.json").write_text("{broken")
    for args in (["show", "--json"], ["export", str(tmp_path / "out.json")],
                 ["import", write(tmp_path / "in.json", SETTINGS), "--dry-run"]):
        code, _, _ = cli(*args)
        assert code == (0 if "--dry-run" in args else 2), args
        assert sorted(p.name for p in cli.config_dir.iterdir()) == ["settings.json"], args


def test_import_repairs_a_damaged_settings_file_on_the_first_try(cli, tmp_path):
    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "settings.json").write_text("{broken")
    code, _, err = cli("import", write(tmp_path / "in.json", SETTINGS))
    assert code == 0, err
    assert json.loads((cli.config_dir / "settings.json").read_text())["own"]["host"] == (
        "smtp.gmail.com")
    backups = list(cli.config_dir.glob("settings.json.corrupt-*"))
    assert [b.read_text() for b in backups] == ["{broken"]


def test_usage_error_json_on_stdout(tmp_path):
    result = run_module("--config-dir", str(tmp_path), "send-test", "--json")
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False and "--to" in document["message"]


def test_import_with_a_password_but_no_account_is_invalid_and_writes_nothing(cli, ring, tmp_path):
    testsigma = {"version": 1, "enabled": True, "service": "testsigma",
                 "own": {"host": "", "port": 587, "username": "", "keys": {}}}
    code, out, _ = cli("import", write(tmp_path / "t.json", testsigma), "--password-stdin",
                       "--json", stdin="secret\n")
    assert code == 2
    assert "no host and username" in json.loads(out)["message"]
    assert not (cli.config_dir / "settings.json").exists()
    assert ring.entries == {}


def test_an_unwritable_export_path_is_one_json_error(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, _ = cli("export", str(blocker / "x.json"), "--json")
    assert code == 2
    assert json.loads(out)["ok"] is False


@pytest.mark.parametrize("command", [["send-test", "--to", "qa@example.com"], ["probe"]])
def test_an_empty_password_on_stdin_is_invalid_input(cli, ring, tmp_path, command):
    cli("import", write(tmp_path / "in.json", SETTINGS))
    code, out, _ = cli(*command, "--password-stdin", "--json", stdin="\n")
    assert code == 2
    assert json.loads(out)["category"] == "invalid-input"
