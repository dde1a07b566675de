"""First run: until the project has a trained model version, a banner above the canvas says
how the model learns instead of drawing an untrained model's noise over the whole image.

While no version exists, automatic suggestions are held (the Suggest button still asks);
the first version announced by the model service ends the state and asks for a suggestion.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel

# the 5th done image is the first check image: from then on versions have a real score
FIRST_IMAGES = 5


def guide_text(done: int) -> str:
    if done >= FIRST_IMAGES:  # e.g. a folder of imported labels: nothing left to ask for
        return (f"<b>No trained model yet.</b> {done} images are labelled and the model is "
                "training on them; suggestions appear as soon as the first version is "
                "trained (the Model tab shows its progress).")
    return (f"<b>No trained model yet.</b> The model learns from your first {FIRST_IMAGES} "
            "images: paint the labels (B brush, E eraser, 1-9 classes), then press "
            "<b>Ctrl+Enter</b> (Done &amp; next). Suggestions appear as soon as the first "
            f"version is trained.<br>{min(done, FIRST_IMAGES)} of {FIRST_IMAGES} done.")


class FirstRunGuide(QObject):
    """A banner above the canvas and a hold on automatic suggestions while untrained.

    The banner sits in the window's layout above the canvas (``banner``; the window places
    it), so it never covers the top of the image the user is painting.
    """

    def __init__(self, suggestions: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.suggestions = suggestions
        self.active = False
        self._done = 0
        self.banner = QLabel()
        self.banner.setObjectName("first_run_banner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setStyleSheet("QLabel#first_run_banner { background: rgb(20, 40, 90);"
                                  " color: white; padding: 10px; }")
        self.banner.hide()

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
        if held and not on:
            self.suggestions.request_current()
