"""Dialogs: export with progress and Cancel (runs ``export.export_project`` off the GUI
thread), and the crash-recovery question."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QWidget,
)


def ask_recover(parent: QWidget, stems: list[str]) -> bool:
    """Ask whether to keep edits the journal holds from an unexpected exit."""
    names = ", ".join(stems[:5]) + (" ..." if len(stems) > 5 else "")
    answer = QMessageBox.question(
        parent, "Recover unsaved edits?",
        f"The app closed unexpectedly with unsaved edits in {len(stems)} image(s): "
        f"{names}.\nRecover them?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes


def offer_recovery(window: Any) -> None:
    """After opening a project: ask (``window.ask_recover``) whether to keep the edits the
    journal holds from a crash, then replay-and-save or discard them."""
    stems = window.editor.pending_recovery()
    if not stems:
        return
    keep = window.ask_recover(stems)
    steps = window.editor.recover(stems, keep)
    if keep:
        window.statusBar().showMessage(
            f"Recovered {steps} unsaved edit(s) in {len(stems)} image(s)", 10000)


class ExportDialog(QDialog):
    """Pick a format and a target folder; the export runs on a worker thread."""

    progressed = Signal(int, int)
    finished_export = Signal(object, str)  # ExportResult | None, error message

    def __init__(self, project: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from resunet_gui.export.registry import formats

        self.setWindowTitle("Export dataset")
        self.project = project
        self.format = QComboBox()
        for key, text in formats().items():
            self.format.addItem(f"{key}: {text}", key)
        self.include = QComboBox()
        self.include.addItem("Done images only", "done")
        self.include.addItem("All images with masks", "all")
        self.target = QLineEdit(str(Path(project.folder).parent / f"{Path(project.folder).name}"
                                    "-export"))
        browse = QPushButton("...")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.target)
        row.addWidget(browse)
        self.bar = QProgressBar()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.start_btn = QPushButton("Export")
        self.cancel_btn = QPushButton("Cancel")
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.cancel_btn)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Images", self.include)
        form.addRow("Into folder", row)
        form.addRow(self.bar)
        form.addRow(self.message)
        form.addRow(buttons)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.result: Any = None
        self.progressed.connect(self._progress)
        self.finished_export.connect(self._finished)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into")
        if folder:
            self.target.setText(str(Path(folder) / f"{Path(self.project.folder).name}-export"))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        from resunet_gui.export.base import ExportOptions
        from resunet_gui.export.registry import export_project

        if self.running:
            return
        fmt, out = self.format.currentData(), Path(self.target.text())
        options = ExportOptions(include=self.include.currentData())
        self._cancel.clear()
        self.start_btn.setEnabled(False)
        self.message.setText("Exporting...")

        def work() -> None:
            try:
                result = export_project(self.project, fmt, out, options,
                                        progress=self.progressed.emit,
                                        should_cancel=self._cancel.is_set)
            except Exception as exc:  # noqa: BLE001 - shown in the dialog, never a traceback
                self.finished_export.emit(None, str(exc) or type(exc).__name__)
                return
            self.finished_export.emit(result, "")

        self._thread = threading.Thread(target=work, name="resunet-export", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        if self.running:
            self._cancel.set()
        else:
            self.reject()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def _finished(self, result: Any, error: str) -> None:
        self.start_btn.setEnabled(True)
        self.result = result
        if result is None:
            self.message.setText(f"Not exported: {error}")
            return
        self.message.setText(f"Exported {result.images} images ({result.format}) to {result.out}")

    def reject(self) -> None:
        if self.running:
            self._cancel.set()
            self.wait(30)
        super().reject()
