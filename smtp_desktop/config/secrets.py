"""The password's only home: the OS keyring, through the `keyring` library.

A backend that is not secure (keyring's fail and null backends, plaintext or file backends such
as keyrings.alt) is refused with advice, never used silently.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from smtp_desktop.config.errors import NoSecureKeyringError, SecretStoreError
from smtp_desktop.config.model import KEYRING_SERVICE

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

_INSECURE_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def install_advice() -> str:
    if sys.platform.startswith("linux"):
        return ("Install and start a Secret Service keyring such as GNOME Keyring "
                "(apt install gnome-keyring) or KWallet, then try again.")
    if sys.platform == "darwin":
        return "The macOS Keychain should be available; check that it is unlocked."
    return "Windows Credential Manager should be available; check that it is enabled."


def _leaf_backends(backend: KeyringBackend) -> list[KeyringBackend]:
    children = getattr(backend, "backends", None)
    if children is not None:  # keyring's ChainerBackend
        return list(children)
    return [backend]


def is_secure_backend(backend: KeyringBackend) -> bool:
    leaves = _leaf_backends(backend)
    if not leaves:
        return False
    for leaf in leaves:
        module = type(leaf).__module__
        if module.startswith(_INSECURE_MODULE_PREFIXES):
            return False
        try:
            if float(type(leaf).priority) < 1:  # type: ignore[arg-type]
                return False
        except Exception:  # priority can raise when the backend is not usable at all
            return False
    return True


def backend_description(backend: KeyringBackend) -> str:
    leaves = _leaf_backends(backend)
    names = [getattr(leaf, "name", type(leaf).__name__) for leaf in leaves]
    return ", ".join(names) or "none"


class SecretStore:
    """Passwords keyed by account under the service name `smtp-desktop`."""

    def __init__(self, backend: KeyringBackend | None = None,
                 service: str = KEYRING_SERVICE) -> None:
        self._backend = backend
        self.service = service

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    @property
    def is_secure(self) -> bool:
        return is_secure_backend(self.backend)

    @property
    def description(self) -> str:
        return backend_description(self.backend)

    @property
    def place(self) -> str:
        """Where a stored password lives, in words ("the system keyring"); a backend may name
        itself with a `place` attribute (the demo's in-memory keyring does)."""
        return str(getattr(self.backend, "place", "the system keyring"))

    def require_secure(self) -> KeyringBackend:
        """The backend, or NoSecureKeyringError with advice on what to install."""
        backend = self.backend
        if not is_secure_backend(backend):
            raise NoSecureKeyringError(
                f"No secure keyring is available (found: {backend_description(backend)}), so "
                f"the password was not stored. {install_advice()}")
        return backend

    def get(self, account: str) -> str | None:
        backend = self.require_secure()
        try:
            return backend.get_password(self.service, account)
        except Exception as exc:
            raise SecretStoreError(_describe("read the password from", exc)) from None

    def has(self, account: str | None) -> bool:
        """Whether a password is stored; False when it cannot be known (no secure keyring)."""
        if not account:
            return False
        try:
            return self.get(account) is not None
        except SecretStoreError:
            return False

    def set(self, account: str, password: str) -> None:
        backend = self.require_secure()
        try:
            backend.set_password(self.service, account, password)
        except Exception as exc:
            raise SecretStoreError(_describe("store the password in", exc)) from None
        log.info("password for %s stored in %s", account, backend_description(backend))

    def delete(self, account: str) -> bool:
        """Delete the password; False when none was stored."""
        import keyring.errors

        backend = self.require_secure()
        try:
            backend.delete_password(self.service, account)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as exc:
            raise SecretStoreError(_describe("delete the password from", exc)) from None
        return True


def _describe(action: str, exc: Exception) -> str:
    # Exception text from keyring backends names the service and account at most, never the
    # password, but keep only its class and first line to be safe.
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    detail = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return f"Could not {action} the keyring ({detail}). Unlock the keyring and try again."
