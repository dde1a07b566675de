"""Image list model: lazy thumbnails off the GUI thread, errors, filters, uncertainty sort."""
from __future__ import annotations

import threading

import cv2
import numpy as np

from resunet_gui.core.imageio import read_image
from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.image_list import STEM_ROLE, ImageFilterModel, ImageListModel


def _model(tmp_path, qtbot):  # noqa: ANN202
    cv2.imwrite(str(tmp_path / "a.png"), np.full((40, 60), 200, np.uint8))
    (tmp_path / "b.png").write_bytes(b"not an image at all")
    cv2.imwrite(str(tmp_path / "c.png"), np.zeros((40, 60), np.uint8))
    model = ImageListModel()
    statuses = {"a": ImageStatus.NEW, "b": ImageStatus.NEW, "c": ImageStatus.DONE}
    model.set_project(["a", "b", "c"], statuses, lambda s: tmp_path / f"{s}.png", read_image)
    return model


def test_thumbnails_are_made_off_the_gui_thread_and_errors_are_listed(tmp_path, qtbot):
    threads: set[str] = set()

    def reader(path):  # noqa: ANN001, ANN202
        threads.add(threading.current_thread().name)
        return read_image(path)

    model = _model(tmp_path, qtbot)
    model._reader = reader
    for row in range(3):  # what a view does when it paints the rows
        model.data(model.index(row), 1)
    qtbot.waitUntil(lambda: not model._pending, timeout=10_000)
    assert threading.current_thread().name not in threads
    assert "a" in model._thumbs and "c" in model._thumbs
    assert model.error("b") and "unreadable" in model.data(model.index(1))
    model.shutdown()


def test_filter_by_status_and_sort_by_uncertainty(tmp_path, qtbot):
    model = _model(tmp_path, qtbot)
    model.thumbnails_enabled = False
    proxy = ImageFilterModel()
    proxy.setSourceModel(model)
    proxy.set_status_filter(ImageStatus.DONE.value)
    assert [proxy.index(r, 0).data(STEM_ROLE) for r in range(proxy.rowCount())] == ["c"]
    proxy.set_status_filter(None)
    model.set_uncertainty("a", 0.1)
    model.set_uncertainty("b", 0.9)
    model.set_uncertainty("c", 0.5)
    proxy.set_sort_uncertain(True)
    assert [proxy.index(r, 0).data(STEM_ROLE) for r in range(3)] == ["b", "c", "a"]
    model.shutdown()


def test_a_thumbnail_of_the_previous_project_is_not_shown_in_the_next(tmp_path, qtbot):
    release, decoded = threading.Event(), threading.Event()

    def slow_reader(path):  # noqa: ANN001, ANN202
        release.wait(10)
        try:
            return read_image(path)
        finally:
            decoded.set()

    model = _model(tmp_path, qtbot)
    model._reader = slow_reader
    model.data(model.index(0), 1)  # "a" (a bright image) is being decoded...
    other = tmp_path / "other"
    other.mkdir()
    cv2.imwrite(str(other / "a.png"), np.zeros((40, 60), np.uint8))
    model.set_project(["a"], {"a": ImageStatus.NEW}, lambda s: other / f"{s}.png", read_image)
    release.set()  # ...and finishes after another project with an "a" was opened
    qtbot.waitUntil(decoded.is_set, timeout=10_000)
    qtbot.wait(200)  # its result reaches the GUI thread
    assert "a" not in model._plain
    model.data(model.index(0), 1)
    qtbot.waitUntil(lambda: "a" in model._thumbs, timeout=10_000)
    image = model._plain["a"].toImage()
    assert image.pixelColor(image.width() // 2, image.height() - 2).red() == 0  # the dark one
    model.shutdown()
