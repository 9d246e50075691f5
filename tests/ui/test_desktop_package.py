"""The desktop package: icon, .desktop entry, colour scheme."""

from __future__ import annotations

import configparser

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette

from smtp_desktop.resource_files import resource_path
from smtp_desktop.ui import application


def test_the_app_icon_loads():
    icon = application.app_icon()
    assert not icon.isNull()
    assert icon.pixmap(64).width() == 64


def test_the_desktop_entry_launches_the_console_script_with_the_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(resource_path("smtp-desktop.desktop"), encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"] == "smtp-desktop"
    assert desktop["Icon"] == "smtp-desktop"
    assert resource_path("icons/smtp-desktop.svg").exists()


@pytest.mark.parametrize(("forced", "dark"), [("dark", True), ("light", False)])
def test_the_colour_scheme_can_be_forced(qapp, monkeypatch, restore_palette, forced, dark):
    monkeypatch.setenv(application.COLOR_SCHEME_ENV, forced)
    scheme = application.apply_color_scheme(qapp)
    assert scheme is (Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    window_colour = qapp.palette().color(QPalette.ColorRole.Window)
    assert (window_colour.lightness() < 100) is dark


def test_a_system_switch_back_to_light_restores_the_light_palette(qapp, monkeypatch,
                                                                 restore_palette):
    monkeypatch.delenv(application.COLOR_SCHEME_ENV, raising=False)
    application._set_palette(qapp, Qt.ColorScheme.Dark)
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 100
    application._set_palette(qapp, Qt.ColorScheme.Light)
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 150
