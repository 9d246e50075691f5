"""A real SMTP server that is not on loopback: inside a network namespace the test creates.

`netns_plain_auth_server` (a pytest fixture, registered from tests/conftest.py) creates:
  * a namespace `sdt<pid>` and a veth pair `sdt<pid>h` (here) / `sdt<pid>n` (there), named
    after the test process's pid;
  * a /30 inside 10.254.0.0/16 that is unused here: no local address in it, and `ip route get`
    sends it where the default route goes (or nowhere), never to a connected network;
  * inside it, an aiosmtpd server without STARTTLS that offers AUTH PLAIN LOGIN in the clear
    (`netns_smtp_server.py`) and records every command verb it receives.

Only the two addresses of that /30 are ever used. Namespaces and host-side veths left by a
test process that is gone are removed first; this test's are always removed at teardown.
Where a namespace cannot be created (not root, no `ip`) the test is skipped with the reason,
except under CI=true as root, where that is a failure.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smtp_desktop.config.model import Service, SmtpSettings
from support.smtp_servers import PASSWORD, USERNAME

PREFIX = "sdt"
SUPERNET = ipaddress.ip_network("10.254.0.0/16")
PORT = 2525
_SERVER_SCRIPT = Path(__file__).with_name("netns_smtp_server.py")
_OURS = re.compile(rf"^{PREFIX}(\d+)([hn]?)$")


class NetnsUnavailable(Exception):
    """The namespace could not be set up here; the message says why."""


@dataclass
class NetnsServer:
    """The server in the namespace: where it is and what it has received."""

    host: str  # the namespace side of the /30
    port: int
    username: str
    password: str
    record: Path

    def commands(self) -> list[str]:
        """The command verbs received so far, in order (EHLO, AUTH, MAIL, QUIT...)."""
        return self.record.read_text(encoding="ascii").split()

    def settings(self, keys: dict[str, str] | None = None) -> SmtpSettings:
        """Settings with the seed's keys (auth and STARTTLS on) pointing at this server."""
        base = {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "true",
                "mail.smtp.connectiontimeout": "5000", "mail.smtp.timeout": "5000"}
        base.update(keys or {})
        return SmtpSettings(enabled=True, service=Service.OWN, host=self.host, port=self.port,
                            username=self.username, keys=tuple(base.items()))


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise NetnsUnavailable(f"'ip {' '.join(args)}' failed: {done.stderr.strip() or done.returncode}")
    return done


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> None:
    """Remove namespaces and host-side veths named after a test process that has ended."""
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = _OURS.match(name)
        if match and not match.group(2) and not _alive(int(match.group(1))):
            _ip("netns", "delete", name, check=False)
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        name = parts[1].strip().split("@")[0] if len(parts) > 1 else ""
        match = _OURS.match(name)
        if match and match.group(2) == "h" and not _alive(int(match.group(1))):
            _ip("link", "delete", name, check=False)


def _route(target: str) -> tuple[str | None, str | None] | None:
    """(gateway, device) `ip route get` picks for `target`; None when there is no route."""
    done = _ip("-4", "route", "get", target, check=False)
    if done.returncode != 0:
        return None
    words = done.stdout.split()
    gateway = words[words.index("via") + 1] if "via" in words else None
    device = words[words.index("dev") + 1] if "dev" in words else None
    return gateway, device


def _default_route() -> tuple[str | None, str | None] | None:
    words = _ip("-4", "route", "show", "default", check=False).stdout.split()
    if "via" not in words:
        return None
    return words[words.index("via") + 1], words[words.index("dev") + 1] if "dev" in words else None


