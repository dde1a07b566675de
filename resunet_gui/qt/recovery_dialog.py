"""Opening a folder whose ``project.json`` is corrupt: ask, then recover.

Recovery moves the bad file aside (kept, timestamped, next to it) and rebuilds the per-image
state from the masks on disk; masks are never touched. Without this the user is locked out.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from resunet_gui.core.errors import ResunetError

RECOVER_TITLE = "Recover project state?"


def ask_recover_state(parent: QWidget, error: str) -> bool:
    """Explain what recovery does and ask; True when the user chose Recover."""
    box = QMessageBox(QMessageBox.Icon.Warning, RECOVER_TITLE,
                      "This folder's project state (.resunet/project.json) cannot be read.",
                      QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText(
        "Recover moves the damaged file aside (it is kept next to it, with the date in its "
        "name) and rebuilds the image list and statuses from the masks on disk: every image "
        "with a mask is marked done. Your masks are not changed.")
    box.setDetailedText(error)
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(recover)
    box.exec()
    return box.clickedButton() is recover


def open_with_recovery(window: Any, folder: str | Path, error: Exception) -> Any:
    """After ``ProjectStateError``: ask, recover and return the open project (None if not)."""
    if not ask_recover_state(window, str(error)):
        return None
    try:
        project = window.editor.open_project(folder, recover=True)
    except ResunetError as exc:
        QMessageBox.warning(window, "Cannot recover the project", str(exc))
        return None
    if project.recovered_from is not None:
        window.statusBar().showMessage(
            f"Project state rebuilt from the masks; the damaged file was kept as "
            f"{project.recovered_from.name}", 15000)
    return project
