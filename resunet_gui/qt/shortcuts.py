"""Keyboard shortcuts in one table, and the F1 / ? sheet generated from it."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget


@dataclass(frozen=True)
class Shortcut:
    action: str  # attribute name of the QAction in the main window
    keys: tuple[str, ...]
    text: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("open", ("Ctrl+O",), "Open a folder"),
    Shortcut("save", ("Ctrl+S",), "Save now (edits are also saved automatically)"),
    Shortcut("quit", ("Ctrl+Q",), "Quit"),
    Shortcut("prev", ("A", "PgUp", "Alt+Left"), "Previous image"),
    Shortcut("next", ("D", "PgDown", "Alt+Right"), "Next image"),
    Shortcut("slice_prev", ("Ctrl+Up",), "Previous slice of a stack (multi-frame DICOM, multi-page TIFF)"),
    Shortcut("slice_next", ("Ctrl+Down",), "Next slice of a stack"),
    Shortcut("brush", ("B",), "Brush (right button erases; on 16-bit/DICOM images it sets the window)"),
    Shortcut("eraser", ("E",), "Eraser (writes background, or 'unlabelled' if the project "
             "has no background class)"),
    Shortcut("fill", ("G",), "Flood fill"),
    Shortcut("polygon", ("P",), "Polygon (click points; double-click or click the first point)"),
    Shortcut("lasso", ("L",), "Lasso (drag around an area to fill it with the class; "
             "Shift+drag or right button erases)"),
    Shortcut("pick", ("I",), "Pick class (eyedropper: click a labelled pixel)"),
    Shortcut("fix", ("C",), "Click to fix: click a wrong blob to remove it, or a missed "
             "object to fill it with the current class (bounded by the model's probabilities; "
             "never changes what you painted; before you accept, it corrects the suggestion)"),
    Shortcut("refine", ("R",), "Refine this image from my strokes: the model re-predicts "
             "everything you did not paint"),
    Shortcut("refresh_suggestion", ("Shift+S",), "Newer model: refresh the suggestion"),
    Shortcut("smaller", ("[",), "Smaller brush (also Ctrl+wheel)"),
    Shortcut("bigger", ("]",), "Bigger brush (also Ctrl+wheel)"),
    Shortcut("undo", ("Ctrl+Z",), "Undo"),
    Shortcut("redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    Shortcut("suggest", ("S",), "Suggest a mask for this image"),
    Shortcut("accept", ("Return", "Enter"), "Accept the suggestion as labels"),
    Shortcut("done_next", ("Ctrl+Return", "Ctrl+Enter"), "Mark done and go to the next image"),
    Shortcut("toggle_labels", ("H",), "Show/hide labels"),
    Shortcut("toggle_suggestion", ("Shift+H",), "Show/hide the suggestion"),
    Shortcut("zoom_in", ("+", "="), "Zoom in (also wheel)"),
    Shortcut("zoom_out", ("-",), "Zoom out (also wheel)"),
    Shortcut("fit", ("F", "Ctrl+0"), "Fit image to window"),
    Shortcut("actual", ("Ctrl+1",), "Actual size (1:1)"),
    Shortcut("help", ("F1", "?"), "This sheet"),
)
EXTRA_HELP = (
    ("1 ... 9", "Select the class with that key"),
    ("Space + drag, middle button", "Pan"),
    ("Right-drag (16-bit, float, DICOM)", "Window/level: left-right = width, up-down = level"),
    ("Escape", "Cancel an unfinished polygon or lasso"),
)


def keys_for(action: str) -> tuple[str, ...]:
    for s in SHORTCUTS:
        if s.action == action:
            return s.keys
    raise KeyError(action)


def help_html() -> str:
    rows = [(", ".join(s.keys), s.text) for s in SHORTCUTS] + list(EXTRA_HELP)
    body = "".join(f"<tr><td><b>{k}</b></td><td>{t}</td></tr>" for k, t in rows)
    return f"<h3>Keyboard shortcuts</h3><table cellspacing='6'>{body}</table>"


class ShortcutSheet(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shortcuts")
        view = QTextBrowser()
        view.setHtml(help_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(view)
        layout.addWidget(buttons)
        self.resize(460, 560)
