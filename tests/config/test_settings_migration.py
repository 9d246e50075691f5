"""Issue 14: settings.json version 2 (auth, oauth2) and the migration chain from version 1.

Every version 1 shape the README documents is read, migrated to `auth: "password"` and written
back as version 2; default-service.json stays version 1.
"""

from __future__ import annotations

import json

import pytest
from support.settings_documents import DEFAULT_OAUTH2, as_version_2

from smtp_desktop.config.errors import SettingsFileError
from smtp_desktop.config.model import AuthMethod, OAuth2Provider, OAuth2Settings, Service, SmtpSettings
from smtp_desktop.config.store import settings_from_document, settings_to_document
from smtp_desktop.config.validation import validate

KEYS = {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}
# The version 1 shapes the README documents: the contract example, a fresh install (testsigma,
# own fields empty) and the seed's JSON booleans and numbers as key values.
V1_SHAPES = {
    "contract": {"version": 1, "enabled": True, "service": "own",
                 "own": {"host": "smtp.gmail.com", "port": 587, "username": "me@gmail.com",
                         "keys": KEYS}},
    "fresh install": {"version": 1, "enabled": False, "service": "testsigma",
                      "own": {"host": "", "port": 587, "username": "", "keys": KEYS}},
    "seed values": {"version": 1, "enabled": True, "service": "own",
                    "own": {"host": "smtp.example.com", "port": 465, "username": "me",
                            "keys": {"mail.smtp.auth": True, "mail.smtp.timeout": 5000,
                                     "mail.smtp.ssl.enable": "true"}}},
}
MICROSOFT = {"provider": "microsoft", "client_id": "00000000-0000-0000-0000-000000000000",
             "tenant": "organizations", "authorization_endpoint": None, "token_endpoint": None,
             "device_authorization_endpoint": None, "scopes": None}
V2_CONTRACT = {"version": 2, "enabled": True, "service": "own",
               "own": {"host": "smtp.office365.com", "port": 587, "username": "me@contoso.com",
                       "auth": "oauth2", "oauth2": MICROSOFT, "keys": KEYS}}


@pytest.mark.parametrize("name", sorted(V1_SHAPES))
def test_every_documented_version_1_shape_migrates_to_a_password_login(name):
    settings = settings_from_document(json.loads(json.dumps(V1_SHAPES[name])))
    assert settings.auth is AuthMethod.PASSWORD
    assert settings.oauth2 == OAuth2Settings()
    written = settings_to_document(settings)
    assert written["version"] == 2
    assert written["own"]["auth"] == "password" and written["own"]["oauth2"] == DEFAULT_OAUTH2


@pytest.mark.parametrize("name", sorted(V1_SHAPES))
def test_a_version_1_file_is_loaded_and_saved_as_version_2(config_service, name):
    paths = config_service.paths
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text(json.dumps(V1_SHAPES[name]))
    loaded = config_service.load()
    assert loaded.notice is None and not loaded.read_only and loaded.exists
    config_service.save(loaded.settings)
    written = json.loads(paths.settings_file.read_text())
    expected = as_version_2(V1_SHAPES[name])
    expected["own"]["keys"] = {k: settings_to_document(loaded.settings)["own"]["keys"][k]
                               for k in expected["own"]["keys"]}
    assert written == expected


def test_the_version_2_contract_example_reads_and_round_trips():
    settings = settings_from_document(json.loads(json.dumps(V2_CONTRACT)))
    assert settings.auth is AuthMethod.OAUTH2
    assert settings.oauth2.provider is OAuth2Provider.MICROSOFT
    assert settings.oauth2.client_id == MICROSOFT["client_id"]
    assert validate(settings) == []
    assert settings_to_document(settings) == V2_CONTRACT


def test_oauth2_is_kept_when_the_user_switches_back_to_a_password():
    settings = settings_from_document(json.loads(json.dumps(V2_CONTRACT)))
    back = settings.with_changes(auth=AuthMethod.PASSWORD)
    assert settings_to_document(back)["own"]["oauth2"] == MICROSOFT


