"""The network-namespace test host (support/netns.py): stale ones go, and an unusable host
skips, except under CI as root, where it fails."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import netns


def test_unavailable_skips_with_the_reason(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs root"):
        netns._unavailable("creating a network namespace needs root")


def test_unavailable_fails_under_ci_as_root(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(netns.os, "geteuid", lambda: 0)
    with pytest.raises(pytest.fail.Exception, match="needs root"):
        netns._unavailable("creating a network namespace needs root")


def test_unavailable_skips_under_ci_when_not_root(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception):
        netns._unavailable("creating a network namespace needs root")


def test_a_namespace_left_by_a_dead_test_process_is_removed_first():
    try:
        with netns.namespace():
            pass
    except netns.NetnsUnavailable as exc:
        pytest.skip(str(exc))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid names the stale namespace; the process is over
    name = f"{netns.PREFIX}{gone.pid}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        with netns.namespace() as (current, here, there):
            assert current == f"{netns.PREFIX}{netns.os.getpid()}"
            assert here in netns.SUPERNET and there in netns.SUPERNET
            listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            assert name not in listed.split()
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert current not in listed.split()  # removed at the end as well
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
