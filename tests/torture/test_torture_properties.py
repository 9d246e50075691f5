"""Property-based torture of the config layer: loader, import, keys parser and the save round trip.

Promises checked on generated input:
  * loading settings.json never raises; a file it cannot use is set aside byte for byte, never
    lost, and a file it can use (or one from a newer version) is left untouched;
  * settings_from_document, ConfigService.read_import and parse_keys_text fail only with the
    config layer's own errors (ConfigError, KeysTextError), whose messages are shown to people;
  * valid settings come back from save + load exactly as they went in.

The regression tests at the end pin three bugs these tests found: a JSON field named like the
loader's old duplicate marker ("\\0pairs") crashed it; a number-typed key holding a digit such
as "²" crashed validation; repeated keys saved with SMTP off silently lost a row.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from support.memory_keyring import MemoryKeyring
from support.settings_documents import as_version_2

from smtp_desktop.config.errors import ConfigError, InvalidSettingsError
from smtp_desktop.config.keys import CATALOGUE, KeyType
from smtp_desktop.config.keys_text import KeysTextError, parse_keys_text
from smtp_desktop.config.model import OAuth2Provider, OAuth2Settings, Service, SmtpSettings
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.presets import bundled_presets
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.service import ConfigService
from smtp_desktop.config.store import (
    SettingsStore,
    dumps,
    loads,
    settings_from_document,
    settings_to_document,
)
from smtp_desktop.config.validation import validate

# Bounded: a few seconds in all, generous per example for a loaded CI machine.
BOUNDED = settings(max_examples=150, deadline=dt.timedelta(seconds=5),
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])
OLD_DUPLICATE_MARKER = "\0pairs"  # how store.py once marked "this object repeats a field"


def fresh_folder(tmp_path: Path) -> Path:
    """A new folder per example (tmp_path is shared by every example of one test)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


def service_in(folder: Path) -> ConfigService:
    return ConfigService(AppPaths(folder / "config", folder / "data"), SecretStore(MemoryKeyring()))


# ---------------------------------------------------------------- generators

_FIELD_NAMES = ["version", "enabled", "service", "own", "host", "port", "username", "keys",
                "preset", "region", "mail.smtp.auth", "mail.smtp.timeout", OLD_DUPLICATE_MARKER]
_names = st.one_of(st.sampled_from(_FIELD_NAMES), st.text(max_size=8))
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-2, max_value=70_000),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["own", "testsigma", "true", "10000", "smtp.gmail.com", "gmail", "zoho", "eu",
                     "", " ", "²", "١٠"]))
json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(_names, children, max_size=5)),
    max_leaves=25)

_PRESET_IDS = [p.id for p in bundled_presets()]
_REGION_IDS = sorted({r.id for p in bundled_presets() for r in p.regions})


def valid_document() -> dict[str, Any]:
    return {"version": 1, "enabled": True, "service": "own",
            "own": {"host": "smtp.example.com", "port": 587, "username": "me@example.com",
                    "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true"}}}


def valid_document_v2() -> dict[str, Any]:
    return as_version_2(valid_document())


@st.composite
def near_valid_documents(draw) -> Any:
    """A valid settings document (version 1 or 2) with a few random edits: the shapes that
    reach deep code, the migration included."""
    doc = draw(st.sampled_from([valid_document, valid_document_v2]))()
    if draw(st.booleans()):
        doc["own"]["preset"] = draw(st.one_of(st.sampled_from(_PRESET_IDS), json_values))
        if draw(st.booleans()):
            doc["own"]["region"] = draw(st.one_of(st.sampled_from(_REGION_IDS), json_values))
    for _ in range(draw(st.integers(0, 4))):
        target = draw(st.sampled_from(["top", "own", "keys", "oauth2"]))
        parent = {"top": doc, "own": doc.get("own"), "keys": None, "oauth2": None}[target]
        if target in ("keys", "oauth2") and isinstance(doc.get("own"), dict):
            parent = doc["own"].get(target)
        if not isinstance(parent, dict):
            continue
        name = draw(st.one_of(st.sampled_from(sorted(parent) or ["x"]), _names))
        if draw(st.integers(0, 3)) == 0:
            parent.pop(name, None)
        else:
            parent[name] = draw(json_values)
    return doc


