"""Class palette: pick the class to paint, add/rename/recolour classes.

Edits are emitted as a new ``list[ClassSpec]``; the main window saves them through
``Project.set_classes`` so project.json stays the single source of truth.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resunet_gui.core.types import ClassSpec

MAX_CLASSES = 127  # the suggestion layer reserves the top bit of the index


def swatch(color: tuple[int, int, int], size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(*color))
    return QIcon(pix)


def next_class(classes: list[ClassSpec], name: str | None = None) -> ClassSpec:
    """A new class with the next free id, a distinct hue and the next number key."""
    new_id = max((c.id for c in classes), default=-1) + 1
    hue = (new_id * 137) % 360
    c = QColor.fromHsv(hue, 200, 230)
    key = str(new_id + 1) if new_id + 1 <= 9 else None
    return ClassSpec(new_id, name or f"class {new_id}", (c.red(), c.green(), c.blue()), key)


class PaletteWidget(QWidget):
    """Lists classes with swatch and key; emits ``classSelected(id)`` / ``classesEdited(list)``."""

    classSelected = Signal(int)
    classesEdited = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._classes: list[ClassSpec] = []
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename_current())
        add, rename, recolour = QPushButton("Add"), QPushButton("Rename"), QPushButton("Colour")
        add.clicked.connect(lambda: self.add_class())
        rename.clicked.connect(lambda: self.rename_current())
        recolour.clicked.connect(lambda: self.recolour_current())
        buttons = QHBoxLayout()
        for b in (add, rename, recolour):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    @property
    def classes(self) -> list[ClassSpec]:
        return list(self._classes)

    def set_classes(self, classes: list[ClassSpec], select_id: int | None = None) -> None:
        current = self.current_id() if select_id is None else select_id
        self._classes = list(classes)
        self.list.blockSignals(True)
        self.list.clear()
        for spec in self._classes:
            key = f"  [{spec.key}]" if spec.key else ""
            item = QListWidgetItem(swatch(spec.color), f"{spec.name}{key}")
            item.setData(Qt.ItemDataRole.UserRole, spec.id)
            self.list.addItem(item)
        self.list.blockSignals(False)
        ids = [c.id for c in self._classes]
        # keep the selection; else prefer the first non-background class
        row = ids.index(current) if current in ids else (1 if len(ids) > 1 else 0)
        if ids:
            self.list.setCurrentRow(row)
            self.classSelected.emit(ids[row])

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def select_id(self, class_id: int) -> bool:
        for row, spec in enumerate(self._classes):
            if spec.id == class_id:
                self.list.setCurrentRow(row)
                return True
        return False

    def select_key(self, key: str) -> bool:
        for row, spec in enumerate(self._classes):
            if spec.key == key:
                self.list.setCurrentRow(row)
                return True
        return False

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self._classes):
            self.classSelected.emit(self._classes[row].id)

    # ---- editing ---------------------------------------------------------------------
    def add_class(self, name: str | None = None) -> ClassSpec | None:
        if len(self._classes) >= MAX_CLASSES:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Add class", "Name:")
            if not ok or not name.strip():
                return None
        spec = next_class(self._classes, name.strip())
        self._emit([*self._classes, spec], spec.id)
        return spec

    def rename_current(self, name: str | None = None) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self._classes):
            return
        spec = self._classes[row]
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename class", "Name:", text=spec.name)
            if not ok:
                return
        if name.strip():
            self._replace(row, ClassSpec(spec.id, name.strip(), spec.color, spec.key))

    def recolour_current(self, color: tuple[int, int, int] | None = None) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self._classes):
            return
        spec = self._classes[row]
        if color is None:
            chosen = QColorDialog.getColor(QColor(*spec.color), self, "Class colour")
            if not chosen.isValid():
                return
            color = (chosen.red(), chosen.green(), chosen.blue())
        self._replace(row, ClassSpec(spec.id, spec.name, color, spec.key))

    def _replace(self, row: int, spec: ClassSpec) -> None:
        classes = list(self._classes)
        classes[row] = spec
        self._emit(classes, spec.id)

    def _emit(self, classes: list[ClassSpec], select_id: int) -> None:
        self.set_classes(classes, select_id)
        self.classesEdited.emit(list(classes))
