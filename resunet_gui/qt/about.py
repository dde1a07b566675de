"""Help > About: what this program is, its version and where its files live."""
from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from resunet_gui import __version__


def about_text() -> str:
    return (f"<h3>resunet-gui {__version__}</h3>"
            "<p>Label image segmentation masks with suggestions from a ResNet18-UNet that "
            "learns from the images you mark done.</p>"
            f"<p>Python {platform.python_version()}, PySide6 {pyside_version}.<br>"
            "Press F1 for the keyboard shortcuts.</p>")


def about_box(parent: QWidget) -> QMessageBox:
    """A window-modal box (``open()``, not ``exec()``): it never blocks the event loop."""
    box = QMessageBox(QMessageBox.Icon.Information, "About resunet-gui", about_text(),
                      QMessageBox.StandardButton.Close, parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    return box
