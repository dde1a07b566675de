"""App start-up, CLI wiring, shortcut sheet, 16-bit window/level, suggestion overlay toggles."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from resunet_gui.app import build_window
from resunet_gui.qt.preferences import Preferences


@pytest.fixture
def window(qtbot, tmp_path):
    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_window_shows_without_importing_torch(tmp_path):
    code = ("import sys\n"
            "from PySide6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from resunet_gui.app import build_window\n"
            "from resunet_gui.qt.preferences import Preferences\n"
            f"w = build_window(Preferences({str(tmp_path / 'p.ini')!r}))\n"
            "w.show(); app.processEvents()\n"
            "print('torch' in sys.modules, 'cv2' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "False"


def test_gui_command_is_registered():
    from resunet_gui.cli import build_parser

    args = build_parser().parse_args(["gui", "some/folder"])
    assert str(args.folder) == "some/folder"
    assert args.func.__module__ == "resunet_gui.cli.gui"


def test_shortcut_sheet_lists_every_action(window):
    from resunet_gui.qt.shortcuts import SHORTCUTS, help_html

    html = help_html()
    for s in SHORTCUTS:
        assert s.text.split(" (")[0] in html
        assert s.action in window.actions_by_name
    assert "F1" in [k.toString() for k in window.actions_by_name["help"].shortcuts()]


def test_sixteen_bit_image_gets_window_level(window, tmp_path, qtbot):
    folder = tmp_path / "u16"
    folder.mkdir()
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    cv2.imwrite(str(folder / "a.png"), ramp)
    assert window.open_folder(folder)
    assert window.view_panel.level_box.isVisibleTo(window)
    before = window.canvas.image_layer.array.copy()
    window.view_panel.level_high.setValue(window.view_panel.level_high.value() // 2)
    window.view_panel._emit_window()
    after = window.canvas.image_layer.array
    assert after.shape == before.shape and not np.array_equal(after, before)


def test_eight_bit_image_has_no_window_level(window, tmp_path):
    folder = tmp_path / "u8"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((32, 32), np.uint8))
    window.open_folder(folder)
    assert not window.view_panel.level_box.isVisibleTo(window)


def test_overlay_toggles_and_opacity_reach_the_canvas(window, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((32, 32), np.uint8))
    window.open_folder(folder)
    window.view_panel.show_labels.setChecked(False)
    assert not window.canvas.label_layer.isVisible()
    window.view_panel.show_suggestion.setChecked(False)
    assert not window.canvas.suggestion_layer.isVisible()
    window.view_panel.opacity.setValue(100)
    assert window.canvas.label_layer._table[1] >> 24 == 255


def test_recent_menu_reopens_a_folder(window, tmp_path):
    from PySide6.QtWidgets import QMenu

    from resunet_gui.qt.actions import fill_recent_menu

    folder = tmp_path / "rec"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((16, 16), np.uint8))
    window.prefs.add_recent(folder)
    menu = QMenu()
    fill_recent_menu(window, menu)
    menu.actions()[0].trigger()
    assert window.editor.project is not None and window.editor.stem == "a"


def test_dropping_a_folder_opens_it(window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    folder = tmp_path / "dropped"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((16, 16), np.uint8))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.editor.project is not None
    assert window.editor.project.folder.resolve() == folder.resolve()


def test_export_dialog_exports_done_images_off_the_gui_thread(window, tmp_path, qtbot):
    folder = tmp_path / "ds"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / "images" / f"i{i}.png"), np.full((24, 24), 40 * i, np.uint8))
        cv2.imwrite(str(folder / "masks" / f"i{i}.png"), (np.eye(24) > 0).astype(np.uint8))
    assert window.open_folder(folder)
    dialog = window.export_dataset()
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    dialog.include.setCurrentIndex(dialog.include.findData("all"))
    dialog.target.setText(str(tmp_path / "out"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    assert dialog.result.images == 3
    assert (tmp_path / "out").is_dir()
    assert "Exported 3 images" in dialog.message.text()
    dialog.close()


def test_gui_without_folder_opens_the_demo_project(tmp_path, monkeypatch):
    import resunet_gui.app
    import resunet_gui.cli.demo
    from resunet_gui.cli import build_parser

    monkeypatch.setattr(resunet_gui.cli.demo, "default_demo_folder", lambda: tmp_path / "demo")
    opened = []
    monkeypatch.setattr(resunet_gui.app, "run", lambda folder: opened.append(folder) or 0)
    args = build_parser().parse_args(["gui"])
    assert args.func(args) == 0
    assert opened and (opened[0] / "images").is_dir() and any((opened[0] / "images").iterdir())
