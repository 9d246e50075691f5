"""Provider presets: host, port and JavaMail keys for well-known mail services, from one data file.

The presets live in resources/presets.json, are checked when they are loaded, and are matched
against email addresses without any network access.
"""

from __future__ import annotations

import datetime
import enum
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtp_desktop.config.errors import ConfigError
from smtp_desktop.config.model import AuthMethod, Keys, OAuth2Provider, OAuth2Settings, SmtpSettings
from smtp_desktop.config.store import JsonObject, object_with_pairs
from smtp_desktop.config.validation import host_problem, key_problems, port_problem

PRESETS_FILE = "presets.json"
FILE_VERSION = 1

# Keys that describe how to reach and log in to one particular server. Applying a preset replaces
# them all, so nothing from the previous server (a trusted certificate, a login mechanism, implicit
# TLS) silently carries over to the new one. Timeouts, sender and EHLO name are the user's own.
CONNECTION_KEYS: frozenset[str] = frozenset({
    "mail.smtp.auth",
    "mail.smtp.auth.mechanisms",
    "mail.smtp.auth.login.disable",
    "mail.smtp.auth.plain.disable",
    "mail.smtp.starttls.enable",
    "mail.smtp.starttls.required",
    "mail.smtp.ssl.enable",
    "mail.smtp.ssl.trust",
    "mail.smtp.ssl.checkserveridentity",
    "mail.smtp.ssl.socketFactory.class",
    "mail.smtp.socketFactory.class",
    "mail.smtp.socketFactory.port",
    "mail.smtp.socketFactory.fallback",
    "mail.smtp.host",
    "mail.smtp.port",
    "smtp-desktop.allow-unencrypted-login",  # an opt-in for one server, never carried over
})


class PresetsFileError(ConfigError):
    """The presets file is missing, unreadable or has a wrong entry."""


class UnknownPresetError(ConfigError):
    """No preset (or region of a preset) has the requested id."""


class AuthKind(str, enum.Enum):
    """What the provider wants as the password."""

    PASSWORD = "password"
    APP_PASSWORD = "app-password"
    API_KEY = "api-key"
    OAUTH2_ONLY = "oauth2-only"


@dataclass(frozen=True)
class Region:
    """One of a provider's regional servers; `domains` are addresses that belong to it."""

    id: str
    name: str
    host: str
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preset:
    """A provider's connection settings and the advice that goes with them.

    `host` is empty only for the custom preset, which keeps whatever host is already set.
    `confirmed` is an ISO date (YYYY-MM-DD) or month (YYYY-MM); see the file's confirmed_note.
    """

    id: str
    name: str
    host: str
    port: int
    keys: Keys
    username_hint: str
    regions: tuple[Region, ...]
    auth: AuthKind
    help: str
    docs: str
    confirmed: str
    domains: tuple[str, ...]
    notice: str = ""
    # The OAuth2 provider the account can sign in with (None: passwords only); `oauth2_tenant`
    # is the Microsoft tenant to start with. `oauth2_default`: applying the preset chooses
    # OAuth2 as the login method (Microsoft 365, Outlook.com); else it only offers it (Gmail).
    oauth2: OAuth2Provider | None = None
    oauth2_tenant: str | None = None
    oauth2_default: bool = False

    @property
    def keys_dict(self) -> dict[str, str]:
        return dict(self.keys)

    def region(self, region_id: str) -> Region:
        """The region `region_id`; raises UnknownPresetError listing the known ones."""
        for region in self.regions:
            if region.id == region_id:
                return region
        if not self.regions:
            raise UnknownPresetError(f"{self.name} has no regions, so '{region_id}' cannot be used.")
        known = ", ".join(r.id for r in self.regions)
        raise UnknownPresetError(f"{self.name} has no region '{region_id}'; use one of: {known}.")


# ---------------------------------------------------------------- loading


_ID = re.compile(r"[a-z0-9][a-z0-9.-]*")
_PRESET_FIELDS = ("id", "name", "host", "port", "keys", "username_hint", "regions", "auth", "help",
                  "docs", "confirmed", "domains")
_PRESET_OPTIONAL = ("notice", "oauth2", "oauth2_tenant", "oauth2_default")
_REGION_FIELDS = ("id", "name", "host")
_REGION_OPTIONAL = ("domains",)


