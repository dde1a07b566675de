"""Dialogs: the crash-recovery question (the export dialog is in ``qt.export_dialog``)."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QMessageBox,
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