def _texts_of(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return documents.map(lambda d: json.dumps(d, ensure_ascii=False, allow_nan=True))


@st.composite
def damaged(draw, texts: st.SearchStrategy[str]) -> str:
    """A text cut short or with a few characters changed, as a half-written file might be."""
    text = draw(texts)
    if text and draw(st.booleans()):
        text = text[:draw(st.integers(0, len(text) - 1))]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(list('{}[]",:\\0\x00\ufeff\n'))) + text[at:]
    return text


file_texts = st.one_of(
    st.text(max_size=200),
    _texts_of(json_values),
    _texts_of(near_valid_documents()),
    damaged(_texts_of(near_valid_documents())),
    st.sampled_from(["", "null", "[]", "{}", "1", '"x"', "[" * 10_000, '{"a":' * 10_000,
                     dumps(valid_document()), dumps({**valid_document(), "version": 2}),
                     dumps(valid_document_v2()), dumps({**valid_document_v2(), "version": 3}),
                     dumps({**valid_document(), "version": 10**30})]),
)
file_bytes = st.one_of(
    file_texts.map(lambda t: t.encode("utf-8")),
    st.binary(max_size=200),
    file_texts.map(lambda t: t.encode("utf-16")),
    file_texts.map(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8")),
)


# ---------------------------------------------------------------- the loader


@BOUNDED
@given(document=st.one_of(json_values, near_valid_documents()))
@example(document=valid_document())
@example(document={**valid_document(), "version": 2})
@example(document={**valid_document_v2(), "version": 1})
@example(document={**valid_document_v2(), "version": 3})
@example(document={**valid_document(), "version": True})
@example(document={**valid_document(), "own": {**valid_document()["own"], "port": 1e308}})
def test_settings_from_any_document_are_settings_or_a_config_error(document):
    try:
        result = settings_from_document(document, "settings.json")
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(result, SmtpSettings)


@BOUNDED
@given(data=file_bytes)
@example(data=dumps(valid_document()).encode())
@example(data=b"\xff\xfe\x00")
@example(data=b"[" * 100_000)
@example(data=b'{"version": 1, "version": 1}')
@example(data=dumps(valid_document()).replace('"port"', '"host"', 1).encode())  # own repeats
def test_loading_any_file_never_raises_and_never_loses_it(tmp_path, data):
    folder = fresh_folder(tmp_path)
    store = SettingsStore(folder / "settings.json")
    store.path.write_bytes(data)
    result = store.load()
    backups = list(folder.glob("settings.json.corrupt-*"))
    if result.corrupt_backup is not None:
        assert backups == [result.corrupt_backup]
        assert result.corrupt_backup.read_bytes() == data, "the damaged file was not kept as is"
        assert not store.path.exists()
        assert result.settings == SmtpSettings() and not result.exists
        assert result.notice and result.corrupt_backup.name in result.notice
    else:
        assert backups == []
        assert store.path.read_bytes() == data, "a file the loader could use was changed"
        assert result.exists and isinstance(result.settings, SmtpSettings)
        if result.read_only:  # from a newer version: shown, never overwritten
            assert result.notice and "newer" in result.notice
        else:
            assert settings_from_document(loads(data.decode("utf-8"), "x"), "x") == result.settings


# ---------------------------------------------------------------- import


@BOUNDED
@given(data=file_bytes)
@example(data=json.dumps({**valid_document(), "own": {"preset": "zoho", "region": "eu"}}).encode())
@example(data=json.dumps({**valid_document(), "own": {"preset": "nope"}}).encode())
@example(data=json.dumps({**valid_document(), "own": {"preset": "gmail", "region": "eu"}}).encode())
@example(data=json.dumps({**valid_document(), "own": {"region": "eu"}}).encode())
@example(data=json.dumps({**valid_document(), "own": {"preset": ["gmail"]}}).encode())
def test_importing_any_file_gives_valid_settings_or_a_config_error(tmp_path, data):
    folder = fresh_folder(tmp_path)
    source = folder / "import.json"
    source.write_bytes(data)
    config = service_in(folder)
    try:
        imported = config.read_import(source)
    except ConfigError as exc:
        assert str(exc)
        return
    assert validate(imported) == []
    config.save(imported)
    assert config.load().settings == imported


def test_importing_a_folder_or_a_missing_file_is_a_config_error(tmp_path):
    config = service_in(tmp_path)
    for path in (tmp_path, tmp_path / "missing.json"):
        with pytest.raises(ConfigError):
            config.read_import(path)


# ---------------------------------------------------------------- pasted keys

_SEED_PIECES = ["mail.smtp.auth", "mail.smtp.timeout", "mail.from", "x", "é", "true", "10000",
                "Acme, Inc <a@acme.com>", ":", "=", ",", " ", "\t", "\n", "\r\n", "\r", "{", "}",
                '"', "'", "\\", '\\"', "\\u00e9", "\\u12", "#", "!", "[", "]", "null", "\ufeff",
                "\x00", "²"]
_pasted = st.one_of(
    st.lists(st.sampled_from(_SEED_PIECES), max_size=40).map("".join),
    _texts_of(json_values),
    st.builds(lambda pairs, brace, newline: ("{" if brace else "")
              + ("\n" if newline else ", ").join(f"{k}: {v}" for k, v in pairs)
              + ("}" if brace else ""),
              st.lists(st.tuples(st.sampled_from(_SEED_PIECES), st.text(max_size=8)), max_size=6),
              st.booleans(), st.booleans()),
    damaged(st.lists(st.sampled_from(_SEED_PIECES), max_size=20).map("".join)),
)


@BOUNDED
@given(text=_pasted)
@example(text="{" * 50_000)
@example(text="{" + '"a": {' * 20_000)
@example(text='"' + "\\" * 5001)
def test_parsing_any_pasted_text_gives_keys_or_a_keys_text_error(text):
    try:
        keys = parse_keys_text(text)
    except KeysTextError as exc:
        assert str(exc) and (exc.line is None or exc.line >= 1)
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in keys)


