"""A private D-Bus session bus with gnome-keyring's Secret Service, for real keyring tests.

Nothing here touches the user's session bus or keyring: the daemons run with HOME and the XDG
folders inside a fresh temp folder (an old keyring file with another password would stay locked),
without any inherited DBUS_SESSION_BUS_ADDRESS or DISPLAY, and tests reach the bus only through
the DBUS_SESSION_BUS_ADDRESS that `secret_service_keyring` sets for them.

The daemons, as started here:
    dbus-daemon --session --nofork --print-address=1 --print-pid=1
    gnome-keyring-daemon --foreground --unlock --components=secrets   (login password on stdin)

Fixtures:
    secret_service            session-scoped PrivateSecretService (address, env, pids)
    secret_service_keyring    per test: DBUS_SESSION_BUS_ADDRESS points at the private bus, the
                              default collection is emptied and unlocked, and a
                              keyring.backends.SecretService.Keyring is returned

Both skip only when dbus-daemon or gnome-keyring-daemon is not installed; any other failure to
start is an error that shows the daemons' output.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from jeepney.io.blocking import DBusConnection
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

SECRETS_BUS_NAME = "org.freedesktop.secrets"
START_TIMEOUT = 20.0  # seconds; generous for loaded CI machines, reached only on failure
STOP_TIMEOUT = 5.0
# gnome-keyring's test hook to unlock a collection without a prompt (its own tests use it).
_INTERNAL_IFACE = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
# Variables that could lead a daemon (or a prompter it starts) to the user's real session.
_INHERITED_SESSION_VARS = (
    "DBUS_SESSION_BUS_ADDRESS", "DBUS_STARTER_ADDRESS", "DBUS_STARTER_BUS_TYPE",
    "GNOME_KEYRING_CONTROL", "GNOME_KEYRING_PID", "SSH_AUTH_SOCK", "DISPLAY", "WAYLAND_DISPLAY",
)


class SecretServiceStartError(RuntimeError):
    """The private bus or gnome-keyring-daemon did not come up, or could not be reset."""


@dataclass
class PrivateSecretService:
    """A running private session bus with gnome-keyring's Secret Service on it."""

    root: Path
    address: str
    bus_pid: int
    keyring_pid: int
    password: str
    env: dict[str, str] = field(repr=False)  # what the daemons run with (no user session)
    _bus_process: subprocess.Popen[bytes] = field(repr=False)
    _keyring_process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def keyrings_dir(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "keyrings"

    def backend(self) -> SecretServiceKeyring:
        """keyring's Secret Service backend; it connects through DBUS_SESSION_BUS_ADDRESS on each
        call, so that variable must name this bus while the backend is used (see
        `secret_service_keyring`). Refuses to hand out a backend that would reach another bus."""
        current = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if current != self.address:
            raise RuntimeError(
                f"DBUS_SESSION_BUS_ADDRESS is {current!r}, not the private bus {self.address!r}; "
                "use the secret_service_keyring fixture or set it with monkeypatch first.")
        from keyring.backends.SecretService import Keyring

        return Keyring()

    @contextlib.contextmanager
    def connection(self) -> Iterator[DBusConnection]:
        """A jeepney connection to the private bus, usable with secretstorage's API."""
        from jeepney.io.blocking import open_dbus_connection

        with closing(open_dbus_connection(self.address)) as conn:
            yield conn

    def default_collection(self, conn: DBusConnection) -> Any:
        import secretstorage

        # Collection() opens the "default" alias and never prompts, unlike
        # get_default_collection(), which would try to create a missing collection.
        return secretstorage.Collection(conn)

    def unlock(self) -> None:
        """Unlock the default collection with the login password, without a prompt."""
        from jeepney import DBusAddress, new_method_call

        with self.connection() as conn:
            collection = self.default_collection(conn)
            if not collection.is_locked():
                return
            service = DBusAddress("/org/freedesktop/secrets", SECRETS_BUS_NAME, _INTERNAL_IFACE)
            session, _ = _open_plain_session(conn)
            secret = (session, b"", self.password.encode(), "text/plain")
            message = new_method_call(service, "UnlockWithMasterPassword", "o(oayays)",
                                      (collection.collection_path, secret))
            _checked_reply(conn, message)
            if collection.is_locked():
                raise SecretServiceStartError("the default collection stayed locked after unlocking")

    def clear(self) -> None:
        """Delete every item of the default collection, so each test starts empty."""
        self.unlock()
        with self.connection() as conn:
            for item in list(self.default_collection(conn).get_all_items()):
                item.delete()

    def is_running(self) -> bool:
        return self._bus_process.poll() is None and self._keyring_process.poll() is None

    def stop(self) -> None:
        _stop_child(self._keyring_process)
        _stop_child(self._bus_process)


def _open_plain_session(conn: DBusConnection) -> tuple[str, Any]:
    from jeepney import DBusAddress, new_method_call

    service = DBusAddress("/org/freedesktop/secrets", SECRETS_BUS_NAME,
                          "org.freedesktop.Secret.Service")
    output, session = _checked_reply(
        conn, new_method_call(service, "OpenSession", "sv", ("plain", ("s", ""))))
    return session, output


def _checked_reply(conn: DBusConnection, message: Any, timeout: float = START_TIMEOUT) -> Any:
    from jeepney import HeaderFields, MessageType

    reply = conn.send_and_get_reply(message, timeout=timeout)
    if reply.header.message_type is MessageType.error:
        name = reply.header.fields.get(HeaderFields.error_name, "D-Bus error")
        raise SecretServiceStartError(f"{name}: {reply.body}")
    return reply.body


# ---------------------------------------------------------------- processes


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live process; a zombie waiting for its parent counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    # The state follows the parenthesised command name, which may itself hold spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)  # a polling interval, bounded by the deadline above


def _stop_child(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


# Looked up here, not in the forked child, where loading a library could deadlock.
_PRCTL = _prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in each daemon before exec: should pytest be killed without its teardown, the
    kernel sends the daemon SIGTERM, so no private bus or keyring outlives the test run."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _spawn(command: list[str], env: dict[str, str], root: Path, name: str,
           stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    # Output goes to files, not pipes: a daemon must never block on a full pipe nobody reads.
    with open(root / f"{name}.out", "wb") as out, open(root / f"{name}.err", "wb") as err:
        return subprocess.Popen(command, env=env, cwd=root, stdin=stdin, stdout=out, stderr=err,
                                start_new_session=True, preexec_fn=_die_with_parent)


def _output(root: Path, name: str) -> str:
    parts = []
    for stream in ("out", "err"):
        path = root / f"{name}.{stream}"
        text = path.read_text(errors="replace") if path.exists() else ""
        parts.append(f"std{stream}: {text.strip() or '(empty)'}")
    return "\n".join(parts)


def _daemon_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_SESSION_VARS}
    home = root / "home"
    runtime = root / "run"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_RUNTIME_DIR=str(runtime),
    )
    return env


