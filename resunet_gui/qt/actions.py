"""The main window's actions and toolbar, built from the shortcut table."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from resunet_gui.qt.shortcuts import SHORTCUTS
from resunet_gui.qt.tool_controller import Tool

TOOLBAR = ("open", "prev", "next", None, "brush", "eraser", "fill", "polygon", "lasso", "pick",
           "fix", "refine", None, "undo", "redo", None, "suggest", "refresh_suggestion", "accept",
           "done_next", None, "fit", "help")

TOOL_TEXT = {"fix": "Click to fix"}


def install_actions(w: Any) -> dict[str, QAction]:
    """Create every action on main window ``w`` (shortcuts from ``SHORTCUTS``), its menus and
    its toolbar."""
    actions = _table_actions(w)
    _install_unlisted_keys(w)
    _install_menus(w, actions)
    _install_toolbar(w, actions)
    return actions


def _table_actions(w: Any) -> dict[str, QAction]:
    """The actions named in ``SHORTCUTS``, each with the keys the F1 sheet lists."""
    actions: dict[str, QAction] = {}

    def a(name: str, text: str, slot: Callable, checkable: bool = False) -> QAction:
        act = QAction(text, w)
        keys = next((s.keys for s in SHORTCUTS if s.action == name), ())
        act.setShortcuts([QKeySequence(k) for k in keys])
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        w.addAction(act)
        actions[name] = act
        return act

    a("open", "Open folder...", lambda: w.choose_folder())
    a("save", "Save", lambda: w.save_now())
    a("quit", "Quit", lambda: w.close())
    a("about", "About resunet-gui", lambda: w.show_about())
    a("prev", "Previous", lambda: w.step(-1))
    a("next", "Next", lambda: w.step(1))
    a("slice_prev", "Previous slice", lambda: w.stack_slider.step(-1))
    a("slice_next", "Next slice", lambda: w.stack_slider.step(1))
    for tool in Tool:
        a(tool.value, TOOL_TEXT.get(tool.value, tool.value.capitalize()),
          lambda _=False, t=tool: w.tools.set_tool(t), checkable=True)
    a("smaller", "Smaller brush", lambda: w.tools.grow(-1))
    a("bigger", "Bigger brush", lambda: w.tools.grow(1))
    a("undo", "Undo", w.undo)
    a("redo", "Redo", w.redo)
    a("suggest", "Suggest", lambda: w.suggestions.request_current(force=True))
    a("accept", "Accept suggestion", w.accept_suggestion)
    a("done_next", "Done && next", w.done_and_next)
    a("toggle_labels", "Labels", lambda: w.view_panel.show_labels.toggle())
    a("toggle_suggestion", "Suggestion", lambda: w.view_panel.show_suggestion.toggle())
    a("zoom_in", "Zoom in", lambda: w.canvas.zoom_by(1.25))
    a("zoom_out", "Zoom out", lambda: w.canvas.zoom_by(0.8))
    a("fit", "Fit", w.canvas.fit)
    a("actual", "1:1", w.canvas.actual_size)
    a("help", "Shortcuts", w.show_help)
    a("refine", "Refine from my strokes", lambda: w.region_tools.refine())
    a("refresh_suggestion", "Newer model: refresh suggestion",
      lambda: w.newest_model.refresh_current()).setVisible(False)
    return actions


def _install_unlisted_keys(w: Any) -> None:
    """Class keys 1-9 and Escape, which have no menu entry."""
    for key in "123456789":
        act = QAction(w)
        act.setShortcut(QKeySequence(key))
        act.triggered.connect(lambda _=False, k=key: w.palette_widget.select_key(k))
        w.addAction(act)
    cancel = QAction(w)
    cancel.setShortcut(QKeySequence("Escape"))
    cancel.triggered.connect(w.tools.cancel)
    w.addAction(cancel)


def _menu_action(w: Any, text: str, slot: Callable[[], Any]) -> QAction:
    act = QAction(text, w)
    act.triggered.connect(slot)
    return act


def _install_menus(w: Any, actions: dict[str, QAction]) -> None:
    """File and Help menus; adds the menu-only actions (export, import, preferences)."""
    actions["export"] = _menu_action(w, "Export dataset...", lambda: w.export_dataset())
    actions["import_labels"] = _menu_action(w, "Import labels...", lambda: w.import_labels())
    prefs = _menu_action(w, "Preferences...", lambda: w.show_preferences())
    # the platform's key (Cmd+, on macOS); Linux and Windows have none, so Ctrl+, there
    keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences) or [QKeySequence("Ctrl+,")]
    prefs.setShortcuts(keys)
    prefs.setMenuRole(QAction.MenuRole.PreferencesRole)
    w.addAction(prefs)
    actions["preferences"] = prefs
    file_menu = w.menuBar().addMenu("&File")
    file_menu.addAction(actions["open"])
    file_menu.addAction(actions["export"])
    file_menu.addAction(actions["import_labels"])
    recent = file_menu.addMenu("Open &recent")
    recent.aboutToShow.connect(lambda: fill_recent_menu(w, recent))
    file_menu.addAction(actions["save"])
    file_menu.addSeparator()
    file_menu.addAction(prefs)
    file_menu.addSeparator()
    file_menu.addAction(actions["quit"])
    help_menu = w.menuBar().addMenu("&Help")
    help_menu.addAction(actions["help"])
    help_menu.addAction(actions["about"])


def _install_toolbar(w: Any, actions: dict[str, QAction]) -> None:
    bar = w.addToolBar("Main")
    bar.setObjectName("main_toolbar")
    for name in TOOLBAR:
        if name is None:
            bar.addSeparator()
        else:
            bar.addAction(actions[name])


def fill_recent_menu(w: Any, menu: QMenu) -> None:
    """Recent folders from the preferences; missing ones are shown disabled."""
    from pathlib import Path

    menu.clear()
    for folder in w.prefs.recent_folders:
        act = menu.addAction(folder)
        act.setEnabled(Path(folder).is_dir())
        act.triggered.connect(lambda _=False, f=folder: w.open_folder(f))
    if not menu.actions():
        menu.addAction("(none yet)").setEnabled(False)
