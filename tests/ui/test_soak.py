"""A long session at the real window: thousands of keystrokes and hundreds of clicks.

Runs `tests/soak/soak_child.py` in a child process, so that an abort inside Qt or CPython (as
with PySide6 6.12.0 on CPython 3.11: "Fatal Python error: none_dealloc") fails this test instead
of killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).resolve().parents[1] / "soak" / "soak_child.py"
KEYSTROKES, CLICKS = 5000, 500
NONE_REFERENCES_LOST_AT_MOST = 200


@pytest.mark.parametrize("seed", [11, 2026])
def test_a_long_random_session_ends_normally_and_keeps_none_alive(seed, tmp_path):
    result_file = tmp_path / "result.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    child = subprocess.run(
        [sys.executable, str(CHILD), str(seed), str(KEYSTROKES), str(CLICKS), str(result_file)],
        capture_output=True, text=True, timeout=600, env=env)
    assert child.returncode == 0, f"exit {child.returncode}\n{child.stderr[-3000:]}"
    result = json.loads(result_file.read_text())
    assert result["keystrokes"] >= KEYSTROKES and result["clicks"] >= CLICKS
    assert result["checks"] > 0 and result["cancelled"] > 0  # the walk reached the network too
    assert result["messages_shown"] > 10  # and read mail on the Outbox tab, HTML included
    if sys.version_info < (3, 12):  # None is immortal from 3.12 on: its count means nothing
        lost = result["none_before"] - result["none_after"]
        assert lost <= NONE_REFERENCES_LOST_AT_MOST, f"{lost} references to None lost"