def _start_bus(dbus_daemon: str, env: dict[str, str], root: Path,
               ) -> tuple[subprocess.Popen[bytes], str]:
    # --nofork rather than --fork: the bus stays our child, so it can be waited for and gets
    # the parent-death signal. The standard session config lets the bus activate the system's
    # services; those run with this env (private folders, no DISPLAY), so gnome-keyring's GUI
    # prompter, asked for when a locked collection is used, exits at once and the unlock
    # counts as dismissed.
    command = [dbus_daemon, "--session", "--nofork", "--print-address=1", "--print-pid=1"]
    process = _spawn(command, env, root, "dbus-daemon")
    lines: list[str] = []

    def printed() -> bool:
        nonlocal lines
        lines = (root / "dbus-daemon.out").read_text().split()
        return len(lines) >= 2 or process.poll() is not None

    if not _wait_until(printed, START_TIMEOUT) or len(lines) < 2:
        _stop_child(process)
        what = (f"exited with {process.returncode}" if process.returncode is not None
                else f"printed no address within {START_TIMEOUT:.0f} s")
        raise SecretServiceStartError(
            f"{' '.join(command)} {what}.\n{_output(root, 'dbus-daemon')}")
    if lines[1] != str(process.pid):
        _stop_child(process)
        raise SecretServiceStartError(f"dbus-daemon printed pid {lines[1]}, expected {process.pid}")
    return process, lines[0]


