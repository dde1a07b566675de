"""Recovering a project whose project.json is corrupt: CLI --recover and the GUI dialog.

The bad file is kept (timestamped) beside the new one, the state is rebuilt from the masks
on disk, and the masks themselves are never touched.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from resunet_gui.app import build_window
from resunet_gui.cli import build_parser, main
from resunet_gui.core.errors import ProjectStateError
from resunet_gui.core.project import Project
from resunet_gui.qt.preferences import Preferences
from resunet_gui.qt.recovery_dialog import RECOVER_TITLE


@pytest.fixture
def corrupt_project(tmp_path):
    folder = tmp_path / "proj"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for stem in ("a", "b"):
        cv2.imwrite(str(folder / "images" / f"{stem}.png"), np.full((16, 16), 90, np.uint8))
    cv2.imwrite(str(folder / "masks" / "a.png"), np.eye(16, dtype=np.uint8))
    Project.open(folder).close()
    (folder / ".resunet" / "project.json").write_bytes(b'{"schema_version": 1, "images": [')
    return folder


def _mask_bytes(folder):
    return {p.name: p.read_bytes() for p in (folder / "masks").iterdir()}


def test_a_corrupt_state_names_the_recovery_options(corrupt_project):
    with pytest.raises(ProjectStateError, match="--recover"):
        Project.open(corrupt_project)


@pytest.mark.parametrize("command", ["export", "train", "eval", "gui"])
def test_commands_that_open_a_project_accept_recover(command):
    extra = {"export": ["--format", "png", "--out", "x"], "eval": ["--checkpoint", "c"]}
    args = build_parser().parse_args([command, "folder", *extra.get(command, []), "--recover"])
    assert args.recover is True


def test_export_recover_keeps_the_bad_file_and_rebuilds_from_masks(corrupt_project, tmp_path, capsys):
    masks = _mask_bytes(corrupt_project)
    out = tmp_path / "out"
    assert main(["export", str(corrupt_project), "--format", "png", "--out", str(out)]) == 1
    assert "--recover" in capsys.readouterr().err
    assert main(["export", str(corrupt_project), "--format", "png", "--out", str(out),
                 "--recover"]) == 0
    assert "kept as" in capsys.readouterr().err
    kept = list((corrupt_project / ".resunet").glob("project.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b'{"schema_version": 1, "images": [')
    assert _mask_bytes(corrupt_project) == masks
    with Project.open(corrupt_project, read_only=True) as p:
        assert p.entry("a").status.value == "done" and p.entry("b").status.value == "new"


def test_gui_recover_runs_before_the_window_opens(corrupt_project, monkeypatch):
    opened = []
    monkeypatch.setattr("resunet_gui.app.run", lambda folder: opened.append(folder) or 0)
    assert main(["gui", str(corrupt_project), "--recover"]) == 0
    assert opened and list((corrupt_project / ".resunet").glob("project.json.corrupt-*"))


def _answer_dialog(qtbot, button_text: str, seen: list[str]) -> None:
    """Click ``button_text`` in the modal message box once it is shown."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.windowTitle())
        named = [b for b in box.buttons() if b.text().replace("&", "") == button_text]
        qtbot.mouseClick((named or box.buttons())[0], Qt.MouseButton.LeftButton)  # never hang

    QTimer.singleShot(0, click)


def test_gui_offers_recovery_and_recover_opens_the_project(qtbot, tmp_path, corrupt_project):
    masks = _mask_bytes(corrupt_project)
    window = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    qtbot.addWidget(window)
    seen: list[str] = []
    _answer_dialog(qtbot, "Recover", seen)
    assert window.open_folder(corrupt_project)
    assert seen == [RECOVER_TITLE]
    assert sorted(window.editor.project.stems()) == ["a", "b"]
    assert list((corrupt_project / ".resunet").glob("project.json.corrupt-*"))
    assert _mask_bytes(corrupt_project) == masks
    window.editor.close_project()


def test_gui_cancel_leaves_the_folder_closed_and_untouched(qtbot, tmp_path, corrupt_project):
    window = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    qtbot.addWidget(window)
    seen: list[str] = []
    _answer_dialog(qtbot, "Cancel", seen)
    assert not window.open_folder(corrupt_project)
    assert seen == [RECOVER_TITLE] and window.editor.project is None
    assert not list((corrupt_project / ".resunet").glob("project.json.corrupt-*"))
