"""Conventions users bring from labelme, CVAT and napari, through real keys and clicks."""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from qt_window import canvas_point, drag, key, make_folder

from resunet_gui.core.imageio import read_mask
from resunet_gui.core.types import IGNORE_INDEX, ImageStatus
from resunet_gui.qt.shortcuts import SHORTCUTS

CTRL = Qt.KeyboardModifier.ControlModifier
CAMVID_LIKE = [{"id": 0, "name": "Sky", "color": [128, 128, 128]},
               {"id": 1, "name": "Building", "color": [128, 0, 0]}]
WITH_BACKGROUND = [{"id": 0, "name": "background", "color": [0, 0, 0]},
                   {"id": 1, "name": "cell", "color": [0, 200, 0]}]


def test_no_two_actions_share_a_key():
    keys = [k.lower() for s in SHORTCUTS for k in s.keys]
    assert len(keys) == len(set(keys))


def test_a_and_d_go_to_the_previous_and_next_image(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "n", ["a", "b", "c"], size=32))
    key(window, Qt.Key.Key_D)
    assert window.editor.stem == "b"
    key(window, Qt.Key.Key_D)
    key(window, Qt.Key.Key_A)
    assert window.editor.stem == "b"


def test_file_names_are_listed_in_natural_order(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "s", ["img10", "img2", "img1", "img100", "img11"],
                                   size=16))
    assert window.images.stems == ["img1", "img2", "img10", "img11", "img100"]
    assert window.editor.stem == "img1"


def test_ctrl_s_writes_the_mask_now_and_says_saved(plain_window, tmp_path):
    window = plain_window()
    folder = make_folder(tmp_path / "c", ["a"], size=64, classes=WITH_BACKGROUND)
    window.open_folder(folder)
    drag(window, [(10, 30), (50, 30)])
    assert not (folder / "masks" / "a.png").exists()  # the autosave waits 2 s
    key(window, Qt.Key.Key_S, CTRL)
    assert read_mask(folder / "masks" / "a.png")[30, 30] == 1
    assert window.statusBar().currentMessage() == "Saved a"
    assert window.save_label.text() == "saved"


def test_ctrl_q_quits_and_the_menus_have_quit_and_about(plain_window, tmp_path, qtbot):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "q", ["a"], size=16))
    menus = {m.title().replace("&", ""): [a.text() for a in m.actions()]
             for m in (a.menu() for a in window.menuBar().actions())}
    assert "Quit" in menus["File"] and "About resunet-gui" in menus["Help"]
    window.actions_by_name["about"].trigger()
    assert window.about_box.isVisible() and "0." in window.about_box.text()
    window.about_box.close()
    key(window, Qt.Key.Key_Q, CTRL)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_eyedropper_picks_the_class_under_the_cursor(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "p", ["a"], size=64, classes=WITH_BACKGROUND))
    drag(window, [(10, 30), (50, 30)])  # class "cell" (the palette's default)
    key(window, Qt.Key.Key_1)  # now background is current
    assert window.tools.value == 0
    key(window, Qt.Key.Key_I)
    drag(window, [(30, 30)])
    assert window.tools.value == 1 and window.palette_widget.current_id() == 1


def test_eraser_writes_background_or_unlabelled_never_class_0(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "cam", ["a"], size=64, classes=CAMVID_LIKE))
    drag(window, [(10, 30), (50, 30)])  # Building
    key(window, Qt.Key.Key_E)
    drag(window, [(30, 30), (32, 30)])
    labels = window.editor.document.labels
    assert labels[30, 30] == IGNORE_INDEX and labels[30, 12] == 1  # not "Sky" (0)
    window.open_folder(make_folder(tmp_path / "bg", ["a"], size=64, classes=WITH_BACKGROUND))
    drag(window, [(10, 30), (50, 30)])
    drag(window, [(30, 30), (32, 30)], Qt.MouseButton.RightButton)  # brush: right erases
    assert window.editor.document.labels[30, 30] == 0


def test_lasso_fills_with_the_class_and_shift_erases(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "l", ["a"], size=64, classes=WITH_BACKGROUND))
    key(window, Qt.Key.Key_L)
    drag(window, [(10, 10), (50, 10), (50, 50), (10, 50)])
    labels = window.editor.document.labels
    assert labels[30, 30] == 1 and labels[5, 5] == 0
    drag(window, [(20, 20), (40, 20), (40, 40), (20, 40)], mod=Qt.KeyboardModifier.ShiftModifier)
    assert labels[30, 30] == 0 and labels[15, 15] == 1


def test_rows_have_one_height_even_when_the_first_file_is_unreadable(plain_window, tmp_path,
                                                                     qtbot):
    folder = make_folder(tmp_path / "r", ["b", "c"], size=80)
    cv2.imwrite(str(folder / "d.png"), np.zeros((20, 90, 3), np.uint8))  # a wide one
    (folder / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    window = plain_window()
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.images.error("a") is not None
                    and len(window.images._plain) == 3, timeout=10_000)
    qtbot.wait(50)
    view = window.list_view
    heights = [view.visualRect(window.filter.index(r, 0)).height() for r in range(4)]
    assert len(set(heights)) == 1 and heights[0] >= view.iconSize().height()


def test_status_bar_zoom_is_current_after_switching_images(plain_window, tmp_path):
    folder = make_folder(tmp_path / "z", ["a"], size=64)
    cv2.imwrite(str(folder / "b.png"), np.zeros((400, 400, 3), np.uint8))
    window = plain_window()
    window.open_folder(folder)
    key(window, Qt.Key.Key_Plus)
    QTest.mouseMove(window.canvas.viewport(), canvas_point(window, 30, 30))
    old = f"zoom {window.canvas.scale_factor:.2f}"
    assert old in _status_texts(window)
    key(window, Qt.Key.Key_D)
    assert window.editor.stem == "b"
    new = f"zoom {window.canvas.scale_factor:.2f}"
    assert new != old and new in _status_texts(window) and old not in _status_texts(window)


def _status_texts(window) -> str:  # noqa: ANN001
    return " | ".join(label.text() for label in window.statusBar().findChildren(QLabel))


def test_model_tab_counts_done_images_as_they_are_marked(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "m", ["a", "b", "c"], size=32))
    assert window.model_panel.done_count.text() == "0 of 3 images done"
    key(window, Qt.Key.Key_Return, CTRL)
    assert window.images.status("a") == ImageStatus.DONE
    assert window.model_panel.done_count.text() == "1 of 3 images done"
