"""File > Import labels...: the dialog imports off the GUI thread, the window reloads and shows
the imported labels; conflicts are listed in the dialog."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from test_label_import import export, make_project, synthetic_mask

from resunet_gui.app import build_window
from resunet_gui.core.imageio import read_mask
from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.import_dialog import ImportDialog
from resunet_gui.qt.preferences import Preferences


@pytest.fixture
def window(qtbot, tmp_path):
    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def red_pixels(widget) -> int:
    """Pixels of the rendered canvas where the red 'cell' overlay shows over the grey image."""
    img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(
        img.height(), img.bytesPerLine())[:, : img.width() * 3].reshape(img.height(), img.width(), 3)
    return int(((arr[:, :, 0].astype(int) - arr[:, :, 1]) > 40).sum())


def open_dialog(window, qtbot) -> ImportDialog:
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    action = next(a for a in file_menu.actions() if a.text() == "Import labels...")
    action.trigger()
    dialogs = [d for d in window.findChildren(ImportDialog) if d.isVisible()]
    assert len(dialogs) == 1
    qtbot.waitExposed(dialogs[0])
    return dialogs[0]


def run_import(dialog: ImportDialog, qtbot, fmt: str, source: Path):
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    qtbot.keyClicks(dialog.source, str(source))
    with qtbot.waitSignal(dialog.finished_import, timeout=30_000) as sig:
        qtbot.mouseClick(dialog.start_btn, Qt.MouseButton.LeftButton)
    return sig.args


def test_import_labels_menu_imports_off_the_gui_thread_and_shows_the_labels(
        window, qtbot, tmp_path, monkeypatch) -> None:
    labelled = make_project(tmp_path / "labelled")
    out = export(labelled, "voc", tmp_path / "voc")
    folder = make_project(tmp_path / "project", masks=False)
    assert window.open_folder(folder)
    window.select_stem("im_1")
    qtbot.waitUntil(lambda: window.editor.stem == "im_1")
    before = red_pixels(window.canvas)

    import resunet_gui.label_import as li

    threads: list[str] = []
    real = li.import_labels
    monkeypatch.setattr(li, "import_labels",
                        lambda *a, **k: threads.append(threading.current_thread().name) or real(*a, **k))
    dialog = open_dialog(window, qtbot)
    result, error = run_import(dialog, qtbot, "voc", out)
    assert error == "" and sorted(result.imported) == ["im_0", "im_1", "im_2"]
    assert len(threads) == 1 and threads[0].startswith("resunet-worker")  # qt.worker's thread
    assert dialog.bar.value() == dialog.bar.maximum() == 3
    assert "Imported 3 mask(s)" in dialog.message.text()
    for i in range(3):
        assert np.array_equal(read_mask(folder / "masks" / f"im_{i}.png"), synthetic_mask(i))
    qtbot.waitUntil(lambda: window.editor.stem == "im_1")
    assert [window.images.status(f"im_{i}") for i in range(3)] == [ImageStatus.DONE] * 3
    assert np.array_equal(window.editor.document.labels, synthetic_mask(1))
    qtbot.waitUntil(lambda: red_pixels(window.canvas) > before + 100)
    dialog.close()


def test_import_dialog_lists_every_image_skipped_for_an_existing_mask(
        window, qtbot, tmp_path) -> None:
    labelled = make_project(tmp_path / "labelled")
    out = export(labelled, "png", tmp_path / "png")
    folder = make_project(tmp_path / "project", masks=True)
    assert window.open_folder(folder)
    dialog = open_dialog(window, qtbot)
    result, error = run_import(dialog, qtbot, "png", out)
    assert error == "" and result.imported == []
    text = dialog.details.toPlainText()
    for i in range(3):
        assert f"Skipped im_{i}: already has a mask" in text
    dialog.close()
    qtbot.waitUntil(lambda: window.editor.stem is not None)  # the image is shown again


def test_import_dialog_shows_a_bad_source_as_a_message(window, qtbot, tmp_path) -> None:
    folder = make_project(tmp_path / "project", masks=False)
    assert window.open_folder(folder)
    dialog = open_dialog(window, qtbot)
    result, error = run_import(dialog, qtbot, "coco", tmp_path / "missing")
    assert result is None and "does not exist" in dialog.message.text()
    dialog.close()


def test_cancel_stops_the_import_after_the_image_in_hand(window, qtbot, tmp_path,
                                                         monkeypatch) -> None:
    from resunet_gui.label_import.png import PngReader

    labelled = make_project(tmp_path / "labelled")
    out = export(labelled, "png", tmp_path / "png")
    folder = make_project(tmp_path / "project", masks=False)
    assert window.open_folder(folder)
    release, started = threading.Event(), threading.Event()
    real = PngReader.render

    def held(self, item, size, classes):  # noqa: ANN001, ANN202 - the first image waits
        started.set()
        release.wait(30)
        return real(self, item, size, classes)

    monkeypatch.setattr(PngReader, "render", held)
    dialog = open_dialog(window, qtbot)
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    qtbot.keyClicks(dialog.source, str(out))
    qtbot.mouseClick(dialog.start_btn, Qt.MouseButton.LeftButton)
    assert started.wait(30)
    assert dialog.cancel_btn.text() == "Cancel"
    with qtbot.waitSignal(dialog.finished_import, timeout=30_000) as sig:
        qtbot.mouseClick(dialog.cancel_btn, Qt.MouseButton.LeftButton)
        release.set()
    result, _ = sig.args
    assert result.cancelled and result.imported == ["im_0"]
    assert "(cancelled)" in dialog.message.text()
    assert sorted(p.name for p in (folder / "masks").iterdir()) == ["im_0.png"]
    dialog.close()
