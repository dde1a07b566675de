"""Masks that do not fit: another size than the image, or values that are no class.

One check (core.mask_check, through Project.read_mask / read_mask_checked) serves the window,
the trainer and the export: a misfit is never edited, trained on or exported as if it fitted;
values outside the classes are named, ignored for training and refused by export by default.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from synthetic import make_blob_project

from resunet_gui.app import build_window
from resunet_gui.cli import main
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.project import Project
from resunet_gui.qt.preferences import Preferences


def _misfit(folder, stem: str = "im1") -> bytes:
    """Replace ``stem``'s 64x64 mask by a 200x48 one; returns the file's bytes."""
    cv2.imwrite(str(folder / "masks" / f"{stem}.png"), np.ones((48, 200), np.uint8))
    return (folder / "masks" / f"{stem}.png").read_bytes()


def _sevens(folder, stem: str = "im2") -> np.ndarray:
    mask = read_mask(folder / "masks" / f"{stem}.png")
    mask[:5, :5] = 7
    cv2.imwrite(str(folder / "masks" / f"{stem}.png"), mask)
    return mask


def test_check_mask_names_sizes_and_values_and_maps_unknown_to_ignore():
    from resunet_gui.core.errors import MaskError
    from resunet_gui.core.mask_check import check_mask

    mask = np.zeros((48, 200), np.uint8)
    with pytest.raises(MaskError, match=r"mask of a is 200x48 but its image is 64x64"):
        check_mask("a", mask, (64, 64), [0, 1], 255)
    mask = np.zeros((4, 4), np.uint8)
    mask[0, :3] = (7, 9, 255)
    with pytest.raises(MaskError, match=r"mask of a has values 7, 9 that are not a class"):
        check_mask("a", mask, (4, 4), [0, 1], 255, "fail")
    fixed, note = check_mask("a", mask, (4, 4), [0, 1], 255, "ignore")
    assert fixed[0, :3].tolist() == [255, 255, 255] and "7, 9" in note
    assert mask[0, 0] == 7  # the caller's array is untouched


def test_project_read_mask_refuses_a_mask_of_another_size(tmp_path):
    from resunet_gui.core.errors import MaskError

    folder = make_blob_project(tmp_path / "p")
    _misfit(folder)
    with Project.open(folder) as project:
        with pytest.raises(MaskError, match="im1"):
            project.read_mask("im1")
        assert project.read_mask("im0").shape == (64, 64)


def test_trainer_skips_a_misfit_treats_unknown_values_as_ignore_and_counts_right(tmp_path):
    from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine
    from resunet_gui.engine.settings import TrainConfig

    folder = make_blob_project(tmp_path / "p", n=6)
    _misfit(folder, "im1")
    _sevens(folder, "im2")
    with Project.open(folder) as project:
        engine = ProjectEngine(project, EngineConfig(
            device="cpu", weights="none",
            train=TrainConfig(crop=32, batch_size=2, steps_per_chunk=1)))
        engine.notify_done(project.stems())
        status = engine.status()
        assert status.done_images == 5 and "im1" not in engine.train_stems + engine.check_stems
        assert "1 skipped" in status.message and "200x48" in status.message
        assert engine.can_train()
        sample = engine._samples["im2"]
        assert (sample.mask[:5, :5] == 255).all() and 7 not in sample.mask
        assert "value 7" in engine.data_warnings["im2"]
        status, _ = engine.train_chunk()  # training goes on
        assert status.step >= 1 and np.isfinite(status.loss)


def test_cli_train_skips_the_misfit_with_a_warning(tmp_path, capsys):
    folder = make_blob_project(tmp_path / "p", n=3)
    _misfit(folder, "im1")
    rc = main(["train", str(folder), "--steps", "1", "--weights", "none", "--device", "cpu",
               "--crop", "32", "--batch-size", "2", "--out", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "im1 skipped" in err and "200x48" in err and "Traceback" not in err


def test_export_refuses_unknown_values_by_default_and_maps_them_on_request(tmp_path, capsys):
    folder = make_blob_project(tmp_path / "p", n=4)
    _sevens(folder, "im2")
    rc = main(["export", str(folder), "--format", "png", "--out", str(tmp_path / "out"),
               "--split", "1,0,0"])
    err = capsys.readouterr().err
    assert rc == 1 and "im2" in err and "7" in err and "--unknown-values" in err
    assert not (tmp_path / "out").exists()
    rc = main(["export", str(folder), "--format", "png", "--out", str(tmp_path / "out"),
               "--split", "1,0,0", "--unknown-values", "ignore"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "value 7" in captured.err
    written = [p for p in (tmp_path / "out").rglob("im2*.png") if "mask" in str(p).lower()]
    assert written and all(7 not in read_mask(p) for p in written)


def test_export_refuses_a_mask_of_another_size_naming_the_image(tmp_path, capsys):
    folder = make_blob_project(tmp_path / "p", n=4)
    _misfit(folder, "im1")
    rc = main(["export", str(folder), "--format", "coco", "--out", str(tmp_path / "out"),
               "--split", "1,0,0"])
    err = capsys.readouterr().err
    assert rc == 1 and "mask of im1 is 200x48 but its image is 64x64" in err


# ---- the window ---------------------------------------------------------------------------
@pytest.fixture
def window(qtbot, tmp_path):
    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("resunet-model")]


def _paint(window, x: float, y: float) -> None:
    vp = window.canvas.viewport()
    pos = window.canvas.mapFromScene(QPointF(x, y))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    QTest.mouseMove(vp, window.canvas.mapFromScene(QPointF(x + 10, y + 10)))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       window.canvas.mapFromScene(QPointF(x + 10, y + 10)))


def test_window_does_not_edit_a_mask_of_another_size_and_goes_on(window, qtbot, tmp_path):
    folder = make_blob_project(tmp_path / "p", n=3)
    before = _misfit(folder, "im1")
    assert window.open_folder(folder)
    window.select_stem("im1")
    qtbot.waitUntil(lambda: window.editor.stem == "im1")
    assert window.editor.document is None  # nothing to paint on
    assert "200x48" in window.canvas.message.text()
    row = window.images.row_of("im1")
    assert "200x48" in (window.images.index(row).data(Qt.ItemDataRole.ToolTipRole) or "")
    _paint(window, 20, 20)
    window.select_stem("im2")  # everything else goes on
    qtbot.waitUntil(lambda: window.editor.document is not None and window.editor.stem == "im2")
    window.editor.close_project()
    assert (folder / "masks" / "im1.png").read_bytes() == before


def test_window_names_values_that_are_no_class(window, qtbot, tmp_path):
    folder = make_blob_project(tmp_path / "p", n=3)
    _sevens(folder, "im2")
    assert window.open_folder(folder)
    with qtbot.waitSignal(window.editor.warning, timeout=3000) as sig:
        window.select_stem("im2")
    assert "im2" in sig.args[0] and "value 7" in sig.args[0]
    assert "value 7" in window.statusBar().currentMessage()
