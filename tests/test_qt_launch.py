"""``resunet-gui FOLDER`` and a bare ``resunet-gui`` without a terminal open the GUI
(issue 17, item 10), through ``resunet_gui.cli.main``; the event loop is run by a stand-in
``exec`` that quits once the window shows the folder."""
from __future__ import annotations

import io
import logging

import pytest
from PySide6.QtWidgets import QApplication
from synthetic import make_blob_project

import resunet_gui.app as app_module
import resunet_gui.core.logs as logs
from resunet_gui.cli import main


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def opened(qtbot, monkeypatch, tmp_path):
    """Folders the window ``app.run`` builds has open when its event loop runs; its model service is off (no torch here)."""
    windows, folders = [], []
    build = app_module.build_window

    def build_without_model(*_a, **_k):
        w = build(engine_factory_for=None)
        windows.append(w)
        return w

    def exec_until_open(_app=None):
        qtbot.waitUntil(lambda: windows and windows[0].editor.project is not None, timeout=10000)
        folders.append(windows[0].editor.project.folder.resolve())
        return 0

    monkeypatch.setattr(app_module, "build_window", build_without_model)
    monkeypatch.setattr(QApplication, "exec", exec_until_open)
    monkeypatch.setattr(logs, "log_dir", lambda: tmp_path / "logs")  # not the user's folder
    yield folders
    root = logging.getLogger()
    for handler in [h for h in root.handlers if str(tmp_path) in getattr(h, "baseFilename", "")]:
        root.removeHandler(handler)
        handler.close()


def test_folder_argument_opens_the_gui_on_that_folder(tmp_path, opened, capsys):
    folder = make_blob_project(tmp_path / "cells", n=2)
    assert main([str(folder)]) == 0
    assert opened == [folder.resolve()]
    assert f"opening {folder}" in (tmp_path / "logs" / "resunet-gui.log").read_text()


def test_no_arguments_without_a_terminal_opens_the_gui(tmp_path, opened, monkeypatch):
    import resunet_gui.cli.gui as gui_cli

    demo = make_blob_project(tmp_path / "demo", n=2)
    monkeypatch.setattr(gui_cli, "demo_folder", lambda: demo)
    monkeypatch.setattr("sys.stdin", _Stream(tty=False))
    monkeypatch.setattr("sys.stdout", _Stream(tty=False))
    assert main([]) == 0
    assert opened == [demo.resolve()]


def test_no_arguments_in_a_terminal_prints_help_and_opens_nothing(opened, monkeypatch):
    out = _Stream(tty=True)
    monkeypatch.setattr("sys.stdin", _Stream(tty=True))
    monkeypatch.setattr("sys.stdout", out)
    assert main([]) == 0
    assert "usage: resunet-gui" in out.getvalue() and not opened
