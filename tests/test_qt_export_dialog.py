"""The GUI export dialog offers what the CLI offers and reports where the result is
(issue 17, item 3); driven with mouse clicks and key presses."""
from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from test_export_formats import make_dataset

import resunet_gui.export.pipeline as pipeline
from resunet_gui.app import build_window
from resunet_gui.qt.preferences import Preferences

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def window(qtbot, tmp_path):
    w = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=None)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    w.deleteLater()  # dialogs and workers go with it, while the QApplication is alive
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _project(tmp_path, n=6):
    """make_dataset with split.csv sending images 2-3 to val and 4-5 to test."""
    src = make_dataset(tmp_path / "src", n=n)
    rows = ["stem,split,group"] + [
        f"img_{i:02d},{('train', 'train', 'val', 'val', 'test', 'test')[i % 6]},g{i}"
        for i in range(n)]
    (src / "split.csv").write_text("\n".join(rows) + "\n")
    return src


def _dialog(window, qtbot, src, out):
    assert window.open_folder(src)
    dialog = window.export_dataset()
    qtbot.waitExposed(dialog)
    dialog.include.setFocus()
    qtbot.keyClick(dialog.include, Qt.Key.Key_Down)  # "All images with masks"
    dialog.target.clear()
    qtbot.keyClicks(dialog.target, str(out))
    return dialog


def _export(qtbot, dialog):
    qtbot.mouseClick(dialog.start_btn, LEFT)
    qtbot.waitUntil(lambda: not dialog.running and dialog.start_btn.isEnabled(), timeout=30_000)


class _UrlRecorder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_finished_export_says_where_with_open_folder_and_close(window, qtbot, tmp_path):
    src, out = _project(tmp_path), tmp_path / "exported"
    dialog = _dialog(window, qtbot, src, out)
    _export(qtbot, dialog)
    assert dialog.result is not None and dialog.result.images == 6
    assert dialog.bar.value() == dialog.bar.maximum()
    assert str(out.resolve()) in dialog.message.text()
    assert dialog.close_btn.text() == "Close"
    recorder = _UrlRecorder()
    QDesktopServices.setUrlHandler("file", recorder, "open")
    try:
        assert dialog.open_btn.isVisible()
        qtbot.mouseClick(dialog.open_btn, LEFT)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in recorder.urls] == [str(out.resolve())]
    qtbot.mouseClick(dialog.close_btn, LEFT)
    assert not dialog.isVisible()


def test_split_comes_from_the_project_by_default_and_random_on_request(window, qtbot, tmp_path):
    src, out = _project(tmp_path), tmp_path / "exported"
    dialog = _dialog(window, qtbot, src, out)
    _export(qtbot, dialog)
    images = json.loads((out / "manifest.json").read_text())["images"]
    assert {im["stem"]: im["split"] for im in images} == {
        "img_00": "train", "img_01": "train", "img_02": "val", "img_03": "val",
        "img_04": "test", "img_05": "test"}
    dialog.split.setFocus()
    qtbot.keyClick(dialog.split, Qt.Key.Key_Down)  # random fractions
    assert dialog.fractions.isEnabled()
    dialog.fractions.selectAll()
    qtbot.keyClicks(dialog.fractions, "1,0,0")
    qtbot.mouseClick(dialog.overwrite, LEFT)
    _export(qtbot, dialog)
    images = json.loads((out / "manifest.json").read_text())["images"]
    assert {im["split"] for im in images} == {"train"}


def test_a_project_without_split_csv_gets_a_random_split_by_default(window, qtbot, tmp_path):
    src = _project(tmp_path)
    (src / "split.csv").unlink()
    dialog = _dialog(window, qtbot, src, tmp_path / "o")
    assert dialog.split.currentData() == "random" and dialog.fractions.isEnabled()


def test_coco_offers_rle_or_polygons(window, qtbot, tmp_path):
    src, out = _project(tmp_path), tmp_path / "coco"
    dialog = _dialog(window, qtbot, src, out)
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    assert not dialog.coco_mode.isEnabled()
    dialog.format.setCurrentIndex(dialog.format.findData("coco"))
    assert dialog.coco_mode.isEnabled()
    dialog.coco_mode.setFocus()
    qtbot.keyClick(dialog.coco_mode, Qt.Key.Key_Down)  # polygons
    _export(qtbot, dialog)
    coco = json.loads((out / "annotations" / "instances_train.json").read_text())
    assert coco["annotations"] and all(isinstance(a["segmentation"], list)
                                       for a in coco["annotations"])