def free_subnet() -> ipaddress.IPv4Network:
    """A /30 in 10.254.0.0/16 with no local address in it that routes like the default route."""
    local = [ipaddress.ip_interface(word) for line in _ip("-o", "-4", "addr", "show").stdout.splitlines()
             for word in line.split()[3:4]]
    default = _default_route()
    subnets = list(SUPERNET.subnets(new_prefix=30))
    start = os.getpid() % len(subnets)  # parallel runs start at different places
    for subnet in subnets[start:] + subnets[:start]:
        if any(addr.ip in subnet or subnet.overlaps(addr.network) for addr in local):
            continue
        route = _route(str(subnet[1]))
        if route is None or (default is not None and route == default):
            return subnet
    raise NetnsUnavailable("no unused /30 in 10.254.0.0/16")


@contextlib.contextmanager
def namespace() -> Iterator[tuple[str, ipaddress.IPv4Address, ipaddress.IPv4Address]]:
    """A namespace joined to this one by a veth pair on an unused /30:
    yields (namespace name, address here, address there). Always removed afterwards."""
    if shutil.which("ip") is None:
        raise NetnsUnavailable("the 'ip' command (iproute2) is not installed")
    if os.geteuid() != 0:
        raise NetnsUnavailable("creating a network namespace needs root")
    remove_stale()
    pid = os.getpid()
    name, here_dev, there_dev = f"{PREFIX}{pid}", f"{PREFIX}{pid}h", f"{PREFIX}{pid}n"
    _ip("netns", "delete", name, check=False)  # left by an earlier test of this process
    _ip("link", "delete", here_dev, check=False)
    subnet = free_subnet()
    here, there = subnet[1], subnet[2]
    try:
        _ip("netns", "add", name)
        _ip("link", "add", here_dev, "type", "veth", "peer", "name", there_dev)
        _ip("link", "set", there_dev, "netns", name)
        _ip("addr", "add", f"{here}/30", "dev", here_dev)
        _ip("link", "set", here_dev, "up")
        _ip("-n", name, "addr", "add", f"{there}/30", "dev", there_dev)
        _ip("-n", name, "link", "set", there_dev, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield name, here, there
    finally:
        _ip("link", "delete", here_dev, check=False)  # takes its peer with it
        _ip("netns", "delete", name, check=False)


@contextlib.contextmanager
def plain_auth_server_in_namespace() -> Iterator[NetnsServer]:
    """The recording server without STARTTLS, running inside `namespace()`."""
    with namespace() as (name, _here, there), tempfile.TemporaryDirectory() as folder:
        record, errors = Path(folder, "commands.txt"), Path(folder, "stderr.txt")
        record.touch()
        env = {**os.environ, "SDT_USERNAME": USERNAME, "SDT_PASSWORD": PASSWORD}
        with errors.open("w") as stderr:
            child = subprocess.Popen(
                ["ip", "netns", "exec", name, sys.executable, str(_SERVER_SCRIPT), str(there),
                 str(PORT), str(record)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, text=True)
        try:
            assert child.stdout is not None
            ready = ""
            if select.select([child.stdout], [], [], 60)[0]:  # READY, or EOF if it failed
                ready = child.stdout.readline()
            if ready.strip() != "READY":
                child.kill()
                child.wait(timeout=30)
                raise NetnsUnavailable(f"the server in {name} did not start: "
                                       f"{errors.read_text().strip()[-500:]}")
            yield NetnsServer(str(there), PORT, USERNAME, PASSWORD, record)
        finally:
            if child.poll() is None:
                with contextlib.suppress(OSError):
                    child.stdin.close()  # type: ignore[union-attr]
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            if child.stdout is not None:
                child.stdout.close()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true" and os.geteuid() == 0:
        pytest.fail(f"network namespace test host unavailable under CI as root: {reason}")
    pytest.skip(f"network namespace test host unavailable: {reason}")


@pytest.fixture
def netns_plain_auth_server() -> Iterator[NetnsServer]:
    """A server that is not on loopback, without STARTTLS, offering AUTH in the clear."""
    try:
        context = plain_auth_server_in_namespace()
        server = context.__enter__()
    except NetnsUnavailable as exc:
        _unavailable(str(exc))
        return
    try:
        yield server
    finally:
        context.__exit__(None, None, None)
