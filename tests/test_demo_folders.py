"""A demo's temporary folder carries its process id; folders of dead demos are removed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from smtp_desktop.demo import FOLDER_PREFIX, remove_stale_folders, start_demo

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX processes and owners")


@pytest.fixture
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: no process has this id now
    return child.pid


def test_the_folder_name_holds_the_process_id(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    session = start_demo()
    try:
        root = session.config.paths.config_dir.parent
        assert root.parent == tmp_path
        assert root.name.startswith(f"{FOLDER_PREFIX}{os.getpid()}-")
        assert oct(root.stat().st_mode & 0o777) == oct(0o700)
    finally:
        session.close()
    assert not root.exists()


def test_only_this_users_folders_of_dead_processes_go(tmp_path, dead_pid):
    dead = tmp_path / f"{FOLDER_PREFIX}{dead_pid}-abc"
    (dead / "data").mkdir(parents=True)
    (dead / "data" / "history.jsonl").write_text("{}\n")
    alive = tmp_path / f"{FOLDER_PREFIX}{os.getppid()}-abc"
    alive.mkdir()
    no_pid = tmp_path / f"{FOLDER_PREFIX}abc"
    no_pid.mkdir()
    file_not_folder = tmp_path / f"{FOLDER_PREFIX}{dead_pid}-file"
    file_not_folder.write_text("")
    others = tmp_path / f"{FOLDER_PREFIX}{dead_pid}-other-user"
    if os.getuid() == 0:  # only root can make a folder of another user's
        others.mkdir()
        os.chown(others, 65534, 65534)

    removed = remove_stale_folders(tmp_path)

    assert removed == [dead]
    assert not dead.exists()
    assert alive.exists() and no_pid.exists() and file_not_folder.exists()
    assert others.exists() == (os.getuid() == 0)  # another user's demo: never ours to delete
