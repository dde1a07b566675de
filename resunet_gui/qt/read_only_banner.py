"""A banner above the canvas for states that must not go unnoticed, and the guard that
keeps a session that cannot write from accepting edits it would lose.

A project opened read-only (another instance holds it, the folder or mount is read-only,
the disk was full at open) turns editing off and says why and how to fix it, with a Retry
button that tries to take the lock again. A save that fails during a session (disk full)
keeps the edits in memory (and in the journal when it can), shows the banner until a save
succeeds, and retries by itself every few seconds.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

RETRY_INTERVAL_MS = 5000
_STYLE = ("QFrame#notice { background: #ffd866; border-bottom: 1px solid #b38f00; }"
          " QFrame#notice QLabel { color: #202020; }")


class NoticeBanner(QFrame):
    """A persistent one-line notice with one action button (hidden until ``show_notice``)."""

    actionClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.setStyleSheet(_STYLE)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton()
        self.button.clicked.connect(self.actionClicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self.setVisible(False)

    def show_notice(self, text: str, action: str) -> None:
        self.text.setText(text)
        self.button.setText(action)
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)


def banners_above(central: QWidget, *banners: QWidget) -> QWidget:
    """A widget holding ``banners`` (stacked, hidden until needed) above ``central``."""
    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    for banner in banners:
        layout.addWidget(banner)
    layout.addWidget(central, 1)
    return holder


def fix_hint(reason: str) -> str:
    """How to get write access back, from the reason the project opened read-only."""
    low = reason.lower()
    if "no space" in low or "disk full" in low or "quota" in low:
        return "Free some disk space, then press Retry."
    if any(k in low for k in ("no write permission", "read-only file system", "permission denied")):
        return ("Make the folder writable (or copy it somewhere you can write and open the "
                "copy), then press Retry.")
    if any(k in low for k in ("pid", "in use", "lock", "another")):
        return ("Close the other resunet-gui window or program that has this project open, "
                "then press Retry.")
    return "Fix the cause, then press Retry."


class ReadOnlyGuard(QObject):
    """Keeps ``tools.enabled`` and the banner in step with whether the project can be written."""

    def __init__(self, editor: Any, tools: Any, banner: NoticeBanner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.editor, self.tools, self.banner = editor, tools, banner
        self.save_error: str | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(RETRY_INTERVAL_MS)
        self.timer.timeout.connect(self._retry_saves)
        editor.projectOpened.connect(lambda _p: self.refresh())
        editor.projectClosed.connect(self.refresh)
        editor.saveStateChanged.connect(self._save_state)
        banner.actionClicked.connect(self.retry)

    def refresh(self) -> None:
        project = self.editor.project
        read_only = project is not None and project.read_only
        self.tools.enabled = not read_only
        if project is None:
            self.save_error = None
        unsaved = self.editor.unsaved_stems() if project is not None else []
        if read_only:
            reason = (project.read_only_reason or "opened read-only").removeprefix(
                "opened read-only: ")
            self.banner.show_notice(f"Read-only: {reason}. Editing is turned off so nothing you "
                                    f"paint can be lost. {fix_hint(reason)}", "Retry")
        elif self.save_error is not None or unsaved:
            names = ", ".join(unsaved[:3]) + (" ..." if len(unsaved) > 3 else "")
            self.banner.show_notice(
                f"Not saved{f' ({names})' if names else ''}: {self.save_error or 'save failed'}. "
                "Your edits are kept in memory (and in the journal when the disk allows) and "
                "are saved as soon as writing works again; retrying every "
                f"{RETRY_INTERVAL_MS // 1000} s.", "Retry now")
        else:
            self.banner.clear()
        if (self.save_error is not None or unsaved) and not read_only:
            self.timer.start()
        else:
            self.timer.stop()

    def _save_state(self, text: str) -> None:
        if text.startswith("error:"):
            self.save_error = text[len("error:"):].strip()
        elif text == "saved":
            self.save_error = None
        else:
            return
        self.refresh()

    def retry(self) -> None:
        """Retry button: take the lock again when read-only, else save what failed."""
        project = self.editor.project
        if project is not None and project.read_only:
            if project.retry_write_access():
                self.editor.reopen_current()
        else:
            self._retry_saves()
        self.refresh()

    def _retry_saves(self) -> None:
        if self.editor.retry_saves():
            self.save_error = None
        self.refresh()