def _secrets_ready(address: str) -> tuple[bool, str]:
    """Whether the Secret Service owns its name and its default collection is unlocked."""
    import secretstorage
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    try:
        with closing(open_dbus_connection(address)) as conn:
            (owned,) = conn.send_and_get_reply(message_bus.NameHasOwner(SECRETS_BUS_NAME),
                                               timeout=STOP_TIMEOUT).body
            if not owned:
                return False, f"{SECRETS_BUS_NAME} has no owner on the bus yet"
            try:
                collection = secretstorage.Collection(conn)
            except secretstorage.exceptions.ItemNotFoundException:
                return False, "the default collection does not exist yet"
            if collection.is_locked():
                return False, "the default collection is locked"
            return True, ""
    except (OSError, secretstorage.exceptions.SecretStorageException, TimeoutError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


def start_private_secret_service(root: Path, password: str = "smtp-desktop-tests",
                                 ) -> PrivateSecretService:
    """Start dbus-daemon and gnome-keyring-daemon under `root` (an empty folder) and wait until
    the default collection is usable. Skips when a daemon binary is missing; raises
    SecretServiceStartError, with the daemons' output, on any other failure."""
    dbus_daemon = shutil.which("dbus-daemon")
    gnome_keyring = shutil.which("gnome-keyring-daemon")
    missing = [name for name, path in (("dbus-daemon", dbus_daemon),
                                       ("gnome-keyring-daemon", gnome_keyring)) if path is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed "
                    "(apt install dbus gnome-keyring) - no Secret Service to test against")
    assert dbus_daemon is not None and gnome_keyring is not None
    env = _daemon_env(root)
    bus, address = _start_bus(dbus_daemon, env, root)
    keyring_env = dict(env, DBUS_SESSION_BUS_ADDRESS=address)
    command = [gnome_keyring, "--foreground", "--unlock", "--components=secrets"]
    keyring: subprocess.Popen[bytes] | None = None
    try:
        # --foreground keeps the daemon our child, so its pid and exit status are known (with
        # --daemonize it forks away). --unlock reads the login keyring's password from stdin up
        # to EOF and creates that keyring, unlocked, as the default collection.
        keyring = _spawn(command, keyring_env, root, "gnome-keyring", stdin=subprocess.PIPE)
        assert keyring.stdin is not None
        # A daemon that dies at once closes the pipe first; its exit is reported below.
        with contextlib.suppress(BrokenPipeError):
            keyring.stdin.write(password.encode())
        with contextlib.suppress(BrokenPipeError):
            keyring.stdin.close()
        last_reason = ""

        def ready() -> bool:
            nonlocal last_reason
            if keyring.poll() is not None or bus.poll() is not None:
                return True  # stop polling; reported below
            ok, last_reason = _secrets_ready(address)
            return ok

        in_time = _wait_until(ready, START_TIMEOUT)
        if keyring.poll() is not None:
            what = f"exited with {keyring.returncode}"
        elif bus.poll() is not None:
            what = f"lost its bus: dbus-daemon exited with {bus.returncode}"
        elif not in_time:
            what = f"was not ready after {START_TIMEOUT:.0f} s ({last_reason})"
        else:
            return PrivateSecretService(
                root=root, address=address, bus_pid=bus.pid, keyring_pid=keyring.pid,
                password=password, env=keyring_env, _bus_process=bus, _keyring_process=keyring)
        raise SecretServiceStartError(
            f"{' '.join(command)} {what}.\n{_output(root, 'gnome-keyring')}\n"
            f"dbus-daemon {_output(root, 'dbus-daemon')}")
    except BaseException:
        if keyring is not None:
            _stop_child(keyring)
        _stop_child(bus)
        raise


@contextlib.contextmanager
def private_secret_service(password: str = "smtp-desktop-tests") -> Iterator[PrivateSecretService]:
    """A private Secret Service in a fresh temp folder (an old keyring file would stay locked),
    stopped and removed on exit."""
    # Under /tmp rather than pytest's basetemp: unix socket paths must stay short.
    root = Path(tempfile.mkdtemp(prefix="smtp-desktop-ss-"))
    try:
        service = start_private_secret_service(root, password)
        try:
            yield service
        finally:
            service.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def secret_service() -> Iterator[PrivateSecretService]:
    """One private Secret Service for the whole test session."""
    with private_secret_service() as service:
        yield service


@pytest.fixture
def secret_service_keyring(secret_service: PrivateSecretService,
                           monkeypatch: pytest.MonkeyPatch) -> SecretServiceKeyring:
    """keyring's Secret Service backend on the private bus, with an empty, unlocked collection.

    DBUS_SESSION_BUS_ADDRESS names the private bus for the duration of the test."""
    if not secret_service.is_running():
        raise SecretServiceStartError("the private Secret Service is no longer running")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.address)
    secret_service.clear()
    return secret_service.backend()
