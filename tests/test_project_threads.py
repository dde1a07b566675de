"""``Project`` shared by the GUI, autosave, model and export threads stays consistent."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import resunet_gui.core.project as project_module
from resunet_gui.core.project import Project
from resunet_gui.core.types import ImageStatus
from tests.synthetic import make_blob_project

THREADS = 6
ROUNDS = 15


def _hammer(project: Project, stems: list[str], errors: list[BaseException],
            start: threading.Barrier) -> None:
    statuses = [ImageStatus.IN_PROGRESS, ImageStatus.SUGGESTED, ImageStatus.DONE]
    try:
        start.wait()
        for i in range(ROUNDS):
            for stem in stems:
                project.set_status(stem, statuses[i % 3], model_version=f"v{i}")
                project.add_edits(stem, 1)
                mask = project.read_mask(stem)
                assert mask is not None
                project.save_mask(stem, (mask + (i % 2)).clip(0, 1).astype(np.uint8))
            project.save()
            project.stems_with_status(ImageStatus.DONE)
    except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
        errors.append(exc)


def test_project_used_from_several_threads_saves_and_reopens_consistently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Compact often, so full project.json rewrites race with log appends and each other.
    monkeypatch.setattr(project_module, "COMPACT_EVERY", 7)
    folder = make_blob_project(tmp_path / "p", n=THREADS * 2, size=32)
    project = Project.open(folder)
    stems = project.stems()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    threads = [threading.Thread(target=_hammer, args=(project, stems[t::THREADS], errors, start))
               for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    project.close()
    assert errors == []
    last = ROUNDS - 1
    with Project.open(folder) as reopened:
        assert reopened.warnings == []
        for stem in stems:
            entry = reopened.entry(stem)
            assert entry.status == [ImageStatus.IN_PROGRESS, ImageStatus.SUGGESTED,
                                    ImageStatus.DONE][last % 3]
            assert entry.model_version == f"v{last}"
            assert entry.edits >= ROUNDS
            assert reopened.read_mask(stem) is not None
