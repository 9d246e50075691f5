"""settings.json's migration chain: each step turns one file version into the next.

A document of any older version is carried step by step to the current one before its shape
is read, so the reader knows one shape only. A step never drops a field: what it cannot carry
is left in place for the shape check to report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smtp_desktop.config.model import AuthMethod, OAuth2Settings

SETTINGS_VERSION = 2


def oauth2_to_document(oauth2: OAuth2Settings) -> dict[str, Any]:
    """`own.oauth2` as written: every field, None as null."""
    return {
        "provider": oauth2.provider.value,
        "client_id": oauth2.client_id,
        "tenant": oauth2.tenant,
        "authorization_endpoint": oauth2.authorization_endpoint,
        "token_endpoint": oauth2.token_endpoint,
        "device_authorization_endpoint": oauth2.device_authorization_endpoint,
        "scopes": None if oauth2.scopes is None else list(oauth2.scopes),
    }


def _with_fields(obj: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """`obj` with `updates` set, keeping its other (name, value) pairs, repeated ones included,
    so the shape check still sees what the file held."""
    from smtp_desktop.config.store import JsonObject, object_with_pairs

    pairs = obj.pairs if isinstance(obj, JsonObject) else list(obj.items())
    kept = [(name, updates.get(name, value)) for name, value in pairs]
    kept += [(name, value) for name, value in updates.items() if name not in obj]
    return object_with_pairs(kept)


def _v1_to_v2(doc: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Version 2 adds `own.auth` (a version 1 file logs in with a password) and `own.oauth2`."""
    own = doc.get("own")
    if isinstance(own, dict):
        carried = [name for name in ("auth", "oauth2") if name in own]
        if carried:  # not a field of version 1: reported, and not overwritten
            problems.append(f"own has unknown field(s) for version 1: {', '.join(carried)}.")
        else:
            own = _with_fields(own, {"auth": AuthMethod.PASSWORD.value,
                                     "oauth2": oauth2_to_document(OAuth2Settings())})
    return _with_fields(doc, {"version": 2, "own": own})


_STEPS: dict[int, Callable[[dict[str, Any], list[str]], dict[str, Any]]] = {1: _v1_to_v2}


def migrate_settings(doc: dict[str, Any], version: int, problems: list[str]) -> dict[str, Any]:
    """Carry a settings document of `version` (1 up to the current one) to the current version,
    appending to `problems` what a step could not carry."""
    while version < SETTINGS_VERSION:
        doc = _STEPS[version](doc, problems)
        version += 1
    return doc
