"""Sessions that cannot write never accept strokes and then drop them.

Read-only at open (another instance holds the lock, the disk was full): editing is off, a
persistent banner says why and how to fix it, Retry takes the lock once that is fixed. A disk
that fills during a session: the edits stay in memory across image switches, the banner says
so until a retried save succeeds. Closing a session that edited nothing never complains.
"""
from __future__ import annotations

import errno

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from synthetic import make_blob_project

from resunet_gui.app import build_window
from resunet_gui.core import project as project_module
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.journal import Journal
from resunet_gui.core.lock import ProjectLock
from resunet_gui.core.project import Project
from resunet_gui.core.storage import storage_error
from resunet_gui.qt.preferences import Preferences

AMBER = (0xFF, 0xD8, 0x66)


@pytest.fixture
def warnings_shown(monkeypatch):
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _parent, title, text, *a, **k: shown.append((title, text)))
    return shown


@pytest.fixture
def window(qtbot, tmp_path, warnings_shown):
    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture
def folder(tmp_path):
    return make_blob_project(tmp_path / "p", n=3)


def _vp(window, x: float, y: float) -> QPoint:
    return window.canvas.mapFromScene(QPointF(x, y))


def stroke(window, x0: float, y0: float, x1: float, y1: float) -> None:
    vp = window.canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     _vp(window, x0, y0))
    QTest.mouseMove(vp, _vp(window, (x0 + x1) / 2, (y0 + y1) / 2))
    QTest.mouseMove(vp, _vp(window, x1, y1))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       _vp(window, x1, y1))


def open_at(window, qtbot, folder, stem: str = "im0") -> None:
    assert window.open_folder(folder)
    window.select_stem(stem)
    qtbot.waitUntil(lambda: window.editor.stem == stem and window.editor.document is not None)
    window.palette_widget.classSelected.emit(1)


def banner_rendered(window) -> bool:
    """The banner is on screen: the top of the central area shows its colour."""
    image = window.centralWidget().grab().toImage()
    c = image.pixelColor(3, 3)
    return (c.red(), c.green(), c.blue()) == AMBER


def click_retry(window, qtbot) -> None:
    QTest.mouseClick(window.banner.button, Qt.MouseButton.LeftButton)
    qtbot.wait(20)


def test_project_held_by_another_instance_refuses_strokes_until_retry(window, qtbot, folder,
                                                                      warnings_shown):
    other = Project.open(folder)  # another instance holds the lock
    open_at(window, qtbot, folder)
    assert window.editor.project.read_only
    before = window.editor.document.labels.copy()
    window.canvas.set_brush_cursor_visible(False)  # the ring follows the mouse: not a label
    screen = window.canvas.viewport().grab().toImage()
    stroke(window, 10, 10, 50, 50)
    assert np.array_equal(window.editor.document.labels, before)  # no pixel changed
    window.canvas.set_brush_cursor_visible(False)
    assert window.canvas.viewport().grab().toImage() == screen
    window.editor.document.set_suggestion(np.ones_like(before))
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)  # accept the suggestion: refused too
    assert np.array_equal(window.editor.document.labels, before)
    assert banner_rendered(window)
    text = window.banner.text.text()
    assert "Read-only" in text and "Close the other" in text and "Retry" in text
    window.select_stem("im1")  # nothing to lose on switching
    qtbot.waitUntil(lambda: window.editor.stem == "im1")
    window.select_stem("im0")
    qtbot.waitUntil(lambda: window.editor.stem == "im0" and window.editor.document is not None)
    assert np.array_equal(window.editor.document.labels, before)
    assert banner_rendered(window)  # persistent, not an 8-second status message

    click_retry(window, qtbot)  # the other instance still runs: still read-only
    assert window.editor.project.read_only and banner_rendered(window)
    other.close()
    click_retry(window, qtbot)
    assert not window.editor.project.read_only
    assert not window.banner.isVisible() and not banner_rendered(window)
    qtbot.waitUntil(lambda: window.editor.document is not None)
    stroke(window, 10, 10, 50, 50)
    assert window.editor.document.labels[30, 30] == 1
    window.close()
    assert read_mask(folder / "masks" / "im0.png")[30, 30] == 1
    assert warnings_shown == []


def test_closing_a_read_only_session_that_edited_nothing_says_nothing(window, qtbot, folder,
                                                                     warnings_shown):
    with Project.open(folder):
        open_at(window, qtbot, folder)
        assert window.editor.project.read_only
        window.close()
    assert warnings_shown == []


def test_disk_full_at_first_open_turns_editing_off_and_retry_recovers(window, qtbot, folder,
                                                                      monkeypatch):
    def full(_self):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ProjectLock, "acquire", full)
    open_at(window, qtbot, folder)
    assert window.editor.project.read_only
    before = window.editor.document.labels.copy()
    stroke(window, 10, 10, 50, 50)
    assert np.array_equal(window.editor.document.labels, before)
    assert banner_rendered(window) and "Free some disk space" in window.banner.text.text()
    monkeypatch.undo()  # space was freed
    click_retry(window, qtbot)
    assert not window.editor.project.read_only and not banner_rendered(window)
    qtbot.waitUntil(lambda: window.editor.document is not None)
    stroke(window, 10, 10, 50, 50)
    window.editor.flush()
    assert read_mask(folder / "masks" / "im0.png")[30, 30] == 1


