"""The OpenAPI 3.0 description of the outbox's HTTP API (api.py), served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

_TRIGGER = r"^(always|next=[1-9][0-9]*|rcpt=.+|p=(0(\.[0-9]+)?|1(\.0+)?)(,seed=-?[0-9]+)?)$"
_ERROR = {"$ref": "#/components/schemas/Error"}
_OBJECT = {"type": "object"}


def _response(description: str, schema: dict[str, Any] | None = None,
              media: str = "application/json") -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {media: {"schema": schema}}
    return answer


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _response("an error", _ERROR) for status in (401, 403, *statuses)}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
       "description": "a message id, as listed"}
_CODE_PATTERN = _query("code_pattern", {"type": "string"},
                       "a Python regular expression finding codes instead of the built-in rules")


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    from smtp_desktop import __version__
    from smtp_desktop.outbox.faults import load_catalogue

    profiles = list(load_catalogue())

    return {
        "openapi": "3.0.3",
        "info": {"title": "smtp-desktop local outbox", "version": __version__},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["ok", "status", "category", "message"],
                          "properties": {"ok": {"type": "boolean", "enum": [False]},
                                         "status": {"type": "integer"},
                                         "category": {"type": "string"},
                                         "message": {"type": "string"}}},
                "Rule": {"type": "object", "required": ["profile"],
                         "properties": {"profile": {"type": "string", "enum": profiles},
                                        "trigger": {
                                            "type": "string", "maxLength": 250,
                                            "pattern": _TRIGGER, "default": "always",
                                            "description": "always, next=N, rcpt=REGEX (RCPT "
                                                           "and DATA profiles) or "
                                                           "p=0.25[,seed=42]"}}},
                "Faults": {"type": "object", "required": ["profiles", "rules"],
                           "properties": {"profiles": {"type": "array", "items": _OBJECT},
                                          "rules": {"type": "array", "items": {
                                              "$ref": "#/components/schemas/Rule"}}}},
            },
        },
        "paths": {
            "/api/v1/info": {"get": {
                "summary": "version, SMTP address and limits",
                "responses": {"200": _response("the outbox", {
                    "type": "object", "required": ["version", "smtp", "limits"],
                    "properties": {"version": {"type": "string"}, "limits": _OBJECT,
                                   "smtp": {"type": "object", "required": ["host", "port"],
                                            "properties": {"host": {"type": "string"},
                                                           "port": {"type": "integer"}}}}}),
                    **_errors()}}},
            "/api/v1/openapi.json": {"get": {
                "summary": "this document",
                "responses": {"200": _response("OpenAPI 3.0", _OBJECT), **_errors()}}},
            "/api/v1/messages": {
                "get": {
                    "summary": "stored messages, newest first",
                    "parameters": [
                        _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000000},
                               "at most this many"),
                        _query("before", {"type": "string"}, "only messages older than this id"),
                        _query("search", {"type": "string"}, "text in From, To/Cc, envelope "
                                                             "or Subject (any case)")],
                    "responses": {"200": _response("a page", {
                        "type": "object", "required": ["total", "messages"],
                        "properties": {"total": {"type": "integer"},
                                       "messages": {"type": "array", "items": _OBJECT}}}),
                        **_errors(400, 404)}},
                "delete": {"summary": "delete every message",
                           "responses": {"204": _response("deleted"), **_errors()}}},
            "/api/v1/messages/{id}": {
                "parameters": [_ID],
                "get": {"summary": "one message, as `outbox show --json`",
                        "parameters": [_CODE_PATTERN],
                        "responses": {"200": _response("the message", _OBJECT),
                                      **_errors(400, 404)}},
                "delete": {"summary": "delete one message",
                           "responses": {"204": _response("deleted"), **_errors(404)}}},
            "/api/v1/messages/{id}/raw": {
                "parameters": [_ID],
                "get": {"summary": "the message as received",
                        "responses": {"200": _response("the bytes", {"type": "string"},
                                                       "message/rfc822"), **_errors(404)}}},
            "/api/v1/wait": {"get": {
                "summary": "long poll: the oldest message that fits (`outbox wait`)",
                "parameters": [
                    _query("to", {"type": "string"}, "a recipient (exact, any case)"),
                    _query("from", {"type": "string"}, "the sender (exact, any case)"),
                    _query("subject", {"type": "string"}, "a regular expression"),
                    _query("contains", {"type": "string"}, "text in subject or text"),
                    _query("since", {"type": "string"}, "ISO 8601 time or a message id "
                                                        "(default 60 s before)"),
                    _query("timeout", {"type": "number", "minimum": 0, "maximum": 300},
                           "seconds (default 30)"),
                    _CODE_PATTERN],
                "responses": {"200": _response("the message", _OBJECT),
                              **_errors(400, 408)}}},
            "/api/v1/faults": {
                "get": {"summary": "the fault catalogue and the rules in force",
                        "responses": {"200": _response("faults", {
                            "$ref": "#/components/schemas/Faults"}), **_errors()}},
                "put": {"summary": "replace the rules (the first that matches wins)",
                        "requestBody": {"required": True, "content": {"application/json": {
                            "schema": {"type": "object", "required": ["rules"], "properties": {
                                "rules": {"type": "array", "maxItems": 50, "items": {
                                    "$ref": "#/components/schemas/Rule"}}}}}}},
                        "responses": {"200": _response("faults", {
                            "$ref": "#/components/schemas/Faults"}), **_errors(400)}},
                "delete": {"summary": "clear the rules",
                           "responses": {"204": _response("cleared"), **_errors()}}},
        },
        "security": [{}, {"bearer": []}],
    }
