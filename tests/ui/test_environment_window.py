"""The window names a known-bad Qt binding in `environmentWarning`, after its first paint."""

from __future__ import annotations

from smtp_desktop import environment


def test_the_window_shows_the_warning_after_its_first_paint(broken_binding, monkeypatch, qtbot,
                                                             config_service, capsys):
    # Pretend the fake release is broken on every Python, so that 3.12+ shows the label too.
    monkeypatch.setattr(environment, "KNOWN_BAD", (environment.BrokenRelease(
        "shiboken6", "6.12.0", (99, 0), "drops a reference to None on every void Qt call"),))
    from PySide6.QtWidgets import QLabel

    from smtp_desktop.ui.main_window import SettingsWindow

    window = SettingsWindow(config_service)
    qtbot.addWidget(window)
    label = window.findChild(QLabel, "environmentWarning")
    with qtbot.waitSignal(window.transport_warmed, timeout=30_000):
        window.show()
    assert label.isVisible()
    assert "shiboken6 6.12.0" in label.text() and "None" in label.text()
    assert "Warning: shiboken6 6.12.0" in capsys.readouterr().err


def test_the_window_hides_the_label_when_all_is_well(qtbot, config_service):
    from PySide6.QtWidgets import QLabel

    from smtp_desktop.ui.main_window import SettingsWindow

    window = SettingsWindow(config_service)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.transport_warmed, timeout=30_000):
        window.show()
    assert not window.findChild(QLabel, "environmentWarning").isVisible()
