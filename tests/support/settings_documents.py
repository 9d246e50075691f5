"""settings.json documents as tests write them: version 1 files and what version 2 makes of them."""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_OAUTH2: dict[str, Any] = {
    "provider": "microsoft", "client_id": "", "tenant": "organizations",
    "authorization_endpoint": None, "token_endpoint": None,
    "device_authorization_endpoint": None, "scopes": None,
}


def as_version_2(v1: dict[str, Any]) -> dict[str, Any]:
    """The version 2 document the app writes for a version 1 one (its migration, by hand)."""
    doc = copy.deepcopy(v1)
    doc["version"] = 2
    own = doc["own"]
    keys = own.pop("keys")
    own.update(auth="password", oauth2=copy.deepcopy(DEFAULT_OAUTH2), keys=keys)
    return doc
