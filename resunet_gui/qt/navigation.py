"""Where "Done & next" goes: the next image not done yet, in the order the list shows."""
from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel

from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.image_list import STATUS_ROLE


def next_not_done(model: QAbstractItemModel, current_row: int) -> int | None:
    """First row after ``current_row`` (wrapping round) whose image is not done, or None.

    ``model`` is the list view's (proxy) model, so the order is exactly what the user sees.
    """
    rows = model.rowCount()
    for offset in range(1, rows + 1):
        row = (current_row + offset) % rows if current_row >= 0 else offset - 1
        if model.index(row, 0).data(STATUS_ROLE) != ImageStatus.DONE.value:
            return row
    return None
