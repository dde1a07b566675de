"""Edit > Preferences...: the compute device and the encoder weights a new model starts from.

Both are stored in QSettings (``Preferences``) and read when a folder's engine is built, so a
change applies to the next folder opened; the dialog says so.
"""
from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from resunet_gui.qt.preferences import DEVICES, Preferences

WEIGHT_CHOICES = (("imagenet", "ImageNet (from the local cache)"),
                  ("none", "None (random start)"),
                  ("file", "A weights file..."))


class PreferencesDialog(QDialog):
    """Reads ``prefs`` when shown; writes them only on OK."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.prefs = prefs
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(prefs.device)
        self.weights = QComboBox()
        for key, text in WEIGHT_CHOICES:
            self.weights.addItem(text, key)
        self.weights_file = QLineEdit()
        self.weights_file.setPlaceholderText("encoder weights (.safetensors)")
        self.browse = QPushButton("Browse...")
        self.browse.clicked.connect(self._browse)
        current = prefs.weights
        if current in ("imagenet", "none"):
            self.weights.setCurrentIndex(self.weights.findData(current))
        else:
            self.weights.setCurrentIndex(self.weights.findData("file"))
            self.weights_file.setText(current)
        self.weights.currentIndexChanged.connect(lambda _i: self._enable_file())
        self._enable_file()
        file_row = QHBoxLayout()
        file_row.addWidget(self.weights_file)
        file_row.addWidget(self.browse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Device:", self.device)
        form.addRow("Encoder weights:", self.weights)
        form.addRow("", file_row)
        form.addRow(QLabel("Changes apply to the next folder you open."))
        form.addRow(self.buttons)

    def chosen_weights(self) -> str:
        key = str(self.weights.currentData())
        return self.weights_file.text().strip() if key == "file" else key

    def accept(self) -> None:
        weights = self.chosen_weights()
        if not weights:  # "a file" with no file: keep the dialog open
            self.weights_file.setFocus()
            return
        self.prefs.device = self.device.currentText()
        self.prefs.weights = weights
        super().accept()

    def _enable_file(self) -> None:
        on = self.weights.currentData() == "file"
        self.weights_file.setEnabled(on)
        self.browse.setEnabled(on)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Encoder weights", "",
                                              "Weights (*.safetensors);;All files (*)")
        if path:
            self.weights_file.setText(path)
