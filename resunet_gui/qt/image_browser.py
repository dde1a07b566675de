"""The image dock's contents: status filter, "most uncertain first" and the thumbnail list."""
from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.image_list import ImageFilterModel

STATUS_FILTERS = [("All images", None)] + [
    (s.value.replace("_", " ").capitalize(), s.value) for s in ImageStatus]


class ImageBrowser(QWidget):
    """Shows ``filter``'s rows; the filter and sort controls act on that proxy directly."""

    def __init__(self, filter_model: ImageFilterModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list_view = QListView()
        self.list_view.setModel(filter_model)
        self.list_view.setUniformItemSizes(True)
        self.list_view.setIconSize(self.list_view.iconSize().expandedTo(QSize(48, 48)))
        # batched layout keeps opening a folder of thousands of images responsive
        self.list_view.setLayoutMode(QListView.LayoutMode.Batched)
        self.status_filter = QComboBox()
        for text, value in STATUS_FILTERS:
            self.status_filter.addItem(text, value)
        self.sort_uncertain = QCheckBox("Most uncertain first")
        self.sort_uncertain.toggled.connect(filter_model.set_sort_uncertain)
        self.resort = QPushButton("Re-sort")
        self.resort.setToolTip("Sort again by the latest uncertainties (the list never "
                               "re-sorts by itself)")
        self.resort.setEnabled(False)
        self.sort_uncertain.toggled.connect(self.resort.setEnabled)
        self.resort.clicked.connect(lambda: filter_model.set_sort_uncertain(True))
        sort_row = QHBoxLayout()
        sort_row.addWidget(self.sort_uncertain, 1)
        sort_row.addWidget(self.resort)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.status_filter)
        lay.addLayout(sort_row)
        lay.addWidget(self.list_view)
