"""Smoke test of an installed smtp-desktop (CI runs it from a fresh venv holding only the wheel).

Opens the window offscreen from the installed package and checks every contract objectName,
the help text, the bundled resources and the console entry point. Exit 0 when all is well.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"


def main() -> int:
    from PySide6.QtWidgets import QApplication, QWidget

    import smtp_desktop
    from smtp_desktop.config.paths import AppPaths
    from smtp_desktop.config.presets import bundled_presets
    from smtp_desktop.config.service import ConfigService
    from smtp_desktop.resource_files import resource_path
    from smtp_desktop.ui.contract import OBJECT_NAMES
    from smtp_desktop.ui.main_window import SettingsWindow

    problems: list[str] = []
    package_dir = Path(smtp_desktop.__file__).parent
    print(f"smtp-desktop {smtp_desktop.__version__} from {package_dir}")
    if "site-packages" not in str(package_dir):
        problems.append(f"not the installed package: {package_dir}")
    for name in ("help/app-password.html", "icons/smtp-desktop.svg", "presets.json",
                 "smtp-desktop.desktop"):
        path = resource_path(name)
        if not str(path).startswith(str(package_dir)):
            problems.append(f"{name} is not inside the package: {path}")
    if len(bundled_presets()) < 10:
        problems.append("presets missing")

    app = QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        window = SettingsWindow(ConfigService(AppPaths(Path(folder) / "c", Path(folder) / "d")))
        window.show()
        app.processEvents()
        missing = [name for name in OBJECT_NAMES if window.findChild(QWidget, name) is None]
        if missing:
            problems.append(f"objectNames missing: {', '.join(missing)}")
        help_text = window.findChild(QWidget, "helpPane").toPlainText()
        if "App passwords" not in help_text or "2-Step Verification" not in help_text:
            problems.append("help text missing")
        window.close()

    script = shutil.which("smtp-desktop", path=str(Path(sys.executable).parent))
    if script is None:
        problems.append("console script smtp-desktop not installed")
    else:
        version = subprocess.run([script, "--version"], capture_output=True, text=True)
        if version.returncode != 0 or smtp_desktop.__version__ not in version.stdout:
            problems.append(f"smtp-desktop --version failed: {version.stdout}{version.stderr}")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    print("smoke test:", "failed" if problems else f"ok ({len(OBJECT_NAMES)} objectNames)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