class _Reader:
    """Reads one entry, raising PresetsFileError that names the entry and the field."""

    def __init__(self, source: str, where: str) -> None:
        self.source = source
        self.where = where

    def fail(self, field: str, message: str) -> PresetsFileError:
        return PresetsFileError(f"{self.source}: {self.where}, field '{field}': {message}")

    def fields(self, obj: Any, required: tuple[str, ...], optional: tuple[str, ...],
               named: str) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise PresetsFileError(f"{self.source}: {self.where} must be a JSON object.")
        if isinstance(obj.get("id"), str) and obj["id"].strip():
            self.where = named.replace("{id}", obj["id"])
        missing = [name for name in required if name not in obj]
        if missing:
            raise self.fail(missing[0], "is missing.")
        unknown = sorted(name for name in obj if name not in required and name not in optional)
        if unknown:
            raise self.fail(unknown[0], "is not a known field.")
        return obj

    def text(self, obj: dict[str, Any], field: str, allow_empty: bool = False) -> str:
        value = obj.get(field, "")
        if not isinstance(value, str):
            raise self.fail(field, "must be a string.")
        if not allow_empty and not value.strip():
            raise self.fail(field, "must not be empty.")
        return value

    def identifier(self, obj: dict[str, Any]) -> str:
        value = self.text(obj, "id")
        if not _ID.fullmatch(value):
            raise self.fail("id", f"'{value}' must be lower-case letters, digits, '.' and '-'.")
        return value

    def host(self, obj: dict[str, Any], allow_empty: bool) -> str:
        value = self.text(obj, "host", allow_empty=allow_empty)
        if value and (message := host_problem(value)):
            raise self.fail("host", message)
        return value

    def domains(self, obj: dict[str, Any]) -> tuple[str, ...]:
        value = obj.get("domains", [])
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            raise self.fail("domains", "must be a list of strings.")
        for domain in value:
            if domain != domain.lower() or "." not in domain or host_problem(domain):
                raise self.fail("domains", f"'{domain}' must be a lower-case domain such as gmail.com.")
        if len(set(value)) != len(value):
            raise self.fail("domains", "lists a domain twice.")
        return tuple(value)


def _read_region(obj: Any, reader: _Reader, index: int) -> Region:
    sub = _Reader(reader.source, f"{reader.where}, region {index + 1}")
    obj = sub.fields(obj, _REGION_FIELDS, _REGION_OPTIONAL, f"{reader.where}, region '{{id}}'")
    region_id = sub.identifier(obj)
    return Region(id=region_id, name=sub.text(obj, "name"), host=sub.host(obj, allow_empty=False),
                  domains=sub.domains(obj))


def _read_preset(obj: Any, source: str, index: int) -> Preset:
    reader = _Reader(source, f"preset {index + 1}")
    obj = reader.fields(obj, _PRESET_FIELDS, _PRESET_OPTIONAL, "preset '{id}'")
    preset_id = reader.identifier(obj)

    port = obj["port"]
    if isinstance(port, bool) or not isinstance(port, int) or port_problem(port):
        raise reader.fail("port", "must be a whole number from 1 to 65535.")

    raw_keys = obj["keys"]
    if not isinstance(raw_keys, dict) or not all(isinstance(v, str) for v in raw_keys.values()):
        raise reader.fail("keys", 'must be an object of "key": "value" strings.')
    keys: Keys = tuple(raw_keys.items())
    if problems := key_problems(keys):
        raise reader.fail("keys", problems[0].message)
    if "mail.smtp.auth" not in raw_keys:
        raise reader.fail("keys", "must set mail.smtp.auth, so applying the preset decides the login.")

    raw_regions = obj["regions"]
    if not isinstance(raw_regions, list):
        raise reader.fail("regions", "must be a list.")
    regions = tuple(_read_region(r, reader, i) for i, r in enumerate(raw_regions))
    region_ids = [r.id for r in regions]
    if len(set(region_ids)) != len(region_ids):
        raise reader.fail("regions", "uses a region id twice.")

    try:
        auth = AuthKind(obj["auth"])
    except ValueError:
        choices = ", ".join(kind.value for kind in AuthKind)
        raise reader.fail("auth", f"must be one of {choices}.") from None

    docs = reader.text(obj, "docs")
    if not docs.startswith("https://"):
        raise reader.fail("docs", "must be an https:// link to the provider's documentation.")

    confirmed = reader.text(obj, "confirmed")
    if not _is_iso_date_or_month(confirmed):
        raise reader.fail("confirmed", f"'{confirmed}' must be a date (YYYY-MM-DD) or month (YYYY-MM).")

    domains = reader.domains(obj)
    for region in regions:
        stray = [d for d in region.domains if d not in domains]
        if stray:
            raise reader.fail("regions", f"region '{region.id}' lists {stray[0]}, which is not in "
                                         f"the preset's domains.")

    host = reader.host(obj, allow_empty=not regions)
    if regions and host not in {r.host for r in regions}:
        raise reader.fail("host", f"{host} must be the host of one of the regions.")

    oauth2 = obj.get("oauth2")
    if oauth2 not in (None, OAuth2Provider.MICROSOFT.value, OAuth2Provider.GOOGLE.value):
        raise reader.fail("oauth2", 'must be "microsoft", "google" or null.')
    tenant = obj.get("oauth2_tenant")
    if tenant is not None and (not isinstance(tenant, str) or oauth2 != "microsoft"):
        raise reader.fail("oauth2_tenant", "must be a string, and only with oauth2 microsoft.")
    oauth2_default = obj.get("oauth2_default", False)
    if not isinstance(oauth2_default, bool) or (oauth2_default and oauth2 is None):
        raise reader.fail("oauth2_default", "must be true or false, and true only with oauth2.")

    return Preset(
        id=preset_id, name=reader.text(obj, "name"), host=host, port=port, keys=keys,
        username_hint=reader.text(obj, "username_hint"), regions=regions, auth=auth,
        help=reader.text(obj, "help"), docs=docs, confirmed=confirmed, domains=domains,
        notice=reader.text(obj, "notice", allow_empty=True),
        oauth2=OAuth2Provider(oauth2) if oauth2 else None, oauth2_tenant=tenant,
        oauth2_default=oauth2_default,
    )