def test_a_version_1_file_cannot_smuggle_in_version_2_fields():
    document = json.loads(json.dumps(V1_SHAPES["contract"]))
    document["own"]["auth"] = "oauth2"
    with pytest.raises(SettingsFileError, match=r"unknown field.*version 1: auth"):
        settings_from_document(document)


def test_repeated_fields_of_a_version_1_file_are_still_reported():
    text = ('{"version": 1, "enabled": true, "service": "own", "own": {"host": "a", "host": "b", '
            '"port": 587, "username": "u", "keys": {}}}')
    from smtp_desktop.config.store import loads

    with pytest.raises(SettingsFileError, match="own repeats the field"):
        settings_from_document(loads(text, "settings.json"))


@pytest.mark.parametrize(("oauth2", "field"), [
    ({"client_id": ""}, "oauth2.client_id"),
    ({"tenant": None}, "oauth2.tenant"),
    ({"provider": "custom"}, "oauth2.authorization_endpoint"),
    ({"provider": "custom", "authorization_endpoint": "https://a.example/auth",
      "token_endpoint": "https://a.example/token"}, "oauth2.scopes"),
    ({"token_endpoint": "http://login.example.com/token"}, "oauth2.token_endpoint"),
    ({"scopes": []}, "oauth2.scopes"),
])
def test_an_oauth2_login_needs_a_usable_client(oauth2, field):
    document = json.loads(json.dumps(V2_CONTRACT))
    document["own"]["oauth2"].update(oauth2)
    settings = settings_from_document(document)
    assert field in {p.field for p in validate(settings)}
    # the same client under a password login is kept as it is, unchecked
    assert validate(settings.with_changes(auth=AuthMethod.PASSWORD)) == []


def test_a_custom_provider_on_loopback_http_is_valid():
    settings = SmtpSettings(
        enabled=True, service=Service.OWN, host="127.0.0.1", port=2525, username="me@example.com",
        auth=AuthMethod.OAUTH2, oauth2=OAuth2Settings(
            provider=OAuth2Provider.CUSTOM, client_id="c", tenant=None,
            authorization_endpoint="http://127.0.0.1:8080/authorize",
            token_endpoint="http://127.0.0.1:8080/token", scopes=("smtp",)))
    assert validate(settings) == []


# ---------------------------------------------------------------- the commands


@pytest.mark.parametrize("document", [V1_SHAPES["contract"], V2_CONTRACT],
                         ids=["version 1", "version 2"])
def test_import_takes_both_versions_and_writes_version_2(cli, tmp_path, document):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(document))
    code, _, err = cli("import", str(source))
    assert code == 0, err
    written = json.loads((cli.config_dir / "settings.json").read_text())
    assert written == (document if document["version"] == 2 else as_version_2(document))
    code, out, _ = cli("export", "-")
    assert code == 0 and json.loads(out) == written


def test_import_of_a_version_1_preset_document_migrates(cli, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"version": 1, "enabled": True, "service": "own",
                                  "own": {"preset": "gmail", "username": "me@gmail.com"}}))
    code, _, err = cli("import", str(source))
    assert code == 0, err
    written = json.loads((cli.config_dir / "settings.json").read_text())
    assert written["version"] == 2 and written["own"]["auth"] == "password"


def test_default_service_json_stays_version_1(cli, tmp_path):
    service = {"version": 1, "host": "mail.vendor.example", "port": 587, "username": "svc",
               "sender": "noreply@vendor.example", "keys": {"mail.smtp.auth": "true"}}
    source = tmp_path / "d.json"
    source.write_text(json.dumps(service))
    assert cli("import-default", str(source))[0] == 0
    assert json.loads((cli.config_dir / "default-service.json").read_text()) == service
    source.write_text(json.dumps({**service, "version": 2}))
    code, out, err = cli("import-default", str(source))
    assert code == 2 and "newer smtp-desktop" in out + err
