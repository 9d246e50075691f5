"""Window fixtures: a SettingsWindow over a private config folder and an in-memory keyring."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QThreadPool

from smtp_desktop.ui.main_window import SettingsWindow


@pytest.fixture(autouse=True)
def _no_threads_left_behind(qapp):
    yield
    assert QThreadPool.globalInstance().waitForDone(10_000), "a worker thread is still running"


@pytest.fixture(autouse=True)
def _unsaved_prompt_answers_discard(monkeypatch):
    """Teardown closes windows; a modal prompt would hang. Tests about the prompt override this."""
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Discard)


@pytest.fixture
def restore_palette(qapp):
    """Put back the application's palette and style that a test switched (light/dark)."""
    palette, style = qapp.palette(), qapp.style().name()
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


@pytest.fixture
def make_window(qtbot, config_service):
    """Open a new window on the shared config service (a second window sees what the first saved)."""

    def make(config=None) -> SettingsWindow:
        window = SettingsWindow(config or config_service)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.keyring_ready)  # asked after the first paint
        return window

    return make


@pytest.fixture
def window(make_window) -> SettingsWindow:
    return make_window()