# ---------------------------------------------------------------- the save round trip


def _value_for(spec) -> st.SearchStrategy[str]:
    """Values validation accepts for one catalogue key (numbers in ASCII digits only)."""
    pad = st.sampled_from(["", " "])
    kind = spec.type
    if kind is KeyType.BOOLEAN:
        core = st.sampled_from(["true", "false", "TRUE", "False"])
    elif kind is KeyType.MILLISECONDS:
        core = st.integers(1, 24 * 60 * 60 * 1000).map(str)
    elif kind is KeyType.INTEGER:
        core = st.integers(0, 10**12).map(str)
    elif kind is KeyType.HOST_LIST:
        core = st.lists(st.from_regex(r"[A-Za-z0-9*._:\-\[\]]{1,12}", fullmatch=True),
                        max_size=3).map(" ".join)
    elif kind is KeyType.PROTOCOL_LIST:
        core = st.lists(st.sampled_from(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
                        max_size=3).map(" ".join)
    elif kind is KeyType.MECHANISM_LIST:
        # At least one password mechanism: NTLM alone is a validation error, and so is a token
        # mechanism (XOAUTH2) with a password login.
        core = st.lists(st.sampled_from(["PLAIN", "login", "CRAM-MD5", "NTLM"]), max_size=3).filter(
            lambda names: not names or names != ["NTLM"] * len(names)).map(" ".join)
    elif kind is KeyType.ADDRESS:
        core = st.one_of(st.just(""), st.emails().map(str),
                         st.sampled_from(["Acme, Inc <a@acme.com>", "Jöns <j@exämple.com>"]))
    elif kind is KeyType.HOST:
        core = st.from_regex(r"[A-Za-z0-9._:\-\[\]]{0,20}", fullmatch=True)
    else:
        core = st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=20)
    return st.tuples(pad, core, pad).map("".join)


