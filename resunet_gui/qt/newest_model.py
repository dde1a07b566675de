"""The user always sees the newest model.

When the model service installs a version (trained, rolled back or imported):
suggestions cached or prefetched from older versions are dropped and results still on
their way from an older version are not drawn; the image on screen gets a fresh
suggestion if the user has not painted on it, else a visible "Newer model: refresh
suggestion" action; the next image is prefetched again; the uncertainty values of the
rows in view are recomputed (a low-priority batch, so the list refreshes lazily). The
status bar names the version that produced the suggestion on screen.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPoint
from PySide6.QtWidgets import QLabel

from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.image_list import STEM_ROLE
from resunet_gui.qt.service_bridge import ServiceBridge

PAINTED = 2  # provenance CORRECTED / SCRATCH


class NewestModel(QObject):
    """Keeps the editor's suggestions in step with the served model version."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.version: str | None = None
        self.label = QLabel("")
        self.label.setObjectName("suggestion_version")
        window.statusBar().addPermanentWidget(self.label)
        window.editor.suggestionShown.connect(self._shown)
        window.editor.imageShown.connect(self._shown)
        window.editor.imageShown.connect(self._hide_refresh)
        window.suggestions.accepts_version = self.accepts

    def attach(self, bridge: ServiceBridge) -> None:
        bridge.engineReady.connect(lambda _dev, ver: self._set_version(ver or None))
        bridge.modelChanged.connect(self.version_installed)

    def accepts(self, version: str | None) -> bool:
        """A result is drawn only if the version serving now produced it."""
        return self.version is None or version == self.version

    def _set_version(self, version: str | None) -> None:
        self.version = version

    def version_installed(self, info: Any) -> None:
        version = getattr(info, "name", None) or (info if isinstance(info, str) else None)
        if version is None or version == self.version:
            return
        self.version = version
        ed, sugg = self.window.editor, self.window.suggestions
        for stem in [s for s, v in ed.suggestions.items()
                     if v.model_version != version and s != ed.stem]:
            del ed.suggestions[stem]
        refresh = self.window.actions_by_name.get("refresh_suggestion")
        doc = ed.document
        if doc is not None and not (doc.provenance >= PAINTED).any():
            sugg.request_current(force=True)
        elif doc is not None and refresh is not None:
            refresh.setText(f"Newer model {version}: refresh suggestion")
            refresh.setVisible(True)
        sugg.prefetch_next()
        self._rescore_visible_rows()

    def refresh_current(self) -> None:
        """The user's "newer model: refresh suggestion" (their labels stay as they are)."""
        self._hide_refresh()
        self.window.suggestions.request_current(force=True)

    def _hide_refresh(self, _stem: str = "") -> None:
        """The offer is about the image it was made on."""
        refresh = self.window.actions_by_name.get("refresh_suggestion")
        if refresh is not None:
            refresh.setVisible(False)

    def _rescore_visible_rows(self) -> None:
        view, images = self.window.list_view, self.window.images
        ed = self.window.editor
        if ed.project is None:
            return
        stems: list[str] = []
        for y in range(0, max(1, view.viewport().height()), 8):
            index = view.indexAt(QPoint(4, y))
            stem = index.data(STEM_ROLE) if index.isValid() else None
            if (stem and stem not in stems and stem != ed.stem
                    and images.status(stem) != ImageStatus.DONE):
                stems.append(stem)
        self.window.suggestions.rescore(stems)

    def _shown(self, stem: str) -> None:
        ed = self.window.editor
        sugg = ed.suggestions.get(stem)
        shown = ed.document is not None and ed.document.suggestion is not None
        if sugg is not None and shown:
            self.label.setText(f"suggestion: model {sugg.model_version or 'new'}")
        else:
            self.label.setText("suggestion: none")