def test_second_export_shows_the_whole_error_then_replaces_with_overwrite(
        window, qtbot, tmp_path):
    src, out = _project(tmp_path), tmp_path / "exported"
    dialog = _dialog(window, qtbot, src, out)
    _export(qtbot, dialog)
    first = out.stat().st_ino
    _export(qtbot, dialog)
    assert dialog.result is None
    text = dialog.message.text()
    assert "not empty" in text and text.startswith("Not exported: ")
    assert text.endswith(str(_pipeline_error(src, out)))  # the pipeline's message, whole
    assert dialog.message.height() >= dialog.message.heightForWidth(dialog.message.width())
    assert dialog.bar.value() == 0 and dialog.close_btn.text() == "Close"
    qtbot.mouseClick(dialog.overwrite, LEFT)
    assert dialog.overwrite.isChecked()
    _export(qtbot, dialog)
    assert dialog.result is not None and dialog.bar.value() == dialog.bar.maximum()
    assert out.stat().st_ino != first  # a new folder was published in its place


def _pipeline_error(src, out):
    from resunet_gui.core.errors import ExportError
    from resunet_gui.core.project import Project
    from resunet_gui.export import ExportOptions, export_project

    with Project.open(src, read_only=True) as project:
        try:
            export_project(project, "coco", out, ExportOptions(include="all"))
        except ExportError as exc:
            return exc
    raise AssertionError("expected the pipeline to refuse")


def test_cancel_stops_a_running_export_and_writes_nothing(window, qtbot, tmp_path, monkeypatch):
    src, out = _project(tmp_path), tmp_path / "exported"
    gate, real = threading.Event(), pipeline.export_project

    def slow_export(*args, progress=None, **kwargs):
        def held(done, total):
            progress(done, total)
            gate.wait(10)  # the first image is written; the rest waits for the test
        return real(*args, progress=held, **kwargs)

    monkeypatch.setattr(pipeline, "export_project", slow_export)
    dialog = _dialog(window, qtbot, src, out)
    qtbot.mouseClick(dialog.start_btn, LEFT)
    qtbot.waitUntil(lambda: dialog.bar.value() >= 1, timeout=10_000)
    assert dialog.running and dialog.close_btn.text() == "Cancel"
    qtbot.mouseClick(dialog.close_btn, LEFT)
    gate.set()
    qtbot.waitUntil(lambda: not dialog.running and dialog.start_btn.isEnabled(), timeout=10_000)
    assert dialog.isVisible() and "cancelled" in dialog.message.text()
    assert dialog.bar.value() == 0 and dialog.close_btn.text() == "Close"
    assert not out.exists()


def test_a_bad_image_stops_the_export_unless_leave_out_is_ticked(window, qtbot, tmp_path):
    src = _project(tmp_path)
    image = src / "images" / "img_03.png"
    image.write_bytes(image.read_bytes()[:60])  # truncated: the check pass must catch it
    out = tmp_path / "out"
    dialog = _dialog(window, qtbot, src, out)
    checked: list[tuple[int, int]] = []
    dialog.checkProgress.connect(lambda done, total: checked.append((done, total)))
    _export(qtbot, dialog)
    assert "img_03" in dialog.message.text() and not (out / "manifest.json").exists()
    assert checked and checked[-1][0] == checked[-1][1]  # the check pass reported progress
    qtbot.mouseClick(dialog.skip_bad, LEFT)
    _export(qtbot, dialog)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["stem"] for s in manifest["skipped"]] == ["img_03"]
    assert len(manifest["images"]) == 5


def test_voc_jpeg_is_offered_only_for_voc(window, qtbot, tmp_path):
    dialog = _dialog(window, qtbot, _project(tmp_path), tmp_path / "out")
    dialog.format.setCurrentIndex(dialog.format.findData("coco"))
    assert not dialog.voc_jpeg.isEnabled()
    dialog.format.setCurrentIndex(dialog.format.findData("voc"))
    assert dialog.voc_jpeg.isEnabled()
    qtbot.mouseClick(dialog.voc_jpeg, LEFT)
    assert dialog.options().voc_jpeg
