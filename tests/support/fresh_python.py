"""Python code run in a fresh interpreter: what importing a module loads, what a process sees."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -c CODE` to the end; fails the test if it exits non-zero. Output as text."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, check=True)
