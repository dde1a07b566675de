"""Done & next with "Most uncertain first": rows stay put while uncertainties arrive, Done &
next goes to the next image not done in the order shown, and says when there is none;
uncertainties from an older model are marked stale."""
from __future__ import annotations

from PySide6.QtCore import Qt
from qt_window import key, make_folder

from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.image_list import STEM_ROLE

CTRL = Qt.KeyboardModifier.ControlModifier


def _shown_order(window) -> list[str]:  # noqa: ANN001
    f = window.filter
    return [f.index(r, 0).data(STEM_ROLE) for r in range(f.rowCount())]


def _click_row(window, qtbot, row: int) -> None:  # noqa: ANN001
    view = window.list_view
    rect = view.visualRect(window.filter.index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_rows_stay_put_and_done_next_skips_done_images_in_the_shown_order(
        plain_window, tmp_path, qtbot):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "d", ["a", "b", "c", "d", "e"], size=32))
    for stem, u in zip("abcde", (0.1, 0.5, 0.3, 0.9, 0.7), strict=True):
        window.images.set_uncertainty(stem, u)
    box = window.sort_uncertain
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert _shown_order(window) == ["d", "e", "b", "c", "a"]
    _click_row(window, qtbot, 0)
    assert window.editor.stem == "d"

    # suggestions keep arriving with new values: nothing moves under the cursor
    for stem, u in zip("abce", (0.99, 0.98, 0.97, 0.01), strict=True):
        window.images.set_uncertainty(stem, u)
        assert _shown_order(window) == ["d", "e", "b", "c", "a"]
    _click_row(window, qtbot, 2)
    assert window.editor.stem == "b"
    _click_row(window, qtbot, 0)
    assert window.editor.stem == "d"

    window.images.set_status("b", ImageStatus.DONE)  # already labelled earlier
    key(window, Qt.Key.Key_Return, CTRL)  # d done -> e
    assert window.editor.stem == "e"
    key(window, Qt.Key.Key_Return, CTRL)  # e done -> c (b is done)
    assert window.editor.stem == "c"
    key(window, Qt.Key.Key_Return, CTRL)  # c done -> a
    key(window, Qt.Key.Key_Return, CTRL)  # a done -> none left
    assert window.editor.stem == "a"
    assert "Every image" in window.statusBar().currentMessage()
    assert all(window.images.status(s) == ImageStatus.DONE for s in "acde")

    qtbot.mouseClick(window.browser.resort, Qt.MouseButton.LeftButton)  # re-sort on request
    assert _shown_order(window) == ["a", "b", "c", "d", "e"]


def test_uncertainty_from_an_older_model_is_marked_stale(plain_window, tmp_path):
    window = plain_window()
    window.open_folder(make_folder(tmp_path / "s", ["a", "b"], size=32))
    window.images.set_model_version("v001")
    window.images.set_uncertainty("a", 0.4, "v001")
    window.images.set_uncertainty("b", 0.6, "v001")
    window.images.set_model_version("v002")  # a better model arrived
    window.images.set_uncertainty("b", 0.2, "v002")
    text = [window.images.data(window.images.index(r), 0) for r in range(2)]
    assert text == ["a  u=0.400 (old model)", "b  u=0.200"]
    assert window.images.is_stale("a") and not window.images.is_stale("b")
