"""The image list: stems with status icons and thumbnails made lazily off the GUI thread.

The model only asks for a thumbnail when the view paints that row (uniform item sizes keep
a 10,000-image folder cheap to list); one worker (``qt.worker``) at a time decodes the
queued rows so the GUI never blocks and decoding never takes more than one core.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap

from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.worker import FunctionWorker, create_worker

THUMB = 64
STATUS_COLORS = {
    ImageStatus.NEW: QColor(150, 150, 150),
    ImageStatus.SUGGESTED: QColor(80, 150, 255),
    ImageStatus.IN_PROGRESS: QColor(255, 170, 40),
    ImageStatus.DONE: QColor(60, 200, 90),
}
ERROR_COLOR = QColor(220, 50, 50)
UNCERTAINTY_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
STEM_ROLE = Qt.ItemDataRole.UserRole + 3


def status_icon(color: QColor, size: int = 12) -> QIcon:
    """A dot in the corner of a transparent THUMB x THUMB square: every row's decoration has
    the same size, so one unreadable file cannot change the (uniform) row height."""
    pix = QPixmap(THUMB, THUMB)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(color)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)


def square_thumbnail(image: QImage) -> QPixmap:
    """``image`` centred on a transparent THUMB x THUMB square (wide or tall images alike)."""
    pix = QPixmap(THUMB, THUMB)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.drawImage((THUMB - image.width()) // 2, (THUMB - image.height()) // 2, image)
    p.end()
    return pix


def make_thumbnail(path: Path, reader: Callable) -> QImage:
    """A THUMB-sized RGB thumbnail of the image at ``path`` (runs on a worker thread)."""
    import cv2

    display = reader(path).display
    h, w = display.shape[:2]
    s = THUMB / max(h, w)
    small = cv2.resize(display, (max(1, int(w * s)), max(1, int(h * s))),
                       interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small if small.ndim == 3 else
                                 np.repeat(small[..., None], 3, axis=2))
    return QImage(small.data, small.shape[1], small.shape[0], small.strides[0],
                  QImage.Format.Format_RGB888).copy()


class ImageListModel(QAbstractListModel):
    """Rows = project stems; decoration = thumbnail (lazy) with a status dot."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stems: list[str] = []
        self._row: dict[str, int] = {}
        self._status: dict[str, ImageStatus] = {}
        self._errors: dict[str, str] = {}
        self._uncertainty: dict[str, float] = {}
        self._u_version: dict[str, str | None] = {}  # model version each value came from
        self._model_version: str | None = None
        self._thumbs: dict[str, QIcon] = {}
        self._plain: dict[str, QPixmap] = {}
        self._pending: set[str] = set()
        self._path_of: Callable[[str], Path] | None = None
        self._reader: Callable | None = None
        self.thumbnails_enabled = True
        self._queue: deque[str] = deque()  # rows painted, waiting for their thumbnail
        self._worker: FunctionWorker | None = None
        self._job: tuple[str, int] | None = None  # (stem, project generation) being decoded
        self._generation = 0  # a new project makes late results of the old one stale
        self._icons = {s: status_icon(c) for s, c in STATUS_COLORS.items()}
        self._error_icon = status_icon(ERROR_COLOR)

    def set_project(self, stems: list[str], statuses: dict[str, ImageStatus],
                    path_of: Callable[[str], Path], reader: Callable) -> None:
        self._queue.clear()
        self._generation += 1
        self.beginResetModel()
        self._stems = list(stems)
        self._row = {s: i for i, s in enumerate(self._stems)}
        self._status = dict(statuses)
        self._errors.clear()
        self._uncertainty.clear()
        self._u_version.clear()
        self._model_version = None
        self._thumbs.clear()
        self._plain.clear()
        self._pending.clear()
        self._path_of, self._reader = path_of, reader
        self.endResetModel()

    def shutdown(self) -> None:
        """Drop the queue and wait for the thumbnail being decoded."""
        self._queue.clear()
        if self._worker is not None:
            self._worker.wait()

    # ---- queries / updates -----------------------------------------------------------
    @property
    def stems(self) -> list[str]:
        return list(self._stems)

    def status(self, stem: str) -> ImageStatus:
        return self._status.get(stem, ImageStatus.NEW)

    def error(self, stem: str) -> str | None:
        return self._errors.get(stem)

    def _changed(self, stem: str) -> None:
        row = self._row.get(stem)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)

    def set_status(self, stem: str, status: ImageStatus) -> None:
        self._status[stem] = ImageStatus(status)
        self._compose(stem)
        self._changed(stem)

    def set_error(self, stem: str, message: str | None) -> None:
        if message:
            self._errors[stem] = message
        else:
            self._errors.pop(stem, None)
        self._changed(stem)

    def set_uncertainty(self, stem: str, value: float | None,
                        model_version: str | None = None) -> None:
        """Record ``stem``'s uncertainty as measured by ``model_version``."""
        if value is None:
            self._uncertainty.pop(stem, None)
            self._u_version.pop(stem, None)
        else:
            self._uncertainty[stem] = float(value)
            self._u_version[stem] = model_version
        self._changed(stem)

    def set_model_version(self, version: str | None) -> None:
        """The model now in use: values measured by any other version are shown as stale."""
        if version == self._model_version:
            return
        self._model_version = version
        if self._stems:
            self.dataChanged.emit(self.index(0), self.index(len(self._stems) - 1))

    def is_stale(self, stem: str) -> bool:
        """True when ``stem``'s uncertainty came from a model version no longer in use."""
        return (stem in self._uncertainty and self._model_version is not None
                and self._u_version.get(stem) != self._model_version)

    def row_of(self, stem: str) -> int:
        return self._row.get(stem, -1)

    # ---- Qt model API ----------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._stems)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if not index.isValid():
            return None
        stem = self._stems[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            u = self._uncertainty.get(stem)
            old = " (old model)" if self.is_stale(stem) else ""
            extra = "  (unreadable)" if stem in self._errors else (
                f"  u={u:.3f}{old}" if u is not None else "")
            return f"{stem}{extra}"
        if role == Qt.ItemDataRole.DecorationRole:
            if stem in self._errors:
                return self._error_icon
            icon = self._thumbs.get(stem)
            if icon is None:
                self._request_thumb(stem)
                return self._icons[self.status(stem)]
            return icon
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._errors.get(stem) or f"{stem}: {self.status(stem).value.replace('_', ' ')}"
        if role == STATUS_ROLE:
            return self.status(stem).value
        if role == UNCERTAINTY_ROLE:
            return self._uncertainty.get(stem, -1.0)
        if role == STEM_ROLE:
            return stem
        return None

    # ---- thumbnails ------------------------------------------------------------------
    def _request_thumb(self, stem: str) -> None:
        if (not self.thumbnails_enabled or stem in self._pending or self._path_of is None
                or self._reader is None):
            return
        self._pending.add(stem)
        self._queue.append(stem)
        self._next_thumb()

    def _next_thumb(self) -> None:
        if self._worker is not None or not self._queue or self._path_of is None:
            return
        stem = self._queue.popleft()
        self._job = (stem, self._generation)
        worker = create_worker(make_thumbnail, self._path_of(stem), self._reader)
        worker.returned.connect(self._thumb_returned)
        worker.errored.connect(self._thumb_errored)
        worker.finished.connect(self._thumb_finished)
        self._worker = worker.start()

    def _thumb_returned(self, image: QImage) -> None:
        self._thumb_done(image, "")

    def _thumb_errored(self, exc: BaseException) -> None:
        self._thumb_done(QImage(), str(exc) or type(exc).__name__)

    def _thumb_finished(self) -> None:
        self._worker, self._job = None, None
        self._next_thumb()

    def _thumb_done(self, image: QImage, error: str) -> None:
        if self._job is None:
            return
        stem, generation = self._job
        if generation != self._generation:
            return  # a thumbnail of the previous project
        self._pending.discard(stem)
        if stem not in self._row:
            return
        if error:
            self._errors[stem] = error
        else:
            self._plain[stem] = square_thumbnail(image)
            self._compose(stem)
        self._changed(stem)

    def _compose(self, stem: str) -> None:
        """Thumbnail + status dot in the corner, so both read at a glance."""
        plain = self._plain.get(stem)
        if plain is None:
            return
        pix = QPixmap(plain)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(STATUS_COLORS[self.status(stem)])
        p.setPen(QColor(0, 0, 0))
        p.drawEllipse(1, 1, 11, 11)
        p.end()
        self._thumbs[stem] = QIcon(pix)



class ImageFilterModel(QSortFilterProxyModel):
    """Filter by status (None = all); optional sort by uncertainty, most uncertain first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status: str | None = None
        self.setSortRole(UNCERTAINTY_ROLE)
        # rows never move under the cursor while suggestions arrive: the order changes only
        # when the user asks (the sort checkbox, "Re-sort", the status filter)
        self.setDynamicSortFilter(False)

    def set_status_filter(self, status: str | None) -> None:
        self._status = status
        self.invalidate()  # invalidateFilter() is deprecated in Qt 6.10+

    def set_sort_uncertain(self, on: bool) -> None:
        if on:
            self.sort(0, Qt.SortOrder.DescendingOrder)
        else:
            self.sort(-1)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if self._status is None:
            return True
        idx = self.sourceModel().index(row, 0, parent)
        return self.sourceModel().data(idx, STATUS_ROLE) == self._status
