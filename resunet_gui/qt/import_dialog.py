"""File > Import labels...: pick a format and a source; ``label_import.import_labels`` runs on
a worker thread with a progress bar and Cancel, and the window reloads the project after.

The open image is saved and closed first so the import never races an edit session; the
dialog is modal while the worker holds the project.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from resunet_gui.qt.worker import FunctionWorker, create_worker


def summary(result: Any) -> str:
    """What the import did, every skipped image with its reason (never silent)."""
    lines = [f"Imported {len(result.imported)} mask(s) from {result.format}"
             + (" (cancelled)" if result.cancelled else "")
             + f"; skipped {len(result.skipped)}."]
    lines += [f"Added class {c.id} '{c.name}'." for c in result.added_classes]
    lines += [f"Skipped {stem}: {why}" for stem, why in result.skipped]
    if result.skipped and any("already has a mask" in why for _, why in result.skipped):
        lines.append("Tick 'Replace masks that already exist' to replace them.")
    if result.not_in_project:
        lines.append(f"{len(result.not_in_project)} labelled image(s) are not in this project: "
                     + ", ".join(result.not_in_project[:20]))
    lines += result.warnings
    return "\n".join(lines)


class ImportDialog(QDialog):
    """Format, source (file or folder), replace option; the import runs on a worker thread."""

    finished_import = Signal(object, str)  # ImportResult | None, error message

    def __init__(self, project: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from resunet_gui.label_import import formats

        self.setWindowTitle("Import labels")
        self.setModal(True)
        self.project = project
        self.format = QComboBox()
        for key, text in formats().items():
            self.format.addItem(f"{key}: {text}", key)
        self.source = QLineEdit()
        self.source.setPlaceholderText("folder (or COCO/labelme JSON file) with the labels")
        folder_btn, file_btn = QPushButton("Folder..."), QPushButton("File...")
        folder_btn.clicked.connect(self._browse_folder)
        file_btn.clicked.connect(self._browse_file)
        row = QHBoxLayout()
        for widget in (self.source, folder_btn, file_btn):
            row.addWidget(widget)
        self.replace = QCheckBox("Replace masks that already exist (kept in .resunet/import-backup-*)")
        self.bar = QProgressBar()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.start_btn, self.cancel_btn = QPushButton("Import"), QPushButton("Close")
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.cancel_btn)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Labels", row)
        form.addRow(self.replace)
        form.addRow(self.bar)
        form.addRow(self.message)
        form.addRow(self.details)
        form.addRow(buttons)
        self._worker: FunctionWorker | None = None
        self.result: Any = None
        self.finished_import.connect(self._finished)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Labels folder")
        if folder:
            self.source.setText(folder)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels file", "", "JSON (*.json);;All (*)")
        if path:
            self.source.setText(path)

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def start(self) -> None:
        from resunet_gui.label_import import import_labels

        if self.running or not self.source.text().strip():
            self.message.setText("" if self.running else "Choose the labels to import first.")
            return
        fmt, source = self.format.currentData(), Path(self.source.text().strip())
        replace = self.replace.isChecked()
        self.start_btn.setEnabled(False)
        self.cancel_btn.setText("Cancel")
        self.message.setText("Importing...")

        worker = create_worker(import_labels, self.project, fmt, source, replace=replace)
        worker.progress.connect(self._progress)
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        self._worker = worker.start()

    def cancel(self) -> None:
        if self._worker is not None and self.running:
            self._worker.quit()
        else:
            self.reject()

    def wait(self, timeout: float | None = None) -> None:
        if self._worker is not None:
            self._worker.wait(timeout)

    def _returned(self, result: Any) -> None:
        self.finished_import.emit(result, "")

    def _errored(self, exc: BaseException) -> None:  # shown in the dialog, never a traceback
        self.finished_import.emit(None, str(exc) or type(exc).__name__)

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def _finished(self, result: Any, error: str) -> None:
        self.start_btn.setEnabled(True)
        self.cancel_btn.setText("Close")
        self.result = result
        if result is None:
            self.message.setText(f"Not imported: {error}")
            return
        text = summary(result)
        self.message.setText(text.splitlines()[0])
        self.details.setPlainText(text)

    def reject(self) -> None:
        if self._worker is not None and self.running:
            self._worker.quit()
            self.wait(30)
        super().reject()


def open_import_dialog(window: Any) -> ImportDialog | None:
    """Save and close the open image, show the dialog, reload the project after an import."""
    editor = window.editor
    if editor.project is None:
        return None
    stem = editor.stem
    window.tools.set_document(None)
    editor.close_image()
    dialog = ImportDialog(editor.project, window)

    def show_again() -> None:
        if stem is not None and editor.project is not None and editor.stem is None \
                and stem in editor.project.stems():
            window.select_stem(stem)
            if editor.stem != stem:
                window.show_stem(stem)

    def reload(result: Any, _error: str) -> None:
        if result is not None and (result.imported or result.added_classes):
            window.open_folder(editor.project.folder)  # new statuses, classes, masks
            if stem is not None and editor.project is not None and stem in editor.project.stems():
                window.select_stem(stem)
        show_again()

    dialog.finished_import.connect(reload)
    dialog.finished.connect(lambda _code: show_again())
    dialog.show()
    return dialog
