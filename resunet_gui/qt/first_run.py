"""First run: until the project has a trained model version, the canvas says how the model
learns instead of drawing an untrained model's noise over the whole image.

While no version exists, automatic suggestions are held (the Suggest button still asks);
the first version announced by the model service ends the state and asks for a suggestion.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

# the 5th done image is the first check image: from then on versions have a real score
FIRST_IMAGES = 5
MARGIN = 12


def guide_text(done: int) -> str:
    return (f"<b>No trained model yet.</b> The model learns from your first {FIRST_IMAGES} "
            "images: paint the labels (B brush, E eraser, 1-9 classes), then press "
            "<b>Ctrl+Enter</b> (Done &amp; next). Suggestions appear as soon as the first "
            f"version is trained.<br>{min(done, FIRST_IMAGES)} of {FIRST_IMAGES} done.")


class FirstRunGuide(QObject):
    """A banner over ``canvas`` and a hold on automatic suggestions while untrained."""

    def __init__(self, canvas: QWidget, suggestions: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas, self.suggestions = canvas, suggestions
        self.active = False
        self._done = 0
        self.banner = QLabel(canvas)
        self.banner.setObjectName("first_run_banner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.banner.setStyleSheet("QLabel#first_run_banner { background: rgba(20, 40, 90, 235);"
                                  " color: white; padding: 10px; border-radius: 6px; }")
        self.banner.hide()
        canvas.installEventFilter(self)

    def project_opening(self, with_model: bool) -> None:
        """A new project: hide the banner; with a model, hold automatic suggestions until
        the engine says whether a trained version exists."""
        self.active = False
        self.banner.hide()
        self.suggestions.hold_automatic = with_model

    def engine_ready(self, _device: str, version: str) -> None:
        """The model service started: an empty version means nothing is trained yet."""
        self.set_active(not version)

    def model_changed(self, info: Any) -> None:
        if getattr(info, "name", None):
            self.set_active(False)

    def set_done(self, done: int) -> None:
        self._done = done
        if self.active:
            self.banner.setText(guide_text(done))

    def set_active(self, on: bool) -> None:
        held = self.suggestions.hold_automatic  # also while waiting for the engine's answer
        self.active = on
        self.suggestions.hold_automatic = on
        self.banner.setText(guide_text(self._done))
        self.banner.setVisible(on)
        self._place()
        if held and not on:
            self.suggestions.request_current()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        width = max(200, min(640, self.canvas.width() - 2 * MARGIN))
        self.banner.setFixedWidth(width)
        self.banner.adjustSize()
        self.banner.move((self.canvas.width() - width) // 2, MARGIN)
        self.banner.raise_()
