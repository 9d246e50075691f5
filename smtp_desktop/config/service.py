"""The config service: validation, persistence and the password, behind one plain-Python API."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from smtp_desktop.config.errors import (
    InvalidSettingsError,
    NoSecureKeyringError,
    SecretStoreError,
    SettingsChangedError,
    SettingsFileError,
    SettingsWriteError,
)
from smtp_desktop.config.model import (
    DEFAULT_SERVICE_ACCOUNT,
    DefaultService,
    SmtpSettings,
    normalize_password,
)
from smtp_desktop.config.paths import AppPaths
from smtp_desktop.config.secrets import SecretStore
from smtp_desktop.config.store import (
    LoadResult,
    SettingsStore,
    default_service_from_document,
    default_service_to_document,
    dumps,
    loads,
    read_settings_document,
    settings_to_document,
    write_atomically,
)
from smtp_desktop.config.tokens import TokenStore, client_key, same_client, token_account
from smtp_desktop.config.validation import validate, validate_default_service

log = logging.getLogger(__name__)

ANY_REVISION = object()  # save() without checking what is on disk (CLI import, tests)


@dataclass(frozen=True)
class SaveResult:
    """The settings were saved; `password_error` says why the password was not, if it was not."""

    settings: SmtpSettings
    password_stored: bool = False
    password_moved: bool = False
    password_error: str | None = None
    revision: str | None = None

    @property
    def message(self) -> str:
        if self.password_error:
            return f"Settings saved, but the password was not: {self.password_error}"
        if self.password_stored:
            return "Settings saved; the password is in the system keyring."
        if self.password_moved:
            return "Settings saved; the stored password moved to the new account."
        return "Settings saved."


@dataclass(frozen=True)
class PasswordStatus:
    stored: bool | None  # None: unknown, see `problem`
    problem: str | None = None


@dataclass(frozen=True)
class DefaultServiceStatus:
    service: DefaultService | None
    problem: str | None = None  # a provisioned file that could not be used


class ConfigService:
    """Loads, validates and saves settings; keeps the password in the keyring."""

    def __init__(self, paths: AppPaths, secrets: SecretStore | None = None) -> None:
        self.paths = paths
        self.secrets = secrets or SecretStore()
        self.store = SettingsStore(paths.settings_file)

    # ------------------------------------------------------------ settings

    def load(self, set_aside: bool = True) -> LoadResult:
        return self.store.load(set_aside)

    def save(self, settings: SmtpSettings, password: str | None = None,
             previous: SmtpSettings | None = None,
             expected_revision: str | object | None = ANY_REVISION) -> SaveResult:
        """Validate and save `settings` atomically; store `password` when given.

        An empty or None password keeps the stored one. When the username or host changed, a
        stored password moves to the new account. The keyring is written before the settings
        file is replaced and the old entry is removed only after, so a crash at any moment
        leaves a file whose account holds a password. Writers hold a lock file; with
        `expected_revision` (from LoadResult/SaveResult.revision) a file changed underneath
        raises SettingsChangedError instead of being overwritten.
        """
        problems = validate(settings)
        if problems:
            raise InvalidSettingsError(problems, "The settings were not saved")
        with self.store.lock():
            if expected_revision is not ANY_REVISION and (
                    self.store.current_revision() != expected_revision):
                raise SettingsChangedError(
                    f"{self.paths.settings_file.name} was changed by another window or command "
                    "since it was loaded.")
            return self._save_locked(settings, password, previous)

    def _save_locked(self, settings: SmtpSettings, password: str | None,
                     previous: SmtpSettings | None) -> SaveResult:
        new_account = settings.password_account
        old_account = previous.password_account if previous else None
        secret = normalize_password(password).value if password else ""
        password_error: str | None = None
        to_store: str | None = None
        if secret and new_account:
            to_store = secret
        elif secret and not new_account:
            password_error = "enter the host and username first; the password belongs to them."
        elif old_account and new_account and old_account != new_account:
            try:
                # The rule: the password follows the account. An entry already under the
                # new account (a crash's leftover, or another profile of the same account) is
                # replaced, so the file and the keyring always agree.
                to_store = self.secrets.get(old_account)
            except SecretStoreError as exc:
                password_error = str(exc)
        stored = False
        before: str | None = None  # what the new account held, for a rollback
        if to_store is not None and new_account:
            try:
                before = self.secrets.get(new_account)
                self.secrets.set(new_account, to_store)
                stored = True
            except SecretStoreError as exc:
                password_error = str(exc)
        moved_tokens = self._carry_tokens(settings, previous)
        try:
            revision = self.store.save(settings)
        except SettingsWriteError as exc:
            if moved_tokens:
                self._forget_tokens(settings)
            if not stored or new_account is None:
                raise
            # The settings stay as they were, so the keyring must too: no password is left
            # behind for an account the file does not name.
            raise SettingsWriteError(f"{exc} {self._roll_back(new_account, before)}") from None
        moved = False
        if stored and old_account and old_account != new_account:
            try:
                moved = self.secrets.delete(old_account) and not secret
            except SecretStoreError as exc:
                log.warning("could not remove the old keyring entry %s: %s", old_account, exc)
        self._drop_old_tokens(settings, previous)
        log.info("settings saved to %s", self.paths.settings_file)
        return SaveResult(settings, password_stored=stored and bool(secret),
                          password_moved=moved, password_error=password_error,
                          revision=revision)

    # ------------------------------------------------------------ OAuth2 tokens

    @property
    def tokens(self) -> TokenStore:
        return TokenStore(self.secrets)

    def _carry_tokens(self, settings: SmtpSettings, previous: SmtpSettings | None) -> bool:
        """Tokens follow the account as the password does: written under the new account before
        the file names it. Not when the client changed (that signs out). True when copied."""
        if previous is None or not same_client(previous, settings):
            return False
        old, new = token_account(previous), token_account(settings)
        if not old or not new or old == new:
            return False
        try:
            tokens = self.tokens.get(previous)
            if tokens is None:
                return False
            self.tokens.set(settings, tokens)
        except SecretStoreError as exc:
            log.warning("could not move the OAuth2 tokens to %s: %s", new, exc)
            return False
        return True

    def _forget_tokens(self, settings: SmtpSettings) -> None:
        try:
            self.tokens.delete(settings)
        except SecretStoreError as exc:
            log.warning("could not remove OAuth2 tokens: %s", exc)

    def _drop_old_tokens(self, settings: SmtpSettings, previous: SmtpSettings | None) -> None:
        """After the file names the new account: the old account's tokens go; a changed
        provider, client ID or tenant signs out (the tokens belong to the old client)."""
        if previous is None:
            return
        if token_account(previous) and token_account(previous) != token_account(settings):
            self._forget_tokens(previous)
        if not same_client(previous, settings):
            # Tokens issued to the new client (a sign-in from the window's draft) stay.
            for account_of in (previous, settings):
                try:
                    tokens = self.tokens.get(account_of)
                except SecretStoreError:
                    tokens = None
                if tokens is not None and tokens.client != client_key(settings):
                    self._forget_tokens(account_of)

    def _roll_back(self, account: str, before: str | None) -> str:
        """Put back what `account` held before a save that failed; says what happened."""
        try:
            if before is None:
                self.secrets.delete(account)
                return "The new password was not kept in the keyring (rolled back)."
            self.secrets.set(account, before)
            return "The keyring holds the previous password again (rolled back)."
        except SecretStoreError as exc:
            log.warning("could not roll back the keyring entry %s: %s", account, exc)
            return f"The new password could not be taken out of the keyring again: {exc}"

    # ------------------------------------------------------------ password

    def has_password(self, settings: SmtpSettings) -> bool:
        return self.secrets.has(settings.password_account)

    def password_status(self, settings: SmtpSettings) -> PasswordStatus:
        """Whether a password is stored, or why that cannot be known (e.g. a locked keyring)."""
        account = settings.password_account
        if not account:
            return PasswordStatus(False)
        try:
            return PasswordStatus(self.secrets.get(account) is not None)
        except SecretStoreError as exc:
            return PasswordStatus(None, str(exc))

    def password_for(self, settings: SmtpSettings) -> str | None:
        account = settings.password_account
        return self.secrets.get(account) if account else None

    def forget_password(self, settings: SmtpSettings) -> bool:
        account = settings.password_account
        return bool(account) and self.secrets.delete(account)

    @property
    def keyring_is_secure(self) -> bool:
        try:
            return self.secrets.is_secure
        except Exception:
            return False

    # ------------------------------------------------------------ export / import

    def export(self, settings: SmtpSettings, path: Path) -> None:
        """Write the settings in the settings.json shape; never the password."""
        write_atomically(path, dumps(settings_to_document(settings)))

    def read_import(self, path: Path) -> SmtpSettings:
        """Parse and validate a file in the settings.json shape; raise on any problem.

        `own.preset` (a preset id) and `own.region` may stand in for host, port and keys;
        fields written in the file win over the preset's.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsFileError(f"Could not read {path}: {exc}") from None
        from smtp_desktop.config.presets import expand_import_document

        document = expand_import_document(loads(text, path.name), path.name)
        settings, shape_problems = read_settings_document(document, path.name)
        problems = validate(settings) if settings is not None else []
        context = f"{path.name} was not imported"
        if shape_problems:  # every problem at once: the file's shape and its values
            listed = [*shape_problems, *map(str, problems)]
            raise SettingsFileError(
                f"{context}:\n" + "\n".join(f"  - {p}" for p in listed), listed, context)
        if problems or settings is None:
            raise InvalidSettingsError(problems, context)
        return settings

    # ------------------------------------------------------------ default service

    def default_service(self) -> DefaultServiceStatus:
        path = self.paths.default_service_file
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return DefaultServiceStatus(None)
        except (OSError, UnicodeDecodeError) as exc:
            return DefaultServiceStatus(None, f"Could not read {path.name}: {exc}")
        try:
            service = default_service_from_document(loads(text, path.name), path.name)
        except SettingsFileError as exc:
            return DefaultServiceStatus(None, str(exc))
        problems = validate_default_service(service)
        if problems:
            listed = "; ".join(str(p) for p in problems)
            return DefaultServiceStatus(None, f"{path.name} is invalid: {listed}")
        return DefaultServiceStatus(service)

    def read_default_service(self, path: Path) -> DefaultService:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsFileError(f"Could not read {path}: {exc}") from None
        service = default_service_from_document(loads(text, path.name), path.name)
        problems = validate_default_service(service)
        if problems:
            raise InvalidSettingsError(problems, f"{path.name} was not imported")
        return service

    def save_default_service(self, service: DefaultService, password: str | None) -> None:
        """Provision the default service; the password goes to the keyring first, and out of it
        again when the file cannot be written."""
        before: str | None = None
        if password:
            before = self.secrets.get(DEFAULT_SERVICE_ACCOUNT)
            self.secrets.set(DEFAULT_SERVICE_ACCOUNT, normalize_password(password).value)
        try:
            write_atomically(self.paths.default_service_file,
                             dumps(default_service_to_document(service)))
        except SettingsWriteError as exc:
            if not password:
                raise
            raise SettingsWriteError(
                f"{exc} {self._roll_back(DEFAULT_SERVICE_ACCOUNT, before)}") from None

    def default_service_password(self) -> str | None:
        return self.secrets.get(DEFAULT_SERVICE_ACCOUNT)


__all__ = [
    "ConfigService",
    "DefaultServiceStatus",
    "InvalidSettingsError",
    "NoSecureKeyringError",
    "SaveResult",
]
