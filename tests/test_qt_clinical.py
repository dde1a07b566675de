"""Clinical images in the real window (offscreen): pydicom's CT and MR files and a multi-frame
CT, window/level by right-drag and presets, HU under the cursor, slices by slider and keys,
painting, then PNG and DICOM SEG exports read back (SEG with highdicom)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from resunet_gui.app import build_window
from resunet_gui.core.imageio import read_mask
from resunet_gui.export import ExportOptions, export_project
from resunet_gui.qt.preferences import Preferences
from tests.dicom_samples import copy_bundled, write_enhanced_ct

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def clinical_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dicom"
    copy_bundled(folder, "CT_small.dcm", "MR_small.dcm")
    write_enhanced_ct(folder / "ct_multiframe.dcm", frames=3)
    return folder


@pytest.fixture
def window(qtbot, tmp_path: Path, clinical_folder: Path):  # noqa: ANN001, ANN201
    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_folder(clinical_folder)
    yield w
    w.close()
    w.deleteLater()  # delete now, not in the interpreter's final garbage collection
    qtbot.wait(1)


def _vp(window, x: float, y: float) -> QPoint:  # noqa: ANN001
    return window.canvas.mapFromScene(QPointF(x, y))


def _drag(window, button, points) -> None:  # noqa: ANN001
    vp = window.canvas.viewport()
    QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, _vp(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _vp(window, *p))
    QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, _vp(window, *points[-1]))


def _pixel(window, x: float, y: float) -> tuple[int, int, int]:  # noqa: ANN001
    """The colour the canvas shows at image pixel (x, y), from a real grab()."""
    image = window.canvas.viewport().grab().toImage()
    c = image.pixelColor(_vp(window, x + 0.5, y + 0.5))
    return c.red(), c.green(), c.blue()


def _pick(combo, index: int) -> None:  # noqa: ANN001
    """Choose an entry with the keyboard, as a user can (Qt emits ``activated``)."""
    combo.setFocus()
    while combo.currentIndex() != index:
        key = Qt.Key.Key_Down if combo.currentIndex() < index else Qt.Key.Key_Up
        QTest.keyClick(combo, key)


def _show(window, qtbot, stem: str) -> None:  # noqa: ANN001
    window.select_stem(stem)
    qtbot.waitUntil(lambda: window.editor.stem == stem)
    window.view_panel.show_labels.setChecked(False)  # judge the image itself
    qtbot.wait(20)


def _right_drag_changes_the_window_and_not_the_labels(window, qtbot) -> None:  # noqa: ANN001
    _show(window, qtbot, "CT_small")
    raw = window.editor.image.raw
    y, x = np.unravel_index(np.argmin(np.abs(raw.astype(int) - int(np.median(raw)))), raw.shape)
    before_window = window.window_level.window
    before = _pixel(window, x, y)
    _drag(window, Qt.MouseButton.RightButton, [(64, 64), (64, 74), (64, 84), (64, 94)])  # down
    qtbot.wait(20)
    low, high = window.window_level.window
    assert (low + high) / 2 > sum(before_window) / 2  # dragging down raised the level
    assert _pixel(window, x, y)[0] < before[0]  # ... so the same pixel is shown darker
    _drag(window, Qt.MouseButton.RightButton, [(64, 64), (84, 64), (104, 64)])  # right: wider
    qtbot.wait(20)
    assert window.window_level.window[1] - window.window_level.window[0] > high - low
    assert not window.editor.document.labels.any()  # the right button neither painted nor erased


def _status_bar_shows_hounsfield_units_under_the_cursor(window, qtbot) -> None:  # noqa: ANN001
    _show(window, qtbot, "CT_small")
    raw = window.editor.image.raw
    y, x = np.unravel_index(np.argmin(raw), raw.shape)
    QTest.mouseMove(window.canvas.viewport(), _vp(window, x + 0.5, y + 0.5))
    assert f"value {int(raw[y, x])} HU" in window.pos_label.text()
    assert int(raw[y, x]) < -500  # air, in Hounsfield units after the rescale


def _ct_lung_preset_shows_air_grey_instead_of_black(window, qtbot) -> None:  # noqa: ANN001
    _show(window, qtbot, "CT_small")
    raw = window.editor.image.raw
    presets = window.view_panel.presets
    assert presets.isVisible()
    soft = next(i for i in range(presets.count()) if "soft tissue" in presets.itemText(i))
    lung = next(i for i in range(presets.count()) if "lung" in presets.itemText(i))
    y, x = np.unravel_index(np.argmin(np.abs(raw.astype(int) + 700)), raw.shape)  # about -700 HU
    _pick(presets, soft)
    qtbot.wait(20)
    assert _pixel(window, x, y)[0] == 0  # below the soft-tissue window: black
    _pick(presets, lung)
    qtbot.wait(20)
    assert window.window_level.window == (-1350.0, 150.0)
    assert 40 < _pixel(window, x, y)[0] < 120  # -700 HU in the lung window: dark grey


def _mr_presets_hidden_and_header_window_used(window, qtbot) -> None:  # noqa: ANN001
    _show(window, qtbot, "MR_small")
    assert not window.view_panel.presets.isVisible()
    assert window.window_level.window == (-200.0, 1400.0)


def test_window_level_right_drag_presets_and_hounsfield_readout(window, qtbot) -> None:  # noqa: ANN001
    """One window for the four checks: building a window is the slow part of these tests."""
    _right_drag_changes_the_window_and_not_the_labels(window, qtbot)
    _status_bar_shows_hounsfield_units_under_the_cursor(window, qtbot)
    _ct_lung_preset_shows_air_grey_instead_of_black(window, qtbot)
    _mr_presets_hidden_and_header_window_used(window, qtbot)


def test_slices_are_browsed_with_keys_and_the_slider(window, qtbot) -> None:  # noqa: ANN001
    _show(window, qtbot, "ct_multiframe_z0000")
    assert window.stack_slider.isVisible() and window.stack_slider.label.text() == "1 / 3"
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.editor.stem == "ct_multiframe_z0001")
    assert window.stack_slider.label.text() == "2 / 3"
    window.stack_slider.slider.setValue(2)
    qtbot.waitUntil(lambda: window.editor.stem == "ct_multiframe_z0002")
    QTest.keyClick(window.canvas, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.editor.stem == "ct_multiframe_z0001")
    window.list_view.setFocus()  # the keys work with the image list focused too
    QTest.keyClick(window.list_view, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.editor.stem == "ct_multiframe_z0000")
    _show(window, qtbot, "CT_small")
    assert not window.stack_slider.isVisible()


def test_paint_dicom_images_then_export_png_and_dicom_seg(window, qtbot, tmp_path: Path,
                                                          clinical_folder: Path) -> None:  # noqa: ANN001
    import highdicom as hd

    painted = {}
    for stem in ("CT_small", "MR_small", "ct_multiframe_z0001"):
        _show(window, qtbot, stem)
        window.tools.set_radius(3)
        _drag(window, Qt.MouseButton.LeftButton, [(20, 20), (30, 22), (40, 24)])
        labels = window.editor.document.labels
        assert labels[22, 30] == 1
        painted[stem] = labels.copy()
        window.done_and_next()
    window.editor.flush()
    project = window.editor.project
    export_project(project, "png", tmp_path / "png", ExportOptions(split=None))
    export_project(project, "dicom_seg", tmp_path / "seg", ExportOptions(split=None))
    for stem, labels in painted.items():
        np.testing.assert_array_equal(read_mask(tmp_path / "png" / "masks" / f"{stem}.png"), labels)
    ct = pydicom.dcmread(clinical_folder / "CT_small.dcm")
    seg = hd.seg.segread(tmp_path / "seg" / "seg" / "CT_small_seg.dcm")
    got = seg.get_pixels_by_source_instance([ct.SOPInstanceUID], combine_segments=True)[0]
    np.testing.assert_array_equal(got, painted["CT_small"])
    mf = pydicom.dcmread(clinical_folder / "ct_multiframe.dcm")
    seg = hd.seg.segread(tmp_path / "seg" / "seg" / "ct_multiframe_seg.dcm")
    got = seg.get_pixels_by_source_frame(mf.SOPInstanceUID, [2], combine_segments=True)[0]
    np.testing.assert_array_equal(got, painted["ct_multiframe_z0001"])


def test_pixel_value_text_for_16_bit_float_and_colour(tmp_path: Path) -> None:
    import tifffile

    from resunet_gui.core.imageio import read_image
    from resunet_gui.qt.window_level import pixel_text

    tifffile.imwrite(tmp_path / "u16.tif", np.full((4, 5), 40000, np.uint16))
    tifffile.imwrite(tmp_path / "f32.tif", np.full((4, 5), -0.125, np.float32))
    tifffile.imwrite(tmp_path / "rgb.tif", np.full((4, 5, 3), (1, 2, 3), np.uint8))
    assert pixel_text(read_image(tmp_path / "u16.tif"), 2.5, 1.5) == "value 40000"
    assert pixel_text(read_image(tmp_path / "f32.tif"), 0.0, 3.9) == "value -0.125"
    assert pixel_text(read_image(tmp_path / "rgb.tif"), 4.9, 0.0) == "value 1,2,3"
    assert pixel_text(read_image(tmp_path / "u16.tif"), 5.0, 0.0) == ""  # outside the image
