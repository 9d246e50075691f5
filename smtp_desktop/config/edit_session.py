"""The edit session: the saved settings, the draft being edited, and what Save and a check use.

Plain Python, no Qt: the window renders a session and forwards the user's intent to it; the CLI
and tests drive it the same way. Work that may block (the keyring over D-Bus, the settings lock
for up to 5 s) comes as *jobs*: `save_job()`, `password_state_job()` and `forget_job()` return a
callable that snapshots its inputs, runs anywhere (the window runs it in a worker) and returns a
value the session takes back with `finish_save()` / `set_password_state()` on its own thread.
`save()` and `refresh_password_state()` do both steps at once, for the CLI and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from smtp_desktop.config.errors import ConfigError, Problem, SecretStoreError
from smtp_desktop.config.model import DEFAULT_PORT, Service, SmtpSettings
from smtp_desktop.config.service import ANY_REVISION, ConfigService, SaveResult
from smtp_desktop.config.validation import validate

if TYPE_CHECKING:
    from smtp_desktop.checks import CheckKind, CheckRequest
    from smtp_desktop.outbox.faults import FaultRule


SAVED, UNSAVED = "saved", "unsaved"  # which settings a check ran on (history "settings")


# Plain value classes rather than dataclasses: this module is on the window's start-up path,
# where each dataclass definition costs 3-5 M instructions (README, start-up benchmark).


class PasswordState:
    """Whether a password is stored for the saved account, and where passwords go."""

    __slots__ = ("generation", "keyring", "problem", "secure", "stored")

    def __init__(self, secure: bool | None = None, stored: bool | None = False,
                 problem: str | None = None, keyring: str = "the system keyring",
                 generation: int = 0) -> None:
        self.secure = secure  # None: the keyring has not been asked yet
        self.stored = stored  # None: unknown, see `problem` (e.g. a locked keyring)
        self.problem = problem
        self.keyring = keyring  # where a stored password lives, in words
        self.generation = generation  # which request this answers; an older one is stale

    def __repr__(self) -> str:
        return (f"PasswordState(secure={self.secure}, stored={self.stored}, "
                f"problem={self.problem!r}, keyring={self.keyring!r})")


class LoadOutcome:
    """What `EditSession.load()` found that the user must be told."""

    __slots__ = ("failed", "notice", "status")

    def __init__(self, notice: str | None = None, status: str = "",
                 failed: bool = False) -> None:
        self.notice = notice  # a file set aside, a newer version, an unreadable file
        self.status = status  # one line for the status bar
        self.failed = failed  # nothing could be loaded: the session is read-only on defaults


class ForgetResult:
    """What Forget stored password did."""

    __slots__ = ("error", "removed")

    def __init__(self, removed: bool, error: str | None = None) -> None:
        self.removed = removed
        self.error = error

    @property
    def message(self) -> str:
        if self.error:
            return self.error
        return ("The stored password was removed from the keyring." if self.removed
                else "No password was stored.")


class EditSession:
    """Saved settings, the draft, its problems and the password's state, over a ConfigService."""

    def __init__(self, config: ConfigService) -> None:
        self.config = config
        self.saved = SmtpSettings()
        self.draft = SmtpSettings()
        self.password = ""  # typed and not yet saved; never written anywhere but the keyring
        self.revision: str | None = None
        self.read_only = False
        self.port_notice = ""  # the saved port was out of range and is replaced on Save
        self.password_state = PasswordState()
        # How the embedded local outbox answers checks (a rehearsal, never saved): fault rules.
        self.outbox_faults: tuple[FaultRule, ...] = ()
        self._generation = 0

    # ------------------------------------------------------------ loading

    def load(self) -> LoadOutcome:
        """Read settings.json into `saved` and the draft (a damaged file is set aside)."""
        self.password = ""
        try:
            result = self.config.load()
        except ConfigError as exc:
            self.read_only = True
            self._take_saved(SmtpSettings(), None)
            return LoadOutcome(str(exc), failed=True)
        self.read_only = result.read_only
        self._take_saved(result.settings, result.revision)
        status = ""
        if result.exists and validate(result.settings):
            status = "The saved settings have problems; they are marked below."
        elif result.notice:
            status = result.notice.splitlines()[0]
        return LoadOutcome(result.notice, status)

    def _take_saved(self, settings: SmtpSettings, revision: str | None) -> None:
        in_range = 1 <= settings.port <= 65535
        self.port_notice = "" if in_range else (
            f"The saved port {settings.port} is out of range (1 to 65535); {DEFAULT_PORT} is "
            "shown instead and will be saved.")
        self.saved = settings
        self.revision = revision
        self.draft = settings if in_range else replace(settings, port=DEFAULT_PORT)

    # ------------------------------------------------------------ editing

    def set_draft(self, settings: SmtpSettings) -> None:
        self.draft = settings

    def set_password(self, password: str) -> None:
        self.password = password

    def revert(self) -> None:
        """Drop the edits: the draft becomes the saved settings again."""
        self._take_saved(self.saved, self.revision)
        self.password = ""

    @property
    def dirty(self) -> bool:
        return self.draft != self.saved or bool(self.password)

    @property
    def problems(self) -> list[Problem]:
        """The draft's validation problems, with the out-of-range saved port among them."""
        problems = validate(self.draft)
        if self.port_notice and self.draft.port == DEFAULT_PORT and not any(
                p.field == "port" for p in problems):
            problems.append(Problem("port", self.port_notice))
        return problems

    @property
    def can_save(self) -> bool:
        return self.dirty and not validate(self.draft) and not self.read_only

    @property
    def active_own(self) -> bool:
        """Whether the @own fields are in use (and so validated): SMTP on, service @own."""
        return self.draft.enabled and self.draft.service is Service.OWN

    # ------------------------------------------------------------ saving

    def save_job(self, *, overwrite: bool = False) -> Callable[[], SaveResult]:
        """A blocking job that saves the draft and the typed password.

        Without `overwrite`, a file changed since it was loaded raises SettingsChangedError;
        with it, the file is overwritten and the password follows the account on disk now.
        Raises InvalidSettingsError or another ConfigError when nothing was saved.
        """
        config, settings, password = self.config, self.draft, self.password or None
        previous, revision = self.saved, self.revision

        def save() -> SaveResult:
            if overwrite:
                on_disk = config.load().settings
                return config.save(settings, password, previous=on_disk,
                                   expected_revision=ANY_REVISION)
            return config.save(settings, password, previous=previous,
                               expected_revision=revision)

        return save

    def finish_save(self, result: SaveResult) -> None:
        """Take a finished save: its settings become the saved ones."""
        self.saved = result.settings
        self.draft = result.settings
        self.revision = result.revision
        self.port_notice = ""
        if not result.password_error:
            self.password = ""  # a password that was not stored stays in the field

    def save(self, *, overwrite: bool = False) -> SaveResult:
        """Save now (blocking), then refresh the password state."""
        result = self.save_job(overwrite=overwrite)()
        self.finish_save(result)
        self.refresh_password_state()
        return result

    # ------------------------------------------------------------ the password

    def password_state_job(self, settings: SmtpSettings | None = None,
                           ) -> Callable[[], PasswordState]:
        """A blocking job that asks the keyring whether the saved account (or that of
        `settings`, e.g. the draft being saved) has a password."""
        self._generation += 1
        config, generation = self.config, self._generation
        saved = settings if settings is not None else self.saved

        def ask() -> PasswordState:
            secure = config.keyring_is_secure
            place = config.secrets.place
            if not secure:
                return PasswordState(False, False, keyring=place, generation=generation)
            status = config.password_status(saved)
            return PasswordState(True, status.stored, status.problem, place, generation)

        return ask

    def set_password_state(self, state: PasswordState) -> bool:
        """Take the answer of `password_state_job()`; False (and ignored) when an answer to a
        later request has already been taken."""
        if state.generation < self.password_state.generation:
            return False
        self.password_state = state
        return True

    def password_state_failed(self, problem: str) -> None:
        """The keyring could not be asked at all: no secure keyring, as far as we know."""
        self.password_state = PasswordState(False, None, problem,
                                            self.password_state.keyring, self._generation)

    def refresh_password_state(self) -> PasswordState:
        self.set_password_state(self.password_state_job()())
        return self.password_state

    def forget_job(self) -> Callable[[], ForgetResult]:
        """A blocking job that deletes the password stored for the saved account."""
        config, saved = self.config, self.saved

        def forget() -> ForgetResult:
            try:
                return ForgetResult(config.forget_password(saved))
            except SecretStoreError as exc:
                return ForgetResult(False, str(exc))

        return forget

    @property
    def password_available(self) -> bool:
        """Whether a check has a password: typed, or stored for the saved account."""
        return bool(self.password) or bool(self.password_state.stored)

    # ------------------------------------------------------------ checks

    @property
    def settings_state(self) -> str:
        """"saved", or "unsaved" while the form holds edits a check would use."""
        return UNSAVED if self.dirty else SAVED

    def check_request(self, kind: CheckKind, recipient: str | None = None,
                      sender: str | None = None) -> CheckRequest:
        """A send or probe on what the form shows: the draft, the typed password, else the one
        stored for the saved account (the one Save would move to the draft's account)."""
        from smtp_desktop.checks import CheckRequest

        return CheckRequest(kind, self.draft, password=self.password or None,
                            recipient=recipient or None, sender=sender or None,
                            password_account=self.saved.password_account or None,
                            settings_state=self.settings_state,
                            outbox_faults=self.outbox_faults)


__all__ = ["SAVED", "UNSAVED", "EditSession", "ForgetResult", "LoadOutcome", "PasswordState"]
