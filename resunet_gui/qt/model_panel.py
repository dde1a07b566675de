"""Model panel: versions with scores, rollback/export/load, training mode and pause, a
plain-language status line and a live loss/Dice plot (pyqtgraph, imported on first use).

Every model operation is a request of the model service (through the bridge), run on its
worker thread; its answer comes back as a queued signal, so nothing here waits for torch.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resunet_gui.engine.check_set import KEEP_BEST_HELP
from resunet_gui.engine.requests import ImportedVersion, VersionListing
from resunet_gui.qt.service_bridge import ServiceBridge
from resunet_gui.qt.version_text import (
    IN_USE,
    NOT_COMPARABLE,
    class_mismatch,
    comparable,
    score_text,
    status_text,
)

MODES = ("decoder", "decoder+last", "all")
COLUMNS = ("version", "Dice", "check imgs", "train imgs", "source", "parent")


class ModelPanel(QWidget):
    """Lists versions and drives the engine through the bridge."""

    versionsLoaded = Signal(list)
    operationDone = Signal(object)
    operationFailed = Signal(str)
    statusLine = Signal(str)  # for the main window's status bar
    _listed = Signal(object)  # engine.requests.VersionListing from the worker
    _imported = Signal(object)  # engine.requests.ImportedVersion from the worker

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge: ServiceBridge | None = None
        self.versions: list[Any] = []
        self.losses: list[tuple[int, float]] = []
        self.scores: list[tuple[int, float]] = []
        self._last_step = 0
        self.current: str | None = None  # the version suggestions come from
        self.foreign: set[str] = set()  # versions trained for other classes
        self._seen: list[Any] = []  # versions announced since the last listing
        self.project_classes: list[str] = []
        self.status = QLabel("No model loaded yet")
        self.status.setWordWrap(True)
        self.reason = QLabel("")
        self.reason.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setToolTip(KEEP_BEST_HELP)  # how versions are chosen (engine/check_set.py)
        self.table.setWhatsThis(KEEP_BEST_HELP)
        self.rollback_btn = QPushButton("Use this version")
        self.export_btn = QPushButton("Export...")
        self.load_btn = QPushButton("Load checkpoint...")
        self.pause = QCheckBox("Pause training")
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.rollback_btn.clicked.connect(lambda: self.rollback(self.selected()))
        self.export_btn.clicked.connect(lambda: self.export(self.selected()))
        self.load_btn.clicked.connect(lambda: self.load_checkpoint())
        self.pause.toggled.connect(self._pause)
        self.mode.activated.connect(lambda _i: self.set_mode(self.mode.currentText()))
        self.versionsLoaded.connect(self._show_versions)
        self._listed.connect(self._on_listed)
        self._imported.connect(self._on_imported)
        self.done_count = QLabel("")
        self.operationDone.connect(lambda _r: self.refresh())
        self.operationFailed.connect(self.status.setText)
        row = QHBoxLayout()
        for b in (self.rollback_btn, self.export_btn, self.load_btn):
            row.addWidget(b)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Train:"))
        row2.addWidget(self.mode)
        row2.addWidget(self.pause)
        self.plot_holder = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.reason)
        layout.addWidget(self.done_count)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addLayout(row2)
        layout.addLayout(self.plot_holder)
        self.plot: Any = None

    # ---- wiring ----------------------------------------------------------------------
    def attach(self, bridge: ServiceBridge) -> None:
        self.bridge = bridge
        bridge.engineReady.connect(lambda _dev, ver: self._engine_ready(ver))
        bridge.trainingStatus.connect(self.on_training_status)
        bridge.modelChanged.connect(self.on_model_changed)
        bridge.requestFailed.connect(lambda _rid, msg: self.operationFailed.emit(msg))

    def refresh(self) -> None:
        if self.bridge is not None:
            self.bridge.list_versions(self._listed.emit)

    def _engine_ready(self, version: str) -> None:
        self.current = version or None
        self.refresh()

    def _on_listed(self, listed: VersionListing) -> None:
        self.current = listed.current
        self._seen = []
        self.versionsLoaded.emit(list(listed.versions))

    def reset(self, class_names: list[str] | None = None) -> None:
        """Forget everything about the previous project (called when a folder opens)."""
        self.versions, self.losses, self.scores = [], [], []
        self._last_step, self.current, self.foreign, self._seen = 0, None, set(), []
        self.project_classes = list(class_names or [])
        self.table.setRowCount(0)
        self.status.setText("No model loaded yet")
        self.reason.setText("")
        self.done_count.setText("")
        if self.plot is not None:
            self._loss_curve.setData([], [])
            self._dice_curve.setData([], [])

    def set_done_count(self, done: int, total: int) -> None:
        self.done_count.setText(f"{done} of {total} images done")

    def selected(self) -> str | None:
        row = self.table.currentRow()
        return self.versions[row].name if 0 <= row < len(self.versions) else None

    # ---- operations (run on the model worker) ------------------------------------------
    def rollback(self, name: str | None) -> None:
        if name and self.bridge is not None:
            self.bridge.rollback(name)  # the bridge's modelChanged announces the new model

    def export(self, name: str | None, dest: str | None = None) -> None:
        if not name or self.bridge is None:
            return
        if dest is None:
            dest, _ = QFileDialog.getSaveFileName(self, "Export model", f"{name}.safetensors",
                                                  "Checkpoints (*.safetensors)")
            if not dest:
                return
        self.bridge.export_version(name, dest, self.operationDone.emit)

    def load_checkpoint(self, path: str | None = None) -> None:
        if self.bridge is None:
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load checkpoint", "",
                                                  "Checkpoints (*.safetensors)")
            if not path:
                return
        self.bridge.load_checkpoint(path, self._imported.emit)

    def _on_imported(self, imported: ImportedVersion) -> None:
        """Arrives before the bridge's modelChanged announces the version (the service's order)."""
        names = imported.class_names
        warning = class_mismatch(names, self.project_classes) if self.project_classes else None
        if warning is not None:
            self.foreign.add(imported.info.name)
            self.mismatch_box = QMessageBox(QMessageBox.Icon.Warning, "Other classes",
                                            warning, QMessageBox.StandardButton.Ok, self)
            self.mismatch_box.open()

    def set_mode(self, mode: str) -> None:
        if self.bridge is not None:
            self.bridge.set_mode(mode, self.operationDone.emit)

    def _pause(self, paused: bool) -> None:
        if self.bridge is not None:
            self.bridge.pause_training(paused)

    # ---- engine events (GUI thread) ------------------------------------------------------
    def on_training_status(self, st: Any) -> None:
        if st.message:
            self.status.setText(st.message)
        if st.mode_reason:
            self.reason.setText(f"Training {st.mode or ''}: {st.mode_reason}")
        if st.mode in MODES:
            self.mode.setCurrentText(st.mode)
        if st.loss is not None and st.step > self._last_step:
            self._last_step = st.step
            self.losses.append((st.step, float(st.loss)))
            self._redraw()

    def on_model_changed(self, info: Any) -> None:
        known = [*self.versions, *self._seen]
        previous = next((v for v in reversed(known) if v.name == self.current), None)
        line = status_text(info, previous, self.foreign)
        self.current = info.name
        self._seen.append(info)
        if getattr(info, "score", None) is not None and comparable(info, self.foreign):
            self.scores.append((max(self._last_step, getattr(info, "step", 0)), float(info.score)))
        self.status.setText(line)
        self.statusLine.emit(line)
        self._redraw()
        self.refresh()

    def _show_versions(self, versions: list) -> None:
        self.versions = list(versions)
        self.table.setRowCount(len(self.versions))
        for r, v in enumerate(self.versions):
            in_use = v.name == self.current
            cells = (f"{v.name} ({IN_USE})" if in_use else v.name, score_text(v, self.foreign),
                     str(v.check_images), str(v.train_images), v.source, v.parent or "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 1 and not comparable(v, self.foreign):
                    item.setToolTip(f"Dice {NOT_COMPARABLE}")
                if in_use:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                    item.setBackground(QBrush(QColor(70, 130, 90)))
                self.table.setItem(r, c, item)

    def _redraw(self) -> None:
        if not self.losses and not self.scores:
            return
        if self.plot is None:
            import pyqtgraph as pg  # only once there is something to plot

            self.plot = pg.PlotWidget(title="loss (line) / check Dice (dots)")
            self.plot.setMinimumHeight(160)
            # the plot takes the panel's width; its 600 px size hint must not widen the dock
            self.plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self._loss_curve = self.plot.plot(pen="y")
            self._dice_curve = self.plot.plot(pen=None, symbol="o", symbolBrush="g")
            self.plot_holder.addWidget(self.plot)
        if self.losses:
            xs, ys = zip(*self.losses, strict=True)
            self._loss_curve.setData(list(xs), list(ys))
        if self.scores:
            xs, ys = zip(*self.scores, strict=True)
            self._dice_curve.setData(list(xs), list(ys))
