"""Progress of one running suggestion on a large image: tiles done / total and time left,
shown in the suggestion panel, with its Cancel button enabled while it runs."""
from __future__ import annotations

import time

from resunet_gui.qt.panels import SuggestPanel, _duration


class TileProgress:
    """Drives ``panel.progress``/``panel.eta``/``panel.cancel`` for the current suggestion
    (a batch, when one runs, owns them instead)."""

    def __init__(self, panel: SuggestPanel) -> None:
        self.panel = panel
        self.active = False
        self._t0 = 0.0
        self._done0 = 0

    def update(self, done: int, total: int) -> None:
        if total <= 1:
            return  # one tile: the busy bar says enough
        now = time.monotonic()
        if not self.active:
            self.active, self._t0, self._done0 = True, now, done
        p = self.panel
        p.progress.setRange(0, total)
        p.progress.setValue(done)
        p.progress.setVisible(True)
        p.cancel.setEnabled(True)
        text = f"Suggestion: {done} / {total} tiles"
        if done > self._done0 and done < total:
            left = (now - self._t0) / (done - self._done0) * (total - done)
            text += f", about {_duration(left)} left"
        p.eta.setText(text)

    def finish(self, message: str = "") -> None:
        """The suggestion ended (arrived, failed or cancelled)."""
        if not self.active and not message:
            return
        self.active = False
        self.panel.progress.setVisible(False)
        self.panel.cancel.setEnabled(False)
        self.panel.eta.setText(message)