def _is_iso_date_or_month(text: str) -> bool:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        candidate = text
    elif re.fullmatch(r"\d{4}-\d{2}", text):
        candidate = f"{text}-01"
    else:
        return False
    try:
        datetime.date.fromisoformat(candidate)
    except ValueError:
        return False
    return True


def presets_from_document(doc: Any, source: str = PRESETS_FILE) -> tuple[Preset, ...]:
    """Turn a parsed presets document into presets; raise PresetsFileError on the first problem."""
    if not isinstance(doc, dict):
        raise PresetsFileError(f"{source} must hold a JSON object.")
    version = doc.get("version")
    if isinstance(version, bool) or version != FILE_VERSION:
        raise PresetsFileError(f"{source}: field 'version' must be {FILE_VERSION}.")
    unknown = sorted(set(doc) - {"version", "presets", "confirmed_note"})
    if unknown:
        raise PresetsFileError(f"{source}: field '{unknown[0]}' is not a known field.")
    entries = doc.get("presets")
    if not isinstance(entries, list) or not entries:
        raise PresetsFileError(f"{source}: field 'presets' must be a non-empty list.")
    presets = tuple(_read_preset(entry, source, i) for i, entry in enumerate(entries))

    seen_ids: set[str] = set()
    owner: dict[str, str] = {}
    for preset in presets:
        if preset.id in seen_ids:
            raise PresetsFileError(f"{source}: preset '{preset.id}', field 'id': is used twice.")
        seen_ids.add(preset.id)
        for domain in preset.domains:
            if domain in owner:
                raise PresetsFileError(
                    f"{source}: preset '{preset.id}', field 'domains': {domain} already belongs to "
                    f"preset '{owner[domain]}'.")
            owner[domain] = preset.id
    return presets


