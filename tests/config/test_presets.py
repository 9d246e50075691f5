"""Provider presets: the bundled data, loading checks, detection, applying and the CLI shape."""

from __future__ import annotations

import copy
import json
import re

import pytest

from smtp_desktop.config.consistency import check_consistency
from smtp_desktop.config.errors import ConfigError
from smtp_desktop.config.model import Service, SmtpSettings
from smtp_desktop.config.presets import (
    CONNECTION_KEYS,
    AuthKind,
    PresetsFileError,
    UnknownPresetError,
    apply_preset,
    bundled_presets,
    detect_preset,
    detect_region,
    load_presets,
    preset_by_id,
    presets_json,
)
from smtp_desktop.config.validation import validate
from smtp_desktop.resource_files import resource_path

PRESETS = bundled_presets()
CHOICES = [(p, None) for p in PRESETS] + [(p, r.id) for p in PRESETS for r in p.regions]
WITH_HOST = [(p, r) for p, r in CHOICES if p.host]


def _fresh() -> SmtpSettings:
    return SmtpSettings(enabled=True, service=Service.OWN, username="x@example.com")


def _bundled_document() -> dict:
    return json.loads(resource_path("presets.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the bundled data


def test_the_bundled_file_has_every_provider_the_issue_names():
    ids = {p.id for p in PRESETS}
    assert ids == {"gmail", "outlook", "microsoft365", "yahoo", "icloud", "zoho", "fastmail", "aol",
                   "gmx", "sendgrid", "mailgun", "ses", "brevo", "postmark", "mailtrap", "local",
                   "custom"}


def test_load_presets_without_a_path_reads_the_bundled_file():
    assert load_presets() == PRESETS


@pytest.mark.parametrize(("preset", "region_id"), WITH_HOST,
                         ids=[f"{p.id}-{r or 'default'}" for p, r in WITH_HOST])
def test_every_preset_and_region_passes_validation_and_consistency(preset, region_id):
    settings = apply_preset(_fresh(), preset, region_id)
    if preset.oauth2_default:  # OAuth2 by default: the user's registered client is all it needs
        assert [p.field for p in validate(settings)] == ["oauth2.client_id"]
        settings = settings.with_changes(
            oauth2=settings.oauth2.with_changes(client_id="00000000-0000-0000-0000-000000000000"))
    assert validate(settings) == []
    assert check_consistency(settings) == []


def test_microsoft_presets_default_to_oauth2_and_gmail_offers_it():
    """Issue 14: presets gain "oauth2"; Microsoft 365 and Outlook.com default to OAuth2."""
    from smtp_desktop.config.model import AuthMethod, OAuth2Provider

    outlook = apply_preset(_fresh(), preset_by_id("outlook"))
    assert outlook.auth is AuthMethod.OAUTH2
    assert (outlook.oauth2.provider, outlook.oauth2.tenant) == (OAuth2Provider.MICROSOFT, "consumers")
    m365 = apply_preset(_fresh(), preset_by_id("microsoft365"))
    assert m365.auth is AuthMethod.OAUTH2 and m365.oauth2.tenant == "organizations"
    gmail = apply_preset(_fresh(), preset_by_id("gmail"))
    assert gmail.auth is AuthMethod.PASSWORD and gmail.oauth2.provider is OAuth2Provider.GOOGLE
    gmail_oauth = apply_preset(_fresh().with_changes(auth=AuthMethod.OAUTH2), preset_by_id("gmail"))
    assert gmail_oauth.auth is AuthMethod.OAUTH2  # Gmail offers both: the choice is kept
    yahoo = apply_preset(outlook, preset_by_id("yahoo"))
    assert yahoo.auth is AuthMethod.PASSWORD  # no OAuth2 there
    by_id = {p["id"]: p["oauth2"] for p in presets_json()}
    assert by_id["outlook"] == "microsoft" and by_id["gmail"] == "google" and by_id["yahoo"] is None


def test_only_the_custom_preset_has_no_host_and_it_keeps_the_users_host():
    assert [p.id for p in PRESETS if not p.host] == ["custom"]
    settings = apply_preset(_fresh().with_changes(host="mail.example.org"), preset_by_id("custom"))
    assert settings.host == "mail.example.org"
    assert validate(settings) == []
    assert check_consistency(settings) == []


@pytest.mark.parametrize("preset", PRESETS, ids=[p.id for p in PRESETS])
def test_every_preset_says_where_it_comes_from_and_when_that_was_confirmed(preset):
    assert preset.docs.startswith("https://")
    assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", preset.confirmed)
    assert preset.help.strip() and preset.username_hint.strip()


@pytest.mark.parametrize("preset", PRESETS, ids=[p.id for p in PRESETS])
def test_the_port_and_the_tls_keys_agree(preset):
    keys = preset.keys_dict
    if preset.port == 587:
        assert keys["mail.smtp.starttls.enable"] == "true"
        assert keys["mail.smtp.starttls.required"] == "true"
        assert "mail.smtp.ssl.enable" not in keys
    elif preset.port == 465:
        assert keys["mail.smtp.ssl.enable"] == "true"
        assert not any(k.startswith("mail.smtp.starttls") for k in keys)
    else:
        assert preset.id == "local"


def test_the_local_development_server_is_plain_smtp_on_1025_without_login():
    local = preset_by_id("local")
    assert (local.host, local.port) == ("localhost", 1025)
    assert local.keys_dict == {"mail.smtp.auth": "false", "mail.smtp.starttls.enable": "false"}


def test_outlook_and_microsoft_365_say_plainly_that_passwords_are_going_away():
    outlook = preset_by_id("outlook")
    assert outlook.auth is AuthKind.OAUTH2_ONLY
    assert "OAuth2" in outlook.notice and "2024" in outlook.notice
    m365 = preset_by_id("microsoft365")
    assert "OAuth2" in m365.notice and "2026" in m365.notice
    assert all(not p.notice for p in PRESETS if p.id not in ("outlook", "microsoft365"))


def test_username_hints_name_the_unusual_logins():
    assert "apikey" in preset_by_id("sendgrid").username_hint
    postmark = preset_by_id("postmark").username_hint
    assert "both username and password" in postmark
    assert "not your AWS console login" in preset_by_id("ses").username_hint


def test_regional_providers_list_their_hosts():
    ses = preset_by_id("ses")
    assert len(ses.regions) >= 10
    assert all(r.host == f"email-smtp.{r.id}.amazonaws.com" for r in ses.regions)
    assert {r.id: r.host for r in preset_by_id("mailgun").regions} == {
        "us": "smtp.mailgun.org", "eu": "smtp.eu.mailgun.org"}
    zoho = {r.id: r.host for r in preset_by_id("zoho").regions}
    assert zoho["eu"] == "smtp.zoho.eu" and zoho["in"] == "smtp.zoho.in"
    assert zoho["com.au"] == "smtp.zoho.com.au" and zoho["jp"] == "smtp.zoho.jp"


# ---------------------------------------------------------------- detection


@pytest.mark.parametrize(("address", "expected"), [
    ("someone@gmail.com", "gmail"),
    ("Someone@GoogleMail.COM", "gmail"),
    ("Jane Doe <jane@hotmail.com>", "outlook"),
    ('"Doe, Jane" <jane@outlook.com>', "outlook"),
    ("j@live.com", "outlook"),
    ("j@msn.com", "outlook"),
    ("j@yahoo.co.uk", "yahoo"),
    ("j@yahoo.de", "yahoo"),
    ("j@ymail.com", "yahoo"),
    ("j@icloud.com", "icloud"),
    ("j@me.com", "icloud"),
    ("j@mac.com", "icloud"),
    ("j@aol.com", "aol"),
    ("j@gmx.net", "gmx"),
    ("j@gmx.ch", "gmx"),
    ("j@zohomail.com", "zoho"),
    ("j@zoho.eu", "zoho"),
    ("j@fastmail.fm", "fastmail"),
    ("  j@fastmail.com  ", "fastmail"),
    ("j@gmail.com.", "gmail"),
    ("j@mail.gmail.com", None),
    ("j@gmail.co", None),
    ("j@example.com", None),
    ("gmail.com", None),
    ("@gmail.com", None),
    ("not an address", None),
    ("", None),
])
def test_detect_preset_uses_the_domain_table_exactly(address, expected):
    found = detect_preset(address)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(("address", "preset_id", "region_id"), [
    ("a@gmx.de", "gmx", "net"),
    ("a@gmx.com", "gmx", "com"),
    ("a@zoho.in", "zoho", "in"),
    ("A <a@ZohoMail.EU>", "zoho", "eu"),
    ("a@gmail.com", "gmail", None),
    ("a@zoho.com.au", "zoho", None),
])
def test_detect_region_picks_the_regional_server_for_the_domain(address, preset_id, region_id):
    region = detect_region(address, preset_by_id(preset_id))
    assert (region.id if region else None) == region_id


def test_no_domain_belongs_to_two_presets_and_regions_domains_are_the_presets():
    owners: dict[str, str] = {}
    for preset in PRESETS:
        for domain in preset.domains:
            assert domain not in owners, f"{domain} in {owners.get(domain)} and {preset.id}"
            owners[domain] = preset.id
        for region in preset.regions:
            assert set(region.domains) <= set(preset.domains)


# ---------------------------------------------------------------- applying


def test_apply_preset_replaces_connection_keys_and_keeps_the_users_others():
    before = _fresh().with_changes(
        host="old.example.com", port=2525,
        keys=(("mail.smtp.timeout", "5000"), ("mail.smtp.ssl.trust", "old.example.com"),
              ("mail.smtp.starttls.enable", "false"), ("mail.from", "Me <me@example.com>"),
              ("mail.smtp.auth.mechanisms", "CRAM-MD5")))
    after = apply_preset(before, preset_by_id("yahoo"))
    assert (after.host, after.port) == ("smtp.mail.yahoo.com", 465)
    assert after.keys == (("mail.smtp.auth", "true"), ("mail.smtp.ssl.enable", "true"),
                          ("mail.smtp.timeout", "5000"), ("mail.from", "Me <me@example.com>"))
    assert (after.username, after.enabled, after.service) == (before.username, True, Service.OWN)


def test_apply_preset_with_a_region_uses_the_regions_host():
    assert apply_preset(_fresh(), preset_by_id("ses"), "eu-west-1").host == \
        "email-smtp.eu-west-1.amazonaws.com"


def test_unknown_ids_raise_a_config_error_listing_the_choices():
    with pytest.raises(UnknownPresetError, match="gmail"):
        preset_by_id("hotmail")
    with pytest.raises(UnknownPresetError, match="eu-west-1"):
        apply_preset(_fresh(), preset_by_id("ses"), "mars-1")
    with pytest.raises(UnknownPresetError, match="no regions"):
        apply_preset(_fresh(), preset_by_id("gmail"), "eu")
    assert issubclass(UnknownPresetError, ConfigError)


def test_connection_keys_cover_every_key_a_preset_sets():
    for preset in PRESETS:
        assert set(preset.keys_dict) <= CONNECTION_KEYS


# ---------------------------------------------------------------- CLI contract


def test_presets_json_is_exactly_the_cli_contract():
    data = presets_json()
    json.dumps(data)  # serialisable as is
    assert [d["id"] for d in data] == [p.id for p in PRESETS]
    for entry in data:
        assert set(entry) == {"id", "name", "host", "port", "keys", "username_hint", "regions",
                              "auth", "oauth2", "docs"}
        assert isinstance(entry["port"], int) and not isinstance(entry["port"], bool)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in entry["keys"].items())
        assert all(isinstance(r, str) for r in entry["regions"])
        assert entry["auth"] in {"password", "app-password", "api-key", "oauth2-only"}
    ses = next(d for d in data if d["id"] == "ses")
    assert "eu-central-1" in ses["regions"]
    gmail = next(d for d in data if d["id"] == "gmail")
    assert gmail["keys"] == {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true",
                             "mail.smtp.starttls.required": "true"}


# ---------------------------------------------------------------- load-time checks


def _break(doc: dict, preset_id: str, change) -> dict:
    doc = copy.deepcopy(doc)
    entry = next(p for p in doc["presets"] if p["id"] == preset_id)
    change(entry)
    return doc


@pytest.mark.parametrize(("preset_id", "change", "field"), [
    ("gmail", lambda e: e.pop("docs"), "docs"),
    ("gmail", lambda e: e.update(port=70000), "port"),
    ("gmail", lambda e: e.update(port="587"), "port"),
    ("gmail", lambda e: e.update(auth="oauth"), "auth"),
    ("gmail", lambda e: e["keys"].update({"mail.smtp.auth": "yes"}), "keys"),
    ("gmail", lambda e: e["keys"].pop("mail.smtp.auth"), "keys"),
    ("gmail", lambda e: e.update(host="smtp://smtp.gmail.com"), "host"),
    ("gmail", lambda e: e.update(docs="http://support.google.com"), "docs"),
    ("gmail", lambda e: e.update(confirmed="2025-13-01"), "confirmed"),
    ("gmail", lambda e: e.update(confirmed="recently"), "confirmed"),
    ("gmail", lambda e: e.update(domains=["Gmail.com"]), "domains"),
    ("gmail", lambda e: e.update(surprise=1), "surprise"),
    ("gmail", lambda e: e.update(domains=["gmail.com", "yahoo.com"]), "domains"),
    ("ses", lambda e: e["regions"][0].update(host="bad host"), "host"),
    ("ses", lambda e: e["regions"].append(dict(e["regions"][0])), "regions"),
    ("ses", lambda e: e.update(host="smtp.example.com"), "host"),
    ("custom", lambda e: e.update(id="gmail"), "id"),
])
def test_a_broken_entry_is_refused_naming_the_entry_and_the_field(tmp_path, preset_id, change, field):
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(_break(_bundled_document(), preset_id, change)), encoding="utf-8")
    with pytest.raises(PresetsFileError) as caught:
        load_presets(path)
    message = str(caught.value)
    assert f"field '{field}'" in message
    assert "preset '" in message


def test_an_unreadable_file_is_a_presets_file_error(tmp_path):
    with pytest.raises(PresetsFileError, match="Could not read"):
        load_presets(tmp_path / "missing.json")
    broken = tmp_path / "presets.json"
    broken.write_text("{ not json", encoding="utf-8")
    with pytest.raises(PresetsFileError, match="not valid JSON"):
        load_presets(broken)
    broken.write_text(json.dumps({"version": 2, "presets": []}), encoding="utf-8")
    with pytest.raises(PresetsFileError, match="version"):
        load_presets(broken)


def test_resource_path_finds_bundled_files_and_refuses_escapes():
    assert resource_path("presets.json").name == "presets.json"
    with pytest.raises(ValueError):
        resource_path("../pyproject.toml")
    with pytest.raises(FileNotFoundError, match="no-such-file"):
        resource_path("no-such-file.json")
