"""EditSession: journal every step, autosave, crash recovery, storage errors, project status."""
from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from resunet_gui.annotation.session import EditSession
from resunet_gui.core import storage
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.project import Project
from resunet_gui.core.types import ImageStatus

SHAPE = (48, 64)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    img = np.random.default_rng(0).integers(0, 255, (*SHAPE, 3), dtype=np.uint8)
    cv2.imwrite(str(root / "a.png"), img)
    return root


def _stroke(doc, y, value=1):
    doc.begin_stroke()
    doc.paint((5, y), (40, y), 3, value)
    doc.end_stroke()


def test_new_image_starts_empty_and_save_now_writes_mask_and_clears_journal(folder):
    with Project.open(folder) as project:
        session = EditSession(project, "a", autosave_delay_s=60)
        assert session.document.labels.shape == SHAPE and not session.document.labels.any()
        _stroke(session.document, 10)
        _stroke(session.document, 30, value=2)
        assert project.journal.count("a") == 2
        assert session.save_now()
        assert project.journal.count("a") == 0
        assert np.array_equal(read_mask(project.mask_path("a")), session.document.labels)
        assert session.state == "saved" and session.last_error is None
        session.close()


def test_autosave_runs_after_the_debounce_delay(folder):
    saved = threading.Event()
    states: list[str] = []

    def on_state(state, message):
        states.append(state)
        if state == "saved":
            saved.set()

    with Project.open(folder) as project:
        session = EditSession(project, "a", autosave_delay_s=0.05, on_save_state=on_state)
        _stroke(session.document, 10)
        assert saved.wait(10)
        assert states == ["saving", "saved"] and not session.has_unsaved
        assert np.array_equal(read_mask(project.mask_path("a")), session.document.labels)
        session.close()


def test_unsaved_steps_are_recovered_from_journal_after_crash(folder):
    project = Project.open(folder)
    session = EditSession(project, "a", autosave_delay_s=60)
    doc = session.document
    _stroke(doc, 10)
    _stroke(doc, 20, value=2)
    doc.undo()
    doc.fill((60, 45), 3)
    expected = doc.labels.copy()
    session._debouncer.cancel()  # "crash": nothing saved, journal left behind
    project.journal.close()
    project._lock.release()
    with Project.open(folder) as again:
        assert "a" in again.journal.pending()
        recovered = EditSession(again, "a", autosave_delay_s=60)
        assert recovered.recovered_steps == 4
        assert "Recovered 4" in recovered.recovery_message
        assert np.array_equal(recovered.document.labels, expected)
        assert recovered.has_unsaved and recovered.close()
        assert again.journal.count("a") == 0


def test_edit_during_save_keeps_journal_so_replay_gives_latest_state(folder):
    with Project.open(folder) as project:
        holder = {}

        def on_state(state, message):
            if state == "saving" and not holder.get("done"):
                holder["done"] = True
                _stroke(holder["session"].document, 40, value=4)  # lands after the snapshot

        session = EditSession(project, "a", autosave_delay_s=60, on_save_state=on_state)
        holder["session"] = session
        _stroke(session.document, 10)
        assert not session.save_now()  # saved the snapshot, but newer work is still unsaved
        assert project.journal.count("a") == 2  # not cleared: it holds the newer step
        mask = read_mask(project.mask_path("a"))
        assert project.journal.replay("a", mask) == 2
        assert np.array_equal(mask, session.document.labels)
        assert session.close()
        assert project.journal.count("a") == 0


def test_first_edit_sets_in_progress_counts_edits_and_mark_done(folder):
    with Project.open(folder) as project:
        assert project.entry("a").status == ImageStatus.NEW
        session = EditSession(project, "a", autosave_delay_s=60)
        _stroke(session.document, 10)
        _stroke(session.document, 20)
        assert project.entry("a").status == ImageStatus.IN_PROGRESS
        assert project.entry("a").edits == 2
        assert session.mark_done(model_version="v3")
        entry = project.entry("a")
        assert entry.status == ImageStatus.DONE and entry.model_version == "v3"
        assert entry.corrected_fraction is None  # no suggestion was accepted
        session.document.set_suggestion(np.zeros(SHAPE, np.uint8))
        session.document.accept_suggestion()
        session.document.polygon([(0, 0), (9, 0), (9, 9), (0, 9)], 2)  # 100 of 3072 pixels
        assert session.mark_done()
        assert project.entry("a").corrected_fraction == pytest.approx(100 / (48 * 64))
        session.close()
    with Project.open(folder) as project:
        assert project.entry("a").status == ImageStatus.DONE and project.entry("a").edits == 4


def _disk_full(monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "write", full)


def _read_only_folder(monkeypatch, folder: Path):
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).startswith(str(folder / "masks")) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)


@pytest.mark.parametrize("fault", ["disk_full", "read_only"])
def test_storage_error_keeps_work_journal_and_old_file(folder, monkeypatch, fault):
    states: list[tuple[str, str]] = []
    with Project.open(folder) as project:
        session = EditSession(project, "a", autosave_delay_s=60,
                              on_save_state=lambda s, m: states.append((s, m)))
        _stroke(session.document, 10)
        assert session.save_now()
        good = read_mask(project.mask_path("a"))
        _stroke(session.document, 30, value=2)
        if fault == "disk_full":
            _disk_full(monkeypatch)
        else:
            _read_only_folder(monkeypatch, folder)
        assert not session.save_now()
        monkeypatch.undo()
        assert session.state == "error" and session.last_error is not None
        assert ("disk full" if fault == "disk_full" else "read-only") in states[-1][1]
        assert session.has_unsaved and (session.document.labels == 2).any()
        assert np.array_equal(read_mask(project.mask_path("a")), good)  # old file intact
        assert project.journal.count("a") == 1  # the unsaved stroke is still journalled
        assert session.save_now() and session.last_error is None  # fixed: retry succeeds
        assert np.array_equal(read_mask(project.mask_path("a")), session.document.labels)
        session.close()


def test_existing_mask_is_loaded_for_editing(folder):
    (folder / "masks").mkdir()
    mask = np.zeros(SHAPE, np.uint8)
    mask[5:10, 5:10] = 3
    cv2.imwrite(str(folder / "masks" / "a.png"), mask)
    with Project.open(folder) as project:
        session = EditSession(project, "a", autosave_delay_s=60)
        assert np.array_equal(session.document.labels, mask) and session.recovered_steps == 0
        session.close()


def test_read_only_project_keeps_edits_in_memory_and_reports_error(folder):
    messages: list[str] = []
    with Project.open(folder, read_only=True) as project:
        session = EditSession(project, "a", autosave_delay_s=60,
                              on_save_state=lambda s, m: messages.append(m))
        _stroke(session.document, 10)
        assert (session.document.labels == 1).any()
        assert session.state == "error" and "read-only" in messages[-1]
        assert not session.close()
    assert not (folder / "masks" / "a.png").exists()


def test_done_without_any_edit_still_writes_the_mask_so_training_can_read_it(folder):
    with Project.open(folder) as project:
        session = EditSession(project, "a", autosave_delay_s=60)
        assert session.mark_done()
        assert project.entry("a").status == ImageStatus.DONE
        assert np.array_equal(read_mask(project.mask_path("a")), session.document.labels)
        session.close()
