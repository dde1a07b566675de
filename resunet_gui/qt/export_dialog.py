"""Export dialog: what ``resunet-gui export`` offers, run off the GUI thread.

Format and its options (COCO RLE or polygons), which images, the split (the project's
split.csv by default, or random fractions with a seed), the target folder and whether to
replace a previous export there (the pipeline's overwrite rule decides what may be
replaced; its message is shown whole). After a run the dialog says where the result is,
offers to open that folder, and its Cancel button becomes Close.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from resunet_gui.qt.worker import FunctionWorker, create_worker

PROJECT_SPLIT = "project"
RANDOM_SPLIT = "random"


def _has_split(project: Any) -> bool:
    """Whether the project assigns any image to a split (its split.csv)."""
    return any(project.split_of(s) in ("train", "val", "test") for s in project.stems())


class ExportDialog(QDialog):
    """Pick format, options and folder; the export runs on a ``FunctionWorker``."""

    checkProgress = Signal(int, int)  # the pass that reads every file before writing

    def __init__(self, project: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.setMinimumWidth(520)
        self.project = project
        self.result: Any = None
        self.worker: FunctionWorker | None = None
        form = QFormLayout(self)
        self._build_choices(form)
        self._build_target(form)
        self._build_feedback(form)
        if not _has_split(project):  # no split.csv: a random split, not everything in train
            self.split.setCurrentIndex(self.split.findData(RANDOM_SPLIT))
        self._format_changed()
        self._split_changed()

    # ---- construction ----------------------------------------------------------------
    def _build_choices(self, form: QFormLayout) -> None:
        from resunet_gui.export.registry import formats

        self.format = QComboBox()
        for key, text in formats().items():
            self.format.addItem(f"{key}: {text}", key)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.coco_mode = QComboBox()
        self.coco_mode.addItem("RLE (pixel exact)", "rle")
        self.coco_mode.addItem("Polygons (editable in CVAT, labelme)", "polygon")
        self.include = QComboBox()
        self.include.addItem("Done images only", "done")
        self.include.addItem("All images with masks", "all")
        self.split = QComboBox()
        self.split.addItem("From the project (split.csv)", PROJECT_SPLIT)
        self.split.addItem("Random train / val / test", RANDOM_SPLIT)
        self.split.currentIndexChanged.connect(self._split_changed)
        self.fractions = QLineEdit("0.8,0.1,0.1")
        self.fractions.setToolTip("train,val,test fractions summing to 1")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        split_row = QHBoxLayout()
        split_row.addWidget(self.split, 1)
        split_row.addWidget(self.fractions)
        split_row.addWidget(QLabel("seed"))
        split_row.addWidget(self.seed)
        form.addRow("Format", self.format)
        form.addRow("COCO masks as", self.coco_mode)
        form.addRow("Images", self.include)
        form.addRow("Split", split_row)
        self.voc_jpeg = QCheckBox("VOC: JPEG images for torchvision's VOCSegmentation (re-encodes "
                                  "PNG/TIFF sources, lossy)")
        self.skip_bad = QCheckBox("Leave out unreadable images and masks (listed in manifest.json) "
                                  "instead of stopping")
        self.follow_symlinks = QCheckBox("Also export images linked from outside the project folder")
        for box in (self.voc_jpeg, self.skip_bad, self.follow_symlinks):
            form.addRow(box)

    def _build_target(self, form: QFormLayout) -> None:
        folder = Path(self.project.folder)
        self.target = QLineEdit(str(folder.parent / f"{folder.name}-export"))
        browse = QPushButton("...")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.target)
        row.addWidget(browse)
        self.overwrite = QCheckBox("Replace a previous export in this folder")
        form.addRow("Into folder", row)
        form.addRow(self.overwrite)

    def _build_feedback(self, form: QFormLayout) -> None:
        self.bar = QProgressBar()
        self.bar.setValue(0)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_btn = QPushButton("Open folder")
        self.open_btn.setVisible(False)
        self.open_btn.clicked.connect(self.open_folder)
        self.start_btn = QPushButton("Export")
        self.start_btn.setDefault(True)
        self.close_btn = QPushButton("Cancel")
        self.start_btn.clicked.connect(self.start)
        self.close_btn.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.close_btn)
        form.addRow(self.bar)
        form.addRow(self.message)
        form.addRow(buttons)

    def _format_changed(self) -> None:
        self.coco_mode.setEnabled(self.format.currentData() == "coco")
        self.voc_jpeg.setEnabled(self.format.currentData() == "voc")

    def _split_changed(self) -> None:
        random_split = self.split.currentData() == RANDOM_SPLIT
        self.fractions.setEnabled(random_split)
        self.seed.setEnabled(random_split)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into")
        if folder:
            self.target.setText(str(Path(folder) / f"{Path(self.project.folder).name}-export"))

    # ---- running ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def options(self) -> Any:
        """The ``ExportOptions`` the controls describe; ExportError for bad fractions."""
        from resunet_gui.export.base import ExportOptions
        from resunet_gui.export.split import parse_fractions

        split = (None if self.split.currentData() == PROJECT_SPLIT
                 else parse_fractions(self.fractions.text()))
        return ExportOptions(include=self.include.currentData(), split=split,
                             seed=self.seed.value(), overwrite=self.overwrite.isChecked(),
                             coco_mode=self.coco_mode.currentData(),
                             voc_jpeg=self.voc_jpeg.isChecked(), skip_bad=self.skip_bad.isChecked(),
                             follow_symlinks=self.follow_symlinks.isChecked())

    def start(self) -> None:
        from resunet_gui.core.errors import ResunetError
        from resunet_gui.export.pipeline import export_project

        if self.running:
            return
        try:
            options = self.options()
        except ResunetError as exc:
            self._show_message(f"Not exported: {exc}")
            return
        self.result = None
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.open_btn.setVisible(False)
        self.start_btn.setEnabled(False)
        self.close_btn.setText("Cancel")
        self._show_message("Exporting...")
        self.worker = create_worker(export_project, self.project, self.format.currentData(),
                                    Path(self.target.text()), options,
                                    check_progress=self.checkProgress.emit)
        self.checkProgress.connect(self._checking, Qt.ConnectionType.UniqueConnection)
        self.worker.progress.connect(self._progress)
        self.worker.returned.connect(self._exported)
        self.worker.errored.connect(self._failed)
        self.worker.finished.connect(self._finished)
        self.worker.start()

    def cancel(self) -> None:
        """Cancel a running export; otherwise close the dialog."""
        if self.running and self.worker is not None:
            self.worker.quit()
            self._show_message("Cancelling...")
        else:
            self.reject()

    def wait(self, timeout: float | None = None) -> None:
        if self.worker is not None:
            self.worker.wait(timeout)

    def open_folder(self) -> None:
        if self.result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.result.out).resolve())))

    # ---- worker signals (GUI thread) -------------------------------------------------
    def _checking(self, done: int, total: int) -> None:
        self._progress(done, total)
        self._show_message(f"Checking files: {done} / {total}")

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        if done and self.message.text().startswith("Checking"):
            self._show_message("Exporting...")

    def _exported(self, result: Any) -> None:
        self.result = result
        self.bar.setValue(self.bar.maximum())
        counts = ", ".join(f"{k} {v}" for k, v in result.split_counts.items())
        self._show_message(f"Exported {result.images} images ({counts}) as {result.format} "
                           f"to:\n{Path(result.out).resolve()}")
        self.open_btn.setVisible(True)

    def _failed(self, exc: BaseException) -> None:
        from resunet_gui.export.base import ExportCancelled

        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        text = str(exc) or type(exc).__name__
        self._show_message(text if isinstance(exc, ExportCancelled) else f"Not exported: {text}")

    def _finished(self) -> None:
        self.start_btn.setEnabled(True)
        self.close_btn.setText("Close")

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        # a long message grows the dialog instead of being cut off: the word-wrapped label's
        # height depends on its width, which the layout learns only when activated
        layout = self.layout()
        if layout is not None:
            layout.activate()
        needed = self.message.heightForWidth(self.message.width())
        if needed > self.message.height():
            self.resize(self.width(), self.height() + needed - self.message.height())

    def reject(self) -> None:
        if self.running and self.worker is not None:
            self.worker.quit()
            self.wait(30)
        super().reject()
