"""Callbacks from lower layers' threads reach Qt code on the GUI thread (``qt.worker``)."""
from __future__ import annotations

import threading

from resunet_gui.qt.editor import Editor
from resunet_gui.qt.worker import GuiCallback
from tests.synthetic import make_blob_project


def test_gui_callback_called_from_a_thread_runs_on_the_gui_thread(qtbot):
    calls: list[tuple[str, tuple]] = []
    callback = GuiCallback(lambda *args: calls.append((threading.current_thread().name, args)))
    worker = threading.Thread(target=callback, args=("saved", ""), name="not-the-gui")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    assert calls == [(threading.main_thread().name, ("saved", ""))]
    callback("direct", "")  # on the GUI thread: at once
    assert calls[-1] == (threading.main_thread().name, ("direct", ""))


def test_autosave_reports_reach_the_editor_on_the_gui_thread(qtbot, tmp_path, monkeypatch):
    seen: list[tuple[str, str]] = []
    real = Editor._on_save_state

    def recording(self, state, message=""):  # noqa: ANN001, ANN202
        seen.append((threading.current_thread().name, state))
        real(self, state, message)

    monkeypatch.setattr(Editor, "_on_save_state", recording)
    editor = Editor()
    texts: list[str] = []
    editor.saveStateChanged.connect(texts.append)
    editor.open_project(make_blob_project(tmp_path / "p", n=2, size=32))
    assert editor.show("im0")
    editor.session._debouncer.delay_s = 0.05
    doc = editor.document
    doc.begin_stroke()
    doc.paint((5.0, 5.0), (20.0, 20.0), 3.0, 1)
    doc.end_stroke()
    qtbot.waitUntil(lambda: "saved" in texts, timeout=10_000)
    assert seen and {name for name, _ in seen} == {threading.main_thread().name}
    editor.close_project()
