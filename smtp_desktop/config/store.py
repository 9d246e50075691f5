"""settings.json and default-service.json: the public file shapes, read strictly, written atomically."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtp_desktop.config.errors import (
    FutureVersionError,
    SettingsFileError,
    SettingsLockedError,
    SettingsWriteError,
)
from smtp_desktop.config.migrations import SETTINGS_VERSION, migrate_settings, oauth2_to_document
from smtp_desktop.config.model import (
    AuthMethod,
    DefaultService,
    Keys,
    OAuth2Provider,
    OAuth2Settings,
    Service,
    SmtpSettings,
)
from smtp_desktop.config.paths import PRIVATE_FILE_MODE, make_private_folder, restrict_file
from smtp_desktop.text import escape

log = logging.getLogger(__name__)

FILE_VERSION = SETTINGS_VERSION  # settings.json; older versions are migrated when read
DEFAULT_SERVICE_VERSION = 1  # default-service.json: password only, unchanged
_TOP_FIELDS = ("version", "enabled", "service", "own")
_OWN_FIELDS = ("host", "port", "username", "auth", "oauth2", "keys")
_OAUTH2_FIELDS = ("provider", "client_id", "tenant", "authorization_endpoint", "token_endpoint",
                  "device_authorization_endpoint", "scopes")
_DEFAULT_SERVICE_FIELDS = ("version", "host", "port", "username", "sender", "keys")


# ---------------------------------------------------------------- parsing


class JsonObject(dict):  # type: ignore[type-arg]
    """A parsed JSON object that remembers every (name, value) pair, repeated names included,
    so validation can flag a duplicate instead of json silently keeping the last one."""

    pairs: list[tuple[str, Any]]

    @property
    def has_duplicates(self) -> bool:
        return len(self.pairs) != len(self)


def object_with_pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
    result = JsonObject(pairs)
    result.pairs = pairs
    return result


def loads(text: str, source: str) -> Any:
    """Parse one of our JSON files; anything json cannot turn into values (a syntax error,
    nesting too deep, an integer longer than Python's 4,300-digit limit) is SettingsFileError."""
    try:
        return json.loads(text, object_pairs_hook=object_with_pairs)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise SettingsFileError(f"{source} is not valid JSON: {exc}") from None


def _check_fields(obj: Any, fields: tuple[str, ...], where: str, problems: list[str],
                  extra_allowed: tuple[str, ...] = ()) -> bool:
    """Report repeated, unknown and missing fields of `obj`; True when every field in `fields`
    is there to be read (unknown or repeated ones are reported but do not stop the reading)."""
    if not isinstance(obj, dict):
        problems.append(f"{where} must be a JSON object.")
        return False
    if isinstance(obj, JsonObject) and obj.has_duplicates:
        names = [n for n, _ in obj.pairs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        problems.append(f"{where} repeats the field(s) {', '.join(map(escape, dupes))}.")
    unknown = [n for n in obj if n not in fields and n not in extra_allowed]
    if unknown:
        problems.append(f"{where} has unknown field(s): {', '.join(map(escape, sorted(unknown)))}.")
    missing = [n for n in fields if n not in obj]
    if missing:
        problems.append(f"{where} is missing: {', '.join(missing)}.")
    return not missing


def _key_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    return None


def parse_keys(obj: Any, where: str, problems: list[str]) -> Keys:
    if not isinstance(obj, dict):
        problems.append(f"{where} must be a JSON object of key: value.")
        return ()
    pairs = obj.pairs if isinstance(obj, JsonObject) else list(obj.items())
    keys: list[tuple[str, str]] = []
    for name, value in pairs:
        text = _key_value(value)
        if text is None:
            problems.append(f"{where}.{escape(name)} must be a string, number or true/false.")
        else:
            keys.append((name, text))
    return tuple(keys)


def _check_version(doc: dict[str, Any], source: str, problems: list[str],
                   current: int = DEFAULT_SERVICE_VERSION) -> int | None:
    """The file's version when it is one this app reads (1 up to `current`), else None with
    the problem noted; a newer version raises FutureVersionError."""
    version = doc.get("version")
    expected = "the number 1" if current == 1 else f"a number from 1 to {current}"
    if isinstance(version, bool) or not isinstance(version, int):
        problems.append(f"version must be {expected}.")
    elif version > current:
        raise FutureVersionError(
            f"{source} was written by a newer smtp-desktop (file version {version}; this version "
            f"reads {current}). Update smtp-desktop; the file is left untouched.")
    elif version < 1:
        problems.append(f"version must be {expected}.")
    else:
        return version
    return None


def _string(obj: dict[str, Any], name: str, where: str, problems: list[str]) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        problems.append(f"{where}.{name} must be a string.")
        return ""
    return value


def _port(obj: dict[str, Any], where: str, problems: list[str]) -> int:
    value = obj.get("port")
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}.port must be a whole number.")
        return 0
    return value


def read_settings_document(doc: Any, source: str = "settings.json",
                           extra_own_fields: tuple[str, ...] = ()
                           ) -> tuple[SmtpSettings | None, list[str]]:
    """Every shape problem of a parsed settings document, and the settings when each field
    could be read (possibly beside unknown or repeated fields, which are problems too).
    Field *values* are left to validation; a newer file version raises FutureVersionError."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise SettingsFileError(f"{source} must hold a JSON object.")
    if not (isinstance(doc, JsonObject) and doc.has_duplicates):
        version = _check_version(doc, source, problems, FILE_VERSION)
        if version is not None:
            doc = migrate_settings(doc, version, problems)
    if not _check_fields(doc, _TOP_FIELDS, source, problems):
        return None, problems
    unreadable = len(problems)  # problems after this one are values of the wrong type
    if not isinstance(doc["enabled"], bool):
        problems.append("enabled must be true or false.")
    service = Service.TESTSIGMA
    try:
        service = Service(doc["service"])
    except (ValueError, TypeError):
        problems.append('service must be "testsigma" or "own".')
    own = doc["own"]
    if not isinstance(own, dict):
        problems.append("own must be a JSON object.")
        return None, problems
    wrong_types = problems[unreadable:]
    if not _check_fields(own, _OWN_FIELDS, "own", problems, extra_own_fields):
        return None, problems
    unreadable = len(problems)
    host = _string(own, "host", "own", problems)
    username = _string(own, "username", "own", problems)
    port = _port(own, "own", problems)
    keys = parse_keys(own["keys"], "own.keys", problems)
    auth = AuthMethod.PASSWORD
    try:
        auth = AuthMethod(own["auth"])
    except (ValueError, TypeError):
        problems.append('own.auth must be "password" or "oauth2".')
    oauth2 = _parse_oauth2(own["oauth2"], problems)
    if wrong_types or problems[unreadable:] or oauth2 is None:  # nothing validation could check
        return None, problems
    return SmtpSettings(enabled=doc["enabled"], service=service, host=host, port=port,
                        username=username, keys=keys, auth=auth, oauth2=oauth2), problems


def _optional_string(obj: dict[str, Any], name: str, where: str, problems: list[str]) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        problems.append(f"{where}.{name} must be a string or null.")
        return None
    return value


def _parse_oauth2(obj: Any, problems: list[str]) -> OAuth2Settings | None:
    """`own.oauth2`'s shape; the values (a client ID present, endpoints that are URLs) are
    left to validation, which checks them only when the login uses OAuth2."""
    where = "own.oauth2"
    before = len(problems)
    if not _check_fields(obj, _OAUTH2_FIELDS, where, problems):
        return None
    provider = OAuth2Provider.MICROSOFT
    try:
        provider = OAuth2Provider(obj["provider"])
    except (ValueError, TypeError):
        problems.append(f'{where}.provider must be "microsoft", "google" or "custom".')
    client_id = _string(obj, "client_id", where, problems)
    optional = {name: _optional_string(obj, name, where, problems)
                for name in ("tenant", "authorization_endpoint", "token_endpoint",
                             "device_authorization_endpoint")}
    scopes = obj["scopes"]
    if scopes is not None and not (isinstance(scopes, list)
                                   and all(isinstance(s, str) for s in scopes)):
        problems.append(f"{where}.scopes must be a list of strings or null.")
    if len(problems) > before:
        return None
    return OAuth2Settings(provider=provider, client_id=client_id,
                          scopes=None if scopes is None else tuple(scopes), **optional)


def settings_from_document(doc: Any, source: str = "settings.json",
                           extra_own_fields: tuple[str, ...] = ()) -> SmtpSettings:
    """Turn a parsed settings document into settings; raise SettingsFileError listing every
    shape problem. Field *values* are left to validation."""
    settings, problems = read_settings_document(doc, source, extra_own_fields)
    if problems or settings is None:
        raise _shape_error(source, problems)
    return settings


def settings_to_document(settings: SmtpSettings) -> dict[str, Any]:
    return {
        "version": FILE_VERSION,
        "enabled": settings.enabled,
        "service": settings.service.value,
        "own": {
            "host": settings.host,
            "port": settings.port,
            "username": settings.username,
            "auth": settings.auth.value,
            "oauth2": oauth2_to_document(settings.oauth2),
            "keys": dict(settings.keys),
        },
    }


def default_service_from_document(doc: Any, source: str = "default-service.json") -> DefaultService:
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise SettingsFileError(f"{source} must hold a JSON object.")
    if not (isinstance(doc, JsonObject) and doc.has_duplicates):
        _check_version(doc, source, problems)
    if not _check_fields(doc, _DEFAULT_SERVICE_FIELDS, source, problems):
        raise _shape_error(source, problems)
    service = DefaultService(
        host=_string(doc, "host", source, problems),
        port=_port(doc, source, problems),
        username=_string(doc, "username", source, problems),
        sender=_string(doc, "sender", source, problems),
        keys=parse_keys(doc["keys"], "keys", problems),
    )
    if problems:
        raise _shape_error(source, problems)
    return service


def default_service_to_document(service: DefaultService) -> dict[str, Any]:
    return {"version": DEFAULT_SERVICE_VERSION, "host": service.host, "port": service.port,
            "username": service.username, "sender": service.sender, "keys": dict(service.keys)}


def _joined(source: str, problems: list[str]) -> str:
    return f"{source} has the wrong shape:\n" + "\n".join(f"  - {p}" for p in problems)


def _shape_error(source: str, problems: list[str]) -> SettingsFileError:
    return SettingsFileError(_joined(source, problems), problems,
                             context=f"{source} has the wrong shape")


# ---------------------------------------------------------------- files


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, fsync it, then rename it over `path`.

    A failure at any step leaves the previous file exactly as it was. The file is 0600 and a
    folder made for it 0700.
    """
    try:
        make_private_folder(path.parent)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise SettingsWriteError(f"Could not write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            restrict_file(handle.fileno())
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError):
            raise SettingsWriteError(f"Could not write {path}: {exc.strerror or exc}") from None
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class LoadResult:
    """What loading settings.json found. `notice` explains anything the user must know.

    `revision` identifies the file's content (None: no file); a save can insist that the file
    is still at that revision, so a change made underneath (another window, an import) is
    never overwritten silently.
    """

    settings: SmtpSettings
    exists: bool
    corrupt_backup: Path | None = None
    notice: str | None = None
    read_only: bool = False  # a file from a newer version: never overwritten
    revision: str | None = None


def revision_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


class SettingsStore:
    """Reads and writes settings.json in one folder; writers take a short lock file."""

    LOCK_TIMEOUT_S = 5.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(f".{path.name}.lock")

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the settings lock, so two processes never interleave a write."""
        import filelock

        try:
            make_private_folder(self.path.parent)
        except OSError as exc:
            raise SettingsWriteError(
                f"Could not create {self.path.parent}: {exc.strerror or exc}") from None
        lock = filelock.FileLock(str(self.lock_path), mode=PRIVATE_FILE_MODE,
                                 timeout=self.LOCK_TIMEOUT_S if timeout is None else timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise SettingsLockedError(
                f"{self.path.name} is being written by another smtp-desktop process "
                f"(lock {self.lock_path.name}); try again in a moment.") from None
        try:
            yield
        finally:
            lock.release()

    def _read_bytes(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SettingsFileError(f"Could not read {self.path}: {exc.strerror or exc}") from None

    def current_revision(self) -> str | None:
        data = self._read_bytes()
        return None if data is None else revision_of(data)

    def load(self, set_aside: bool = True) -> LoadResult:
        """Read settings.json. A damaged file is renamed aside (and reported) unless
        `set_aside` is False, when it raises SettingsFileError and changes nothing."""
        data = self._read_bytes()
        if data is None:
            return LoadResult(SmtpSettings(), exists=False)
        revision = revision_of(data)
        try:
            text = data.decode("utf-8")
            settings = settings_from_document(loads(text, self.path.name), self.path.name)
        except UnicodeDecodeError:
            if not set_aside:
                raise SettingsFileError(f"{self.path.name} is not UTF-8 text.") from None
            return self._set_aside(data, f"{self.path.name} is not UTF-8 text")
        except FutureVersionError as exc:
            return LoadResult(SmtpSettings(), exists=True, notice=str(exc), read_only=True,
                              revision=revision)
        except SettingsFileError as exc:
            if not set_aside:
                raise
            return self._set_aside(data, str(exc))
        return LoadResult(settings, exists=True, revision=revision)

    def _set_aside(self, damaged: bytes, reason: str) -> LoadResult:
        with self.lock():
            if self._read_bytes() != damaged:  # replaced by a writer meanwhile: read that one
                return self.load()
            stamp = time.strftime("%Y%m%dT%H%M%S")
            backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            counter = 1
            while backup.exists():
                backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{counter}")
                counter += 1
            os.replace(self.path, backup)
            restrict_file(backup)  # it may hold what a user typed, like any file of ours
        log.warning("settings file set aside as %s: %s", backup, reason)
        notice = (f"{reason}\nThe file was kept as {backup.name} and the app started with "
                  f"default settings.")
        return LoadResult(SmtpSettings(), exists=False, corrupt_backup=backup, notice=notice)

    def save(self, settings: SmtpSettings) -> str:
        """Write settings.json atomically (the caller holds the lock); return the new revision."""
        # Under the lock no other write is under way, so a temp file is what a killed writer left.
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        text = dumps(settings_to_document(settings))
        write_atomically(self.path, text)
        return revision_of(text.encode("utf-8"))