_catalogue_pairs = st.one_of(*(st.tuples(st.just(spec.name), _value_for(spec)) for spec in CATALOGUE))
_unknown_pairs = st.tuples(
    st.one_of(st.just(OLD_DUPLICATE_MARKER),
              st.text(alphabet=st.characters(blacklist_categories=("Zs", "Cc")), min_size=1,
                      max_size=12).filter(lambda k: not any(c.isspace() for c in k))),
    st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=20))
_unique_keys = st.lists(st.one_of(_catalogue_pairs, _unknown_pairs), max_size=8,
                        unique_by=lambda pair: pair[0]).map(tuple)
_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
_hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.ip_addresses().map(str),
    st.sampled_from(["bücher.example", "smtp.gmail.com.", "localhost", "::1", "[::1]"]),
)
_usernames = st.text(alphabet=st.characters(blacklist_characters="\r\n\0"), max_size=30).filter(
    lambda u: u == u.strip())


_ODD_KEY_NAMES = ["", " ", OLD_DUPLICATE_MARKER, "mail.smtp.timeout", "mail.smtp.auth"]


@st.composite
def valid_settings(draw) -> SmtpSettings:
    """Settings that validate: checked @own ones, or anything at all while SMTP is off."""
    if draw(st.booleans()):
        candidate = SmtpSettings(
            enabled=True, service=Service.OWN, host=draw(_hosts), port=draw(st.integers(1, 65535)),
            username=draw(_usernames), keys=draw(_unique_keys))
    else:  # kept as typed, however incomplete: validation does not look at them
        candidate = SmtpSettings(
            enabled=draw(st.booleans()), service=Service.TESTSIGMA if draw(st.booleans())
            else Service.OWN, host=draw(st.text(max_size=30)), port=draw(st.integers()),
            username=draw(st.text(max_size=30)),
            keys=draw(st.lists(st.tuples(st.one_of(st.sampled_from(_ODD_KEY_NAMES),
                                                   st.text(max_size=12)),
                                         st.one_of(st.just("²"), st.text(max_size=20))),
                               max_size=6, unique_by=lambda p: p[0].strip()).map(tuple)))
        if candidate.enabled:
            candidate = candidate.with_changes(service=Service.TESTSIGMA)
        # an OAuth2 client that a password login keeps as it is, however incomplete
        candidate = candidate.with_changes(oauth2=OAuth2Settings(
            provider=draw(st.sampled_from(OAuth2Provider)), client_id=draw(st.text(max_size=20)),
            tenant=draw(st.one_of(st.none(), st.text(max_size=12))),
            token_endpoint=draw(st.one_of(st.none(), st.text(max_size=20))),
            scopes=draw(st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=3).map(tuple)))))
    assume(validate(candidate) == [])
    return candidate


@BOUNDED
@given(original=valid_settings())
@example(original=SmtpSettings())
@example(original=SmtpSettings(enabled=True, service=Service.OWN, host="smtp.example.com",
                               port=65535, username="Ünïcødé ✓ \"quoted\" \\ back", keys=()))
