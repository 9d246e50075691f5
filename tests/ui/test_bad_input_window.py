"""Issue 11, section 4, in the window: a settings file json cannot read is set aside, whatever
the reason (here a number longer than Python's 4,300-digit limit for int())."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel
from support.qt import child

HUGE_NUMBER = "9" * 5000


def test_a_settings_file_with_a_huge_number_is_set_aside_not_a_crash(make_window, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    damaged = ('{"version": 1, "enabled": true, "service": "own", "own": {"host": "h", '
               f'"port": {HUGE_NUMBER}, "username": "", "keys": {{}}}}}}')
    app_paths.settings_file.write_text(damaged)
    window = make_window()
    notice = child(window, QLabel, "loadNotice")
    assert notice.isVisible() and "corrupt-" in notice.text()
    backups = list(app_paths.config_dir.glob("settings.json.corrupt-*"))
    assert [b.read_text() for b in backups] == [damaged]
    assert not app_paths.settings_file.exists()