def test_disk_filling_during_a_session_keeps_edits_in_memory_across_switches_until_saved(
        window, qtbot, folder, monkeypatch):
    open_at(window, qtbot, folder)
    old_mask = read_mask(folder / "masks" / "im0.png")

    def disk_full(path, *a, **k):  # noqa: ANN001, ANN202
        raise storage_error(OSError(errno.ENOSPC, "No space left on device"), path)

    monkeypatch.setattr(project_module, "atomic_write_png", disk_full)
    monkeypatch.setattr(Journal, "append", lambda self, stem, *a: disk_full(self.path_for(stem)))
    stroke(window, 5, 5, 58, 58)
    painted = window.editor.document.labels.copy()
    assert painted[30, 30] == 1 and not np.array_equal(painted, old_mask)
    window.select_stem("im1")  # the save on leaving fails: nothing may be dropped
    qtbot.waitUntil(lambda: window.editor.stem == "im1")
    window.select_stem("im0")
    qtbot.waitUntil(lambda: window.editor.stem == "im0" and window.editor.document is not None)
    assert np.array_equal(window.editor.document.labels, painted)  # still there, in memory
    assert banner_rendered(window) and "disk full" in window.banner.text.text()
    assert "im0" in window.banner.text.text() or "Not saved" in window.banner.text.text()
    window.select_stem("im1")
    qtbot.waitUntil(lambda: window.editor.stem == "im1")
    assert np.array_equal(read_mask(folder / "masks" / "im0.png"), old_mask)

    monkeypatch.undo()  # space freed
    window.read_only_guard.timer.setInterval(50)  # retried without the user doing anything
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=3000)
    assert np.array_equal(read_mask(folder / "masks" / "im0.png"), painted)
    assert window.editor.unsaved_stems() == []
    assert window.editor.project.journal.pending() == []
    assert not window.editor.project.read_only


def test_each_read_only_reason_gets_its_own_fix(tmp_path, monkeypatch):
    from resunet_gui.qt.read_only_banner import fix_hint

    folder = make_blob_project(tmp_path / "p", n=1)
    with Project.open(folder), Project.open(folder) as second:
        assert "Close the other" in fix_hint(second.read_only_reason)
    monkeypatch.setattr(project_module.os, "access", lambda *a, **k: False)
    with Project.open(folder) as p:
        assert "Make the folder writable" in fix_hint(p.read_only_reason)
    monkeypatch.undo()
    monkeypatch.setattr(ProjectLock, "acquire", lambda self: (_ for _ in ()).throw(
        OSError(errno.EROFS, "Read-only file system")))
    with Project.open(folder) as p:
        assert "Make the folder writable" in fix_hint(p.read_only_reason)
    monkeypatch.setattr(ProjectLock, "acquire", lambda self: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    with Project.open(folder) as p:
        assert "Free some disk space" in fix_hint(p.read_only_reason)
        monkeypatch.undo()
        assert p.retry_write_access() and not p.read_only
        p.set_status("im0", "in_progress")  # writes again
    with Project.open(folder) as p:
        assert p.entry("im0").status.value == "in_progress"


def test_read_only_session_with_crash_edits_keeps_the_journal_and_closes_quietly(
        window, qtbot, folder, warnings_shown):
    from resunet_gui.annotation.session import EditSession

    other = Project.open(folder)  # the other instance, with journalled (unsaved) edits
    session = EditSession(other, "im0", autosave_delay_s=3600)
    session.document.paint((10, 10), (30, 10), 3, 1)
    asked: list[list[str]] = []
    window.ask_recover = lambda stems: asked.append(stems) or True
    open_at(window, qtbot, folder)
    assert window.editor.project.read_only and asked == []
    assert window.editor.document.labels[10, 20] == 1  # shown, replayed from the journal
    window.close()
    assert warnings_shown == []
    assert other.journal.pending() == ["im0"]  # nothing dropped
    session.close()
    other.close()
    assert read_mask(folder / "masks" / "im0.png")[10, 20] == 1


@pytest.mark.parametrize("journal_full", [False, True])
def test_closing_with_unsaved_edits_warns_only_when_the_journal_lacks_them(
        window, qtbot, folder, monkeypatch, warnings_shown, journal_full):
    open_at(window, qtbot, folder)

    def disk_full(path, *a, **k):  # noqa: ANN001, ANN202
        raise storage_error(OSError(errno.ENOSPC, "No space left on device"), path)

    monkeypatch.setattr(project_module, "atomic_write_png", disk_full)
    if journal_full:
        monkeypatch.setattr(Journal, "append",
                            lambda self, stem, *a: disk_full(self.path_for(stem)))
    stroke(window, 5, 5, 58, 58)
    window.close()
    if journal_full:  # the edits are really lost: say so, naming the image
        assert [t for t, _ in warnings_shown] == ["Could not save"]
        assert "im0" in warnings_shown[0][1]
    else:  # the journal restores them on the next open: nothing to alarm anyone about
        assert warnings_shown == []
        monkeypatch.undo()
        with Project.open(folder) as p:
            assert p.pending_recovery == ["im0"]