def test_valid_settings_come_back_from_save_and_load_exactly(tmp_path, original):
    config = service_in(fresh_folder(tmp_path))
    saved = config.save(original)
    loaded = config.load()
    assert loaded.corrupt_backup is None and loaded.notice is None
    assert loaded.settings == original
    assert loaded.revision == saved.revision
    assert settings_to_document(loaded.settings) == json.loads(
        config.paths.settings_file.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- bugs found, pinned


@pytest.mark.parametrize("where", ["top", "own", "keys"])
def test_a_field_named_like_the_old_duplicate_marker_is_read_like_any_other_name(tmp_path, where):
    """Found by these tests: such a field was taken for the marker and raised TypeError."""
    document = valid_document()
    target = {"top": document, "own": document["own"], "keys": document["own"]["keys"]}[where]
    target[OLD_DUPLICATE_MARKER] = 5
    text = json.dumps(document)
    config = service_in(tmp_path)
    config.paths.settings_file.parent.mkdir(parents=True)
    config.paths.settings_file.write_text(text, encoding="utf-8")
    source = tmp_path / "import.json"
    source.write_text(text, encoding="utf-8")

    result = config.load()
    if where == "keys":  # an unusual key name, kept like any other (validation judges it)
        assert result.corrupt_backup is None
        assert (OLD_DUPLICATE_MARKER, "5") in result.settings.keys
    else:  # an unknown field: the file has the wrong shape, and is set aside
        assert result.corrupt_backup is not None
        assert result.corrupt_backup.read_text(encoding="utf-8") == text
        with pytest.raises(ConfigError):
            config.read_import(source)


@pytest.mark.parametrize("value", ["²", "1²", "١٠٠٠٠"])
def test_a_number_key_with_a_non_ascii_digit_is_a_validation_message(tmp_path, value):
    """Found by these tests: "²".isdigit() is true, int("²") raises ValueError."""
    document = valid_document()
    document["own"]["keys"]["mail.smtp.timeout"] = value
    source = tmp_path / "import.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InvalidSettingsError, match=r"mail\.smtp\.timeout"):
        service_in(tmp_path).read_import(source)


@pytest.mark.parametrize("enabled", [False, True])
def test_repeated_keys_are_refused_rather_than_saved_with_a_row_lost(tmp_path, enabled):
    """Found by these tests: with SMTP off, save() wrote a JSON object and kept the last row."""
    settings = SmtpSettings(enabled=enabled, service=Service.OWN, host="smtp.example.com",
                            keys=(("mail.smtp.timeout", "5000"), ("mail.smtp.auth", "false"),
                                  ("mail.smtp.timeout", "6000")))
    config = service_in(tmp_path)
    with pytest.raises(InvalidSettingsError, match="already set in row 1"):
        config.save(settings)
    assert not config.paths.settings_file.exists()


@pytest.mark.parametrize(("enabled", "field"), [(True, "username"), (False, "username"),
                                               (True, "key"), (False, "host")])
def test_text_that_utf8_cannot_encode_is_refused_rather_than_crashing_the_save(
        tmp_path, enabled, field):
    """Found by these tests: a lone surrogate (JSON "\\ud800") validated, then save() raised
    UnicodeEncodeError. It is a validation message now, whether SMTP is on or off."""
    lone = "me\ud800"
    settings = SmtpSettings(
        enabled=enabled, service=Service.OWN, port=587,
        host=lone if field == "host" else "smtp.example.com",
        username=lone if field == "username" else "me@example.com",
        keys=(("mail.from", lone),) if field == "key" else ())
    config = service_in(tmp_path)
    with pytest.raises(InvalidSettingsError, match="unpaired surrogate"):
        config.save(settings)
    assert not config.paths.settings_file.exists()

    document = valid_document()
    document["own"]["username"] = lone
    source = tmp_path / "import.json"
    source.write_text(json.dumps(document), encoding="utf-8")  # ASCII: "\\ud800" escaped
    with pytest.raises(InvalidSettingsError, match="unpaired surrogate"):
        config.read_import(source)


def test_generators_reach_the_interesting_paths(tmp_path):
    """The generated files must include ones that load, ones refused, and imports through a
    preset that succeed; otherwise the properties above would pass without looking at much."""
    seen = set()
    config = service_in(tmp_path)
    source = tmp_path / "import.json"

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(data=file_texts)
    def sample(data):
        try:
            settings_from_document(loads(data, "x"), "x")
            seen.add("loads")
        except ConfigError:
            seen.add("refused")
        source.write_text(data, encoding="utf-8")
        try:
            config.read_import(source)
        except (ConfigError, ValueError):
            return
        if '"preset"' in data:
            seen.add("imported through a preset")

    sample()
    assert {"loads", "refused", "imported through a preset"} <= seen, seen