def load_presets(path: Path | None = None) -> tuple[Preset, ...]:
    """Read and check the presets file (the bundled one when `path` is None)."""
    if path is None:
        from smtp_desktop.resource_files import resource_path

        try:
            path = resource_path(PRESETS_FILE)
        except FileNotFoundError as exc:
            raise PresetsFileError(str(exc)) from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetsFileError(f"Could not read {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # a syntax error, or an integer too long
        raise PresetsFileError(f"{path.name} is not valid JSON: {exc}") from None
    return presets_from_document(doc, path.name)


@functools.lru_cache(maxsize=1)
def bundled_presets() -> tuple[Preset, ...]:
    """The bundled presets, read once per process."""
    return load_presets()


def _presets(presets: Sequence[Preset] | None) -> Sequence[Preset]:
    return bundled_presets() if presets is None else presets


# ---------------------------------------------------------------- lookup and detection


def preset_by_id(preset_id: str, presets: Sequence[Preset] | None = None) -> Preset:
    """The preset `preset_id`; raises UnknownPresetError listing the known ids."""
    candidates = _presets(presets)
    for preset in candidates:
        if preset.id == preset_id:
            return preset
    known = ", ".join(p.id for p in candidates)
    raise UnknownPresetError(f"There is no preset '{preset_id}'; use one of: {known}.")


def address_domain(address: str) -> str | None:
    """The lower-cased domain of `address` ("a@b.com" or "Name <a@b.com>"), or None."""
    from email.utils import parseaddr  # off the start-up path

    _, parsed = parseaddr(address)
    candidate = parsed if "@" in parsed else address.strip()
    local, at, domain = candidate.rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    if not at or not local or not domain or any(c.isspace() or c in "<>@" for c in domain):
        return None
    return domain


def detect_preset(address: str, presets: Sequence[Preset] | None = None) -> Preset | None:
    """The preset whose domain table lists the address's domain exactly (no subdomains), or None."""
    domain = address_domain(address)
    if domain is None:
        return None
    for preset in _presets(presets):
        if domain in preset.domains:
            return preset
    return None


def detect_region(address: str, preset: Preset) -> Region | None:
    """The region of `preset` that the address's domain belongs to, or None."""
    domain = address_domain(address)
    if domain is None:
        return None
    for region in preset.regions:
        if domain in region.domains:
            return region
    return None


# ---------------------------------------------------------------- applying


def apply_preset(settings: SmtpSettings, preset: Preset, region_id: str | None = None) -> SmtpSettings:
    """Settings with the preset's host, port and connection keys.

    The preset's keys come first and replace every connection key (see CONNECTION_KEYS); the
    user's other keys follow in their order. Username, enabled and service are left alone, as is
    the host when the preset has none (custom). Raises UnknownPresetError for an unknown region.
    """
    host = preset.host
    if region_id is not None:
        host = preset.region(region_id).host
    if not host:
        host = settings.host
    kept = tuple((k, v) for k, v in settings.keys if k not in CONNECTION_KEYS and k not in preset.keys_dict)
    changed = settings.with_changes(host=host, port=preset.port, keys=preset.keys + kept)
    if preset.oauth2 is None:
        return changed.with_changes(auth=AuthMethod.PASSWORD) if settings.uses_oauth2 else changed
    oauth2 = settings.oauth2
    if oauth2.provider is not preset.oauth2:  # a client ID belongs to one provider
        oauth2 = OAuth2Settings(provider=preset.oauth2, tenant=preset.oauth2_tenant)
    elif preset.oauth2_tenant:
        oauth2 = oauth2.with_changes(tenant=preset.oauth2_tenant)
    auth = AuthMethod.OAUTH2 if preset.oauth2_default else settings.auth
    return changed.with_changes(oauth2=oauth2, auth=auth)


def presets_json(presets: Sequence[Preset] | None = None) -> list[dict[str, Any]]:
    """The presets as the CLI prints them (`presets --json`); this shape is a public contract."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "host": p.host,
            "port": p.port,
            "keys": dict(p.keys),
            "username_hint": p.username_hint,
            "regions": [r.id for r in p.regions],
            "auth": p.auth.value,
            "oauth2": p.oauth2.value if p.oauth2 else None,
            "docs": p.docs,
        }
        for p in _presets(presets)
    ]



def expand_import_document(doc: Any, source: str) -> Any:
    """Resolve `own.preset` / `own.region` in an imported settings document.

    The preset supplies host, port and keys; fields written in the file win (keys merge, the
    file's values over the preset's). A document without a preset is returned unchanged.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("own"), dict):
        return doc
    if any(isinstance(o, JsonObject) and o.has_duplicates for o in (doc, doc["own"])):
        return doc  # repeated fields: left for the shape check to report
    own = dict(doc["own"])
    preset_id = own.pop("preset", None)
    region_id = own.pop("region", None)
    if preset_id is None:
        if region_id is not None:
            raise PresetsFileError(f"{source}: own.region needs own.preset.")
        return doc
    if not isinstance(preset_id, str) or not (region_id is None or isinstance(region_id, str)):
        raise PresetsFileError(f"{source}: own.preset and own.region must be strings.")
    preset = preset_by_id(preset_id)
    base = apply_preset(SmtpSettings(keys=()), preset, region_id)
    file_keys = own.get("keys", {})
    if isinstance(file_keys, dict):
        # The file's rows (repeated names included, for validation to flag) win over the preset's.
        file_pairs = file_keys.pairs if isinstance(file_keys, JsonObject) else list(file_keys.items())
        written = {name for name, _ in file_pairs}
        own["keys"] = object_with_pairs(
            [(k, v) for k, v in base.keys if k not in written] + list(file_pairs))
    own.setdefault("host", base.host)
    own.setdefault("port", base.port)
    own.setdefault("username", "")
    return {**doc, "own": own}
