"""Natural order of names and the eraser's value (core helpers behind GUI conventions)."""
from __future__ import annotations

from resunet_gui.core.class_roles import background_class, erase_value
from resunet_gui.core.image_scan import scan_images
from resunet_gui.core.natural_sort import natural_key
from resunet_gui.core.types import IGNORE_INDEX, ClassSpec


def test_numbers_sort_by_value_not_by_characters():
    names = ["img10", "img2", "img1", "IMG3", "img100", "img11", "a", "img02"]
    assert sorted(names, key=natural_key) == [
        "a", "img1", "img02", "img2", "IMG3", "img10", "img11", "img100"]


def test_scan_lists_images_in_natural_order(tmp_path):
    for name in ("10.png", "2.png", "1.png", "100.png", "11.png"):
        (tmp_path / name).write_bytes(b"")
    found, _warnings = scan_images(tmp_path, recursive=False, skip=set())
    assert list(found) == ["1", "2", "10", "11", "100"]


def test_eraser_value_is_the_declared_background_or_unlabelled():
    camvid = [ClassSpec(0, "Sky", (128, 128, 128)), ClassSpec(1, "Building", (128, 0, 0))]
    assert background_class(camvid) is None and erase_value(camvid) == IGNORE_INDEX
    em = [ClassSpec(0, "background", (0, 0, 0)), ClassSpec(1, "membrane", (255, 0, 0))]
    assert erase_value(em) == 0
    late = [ClassSpec(0, "cell", (0, 255, 0)), ClassSpec(3, "Background", (0, 0, 0))]
    assert erase_value(late) == 3
