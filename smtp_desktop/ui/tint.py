"""Coloured text (errors, warnings) that stays readable in the light and the dark palette.

Colours are set through the widget's palette and font rather than a style sheet: every widget
with a style sheet gets its own style-sheet style, which the window's labels would pay for at
start-up, and a fixed style-sheet colour cannot follow a switch between light and dark.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

Tint = tuple[str, str]  # (on a light background, on a dark background)

ERROR: Tint = ("#c62828", "#ef9a9a")  # a field's validation message
WARNING: Tint = ("#b00020", "#ff8a80")  # SMTP off, no secure keyring
DANGER: Tint = ("#8b0000", "#ff8a80")  # a setting that would leak the password (bold)
CAUTION: Tint = ("#7a4b00", "#ffcc80")  # a setting that is probably a mistake
NOTICE: Tint = ("#8a5300", "#ffcc80")  # a provider's note about its login
SUCCESS: Tint = ("#166b31", "#81c995")  # a check that worked


def is_dark(palette: QPalette) -> bool:
    """Whether `palette` is a dark one (its window colour is dark)."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def pick(tint: Tint, dark: bool) -> str:
    """The colour of `tint` for a light or `dark` background, for rich text (HTML)."""
    return tint[1] if dark else tint[0]


def apply_tint(widget: QWidget, tint: Tint, bold: bool = False, *, dark: bool) -> None:
    """Colour `widget`'s text for a light or `dark` background; call again after a switch."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(pick(tint, dark)))
    widget.setPalette(palette)
    font = widget.font()
    font.setBold(bold)
    widget.setFont(font)


def track(widget: QWidget, colours: Tint, bold: bool = False) -> None:
    """Colour `widget`'s text now, and again whenever the palette switches (`retint`)."""
    # A Python attribute, not a Qt property: a QVariant list would load QByteArray's enums at
    # start-up. The widgets tracked are all held by their panels, so their wrappers live on.
    widget._smtp_tint = (colours, bold)  # type: ignore[attr-defined]
    apply_tint(widget, colours, bold, dark=is_dark(widget.palette()))


def retint(root: QWidget) -> None:
    """Re-apply every tracked colour under `root` for its current palette (light or dark)."""
    dark = is_dark(root.palette())
    for widget in root.findChildren(QWidget):
        value = getattr(widget, "_smtp_tint", None)
        if value is not None:
            apply_tint(widget, value[0], value[1], dark=dark)


def contrast(foreground: str | QColor, background: str | QColor) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""

    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
                + 0.0722 * channel(colour.blueF()))

    lighter, darker = sorted((luminance(QColor(foreground)), luminance(QColor(background))),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
