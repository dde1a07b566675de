"""The main window: wires canvas, image list, palette, panels, editor and model bridge.

Layout and wiring only; the editor owns project/session state, the bridge owns the model
service, the tool controller owns pointer input.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QModelIndex, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from resunet_gui.core.class_roles import erase_value
from resunet_gui.core.errors import ProjectStateError, ResunetError
from resunet_gui.core.types import ImageStatus
from resunet_gui.qt.actions import install_actions
from resunet_gui.qt.canvas import CanvasView
from resunet_gui.qt.class_colours import visible_colours
from resunet_gui.qt.dialogs import ask_recover, offer_recovery
from resunet_gui.qt.editor import Editor
from resunet_gui.qt.export_dialog import ExportDialog
from resunet_gui.qt.first_run import FirstRunGuide
from resunet_gui.qt.image_browser import ImageBrowser
from resunet_gui.qt.image_list import STEM_ROLE, ImageFilterModel, ImageListModel
from resunet_gui.qt.layers import label_color_table, suggestion_color_table
from resunet_gui.qt.model_panel import ModelPanel
from resunet_gui.qt.navigation import next_not_done
from resunet_gui.qt.newest_model import NewestModel
from resunet_gui.qt.palette import PaletteWidget
from resunet_gui.qt.panels import SuggestPanel, ViewPanel
from resunet_gui.qt.preferences import Preferences
from resunet_gui.qt.read_only_banner import NoticeBanner, ReadOnlyGuard, banners_above
from resunet_gui.qt.recovery_dialog import open_with_recovery
from resunet_gui.qt.region_tools import RegionTools
from resunet_gui.qt.service_bridge import ServiceBridge
from resunet_gui.qt.shortcuts import ShortcutSheet
from resunet_gui.qt.stack_slider import StackSlider
from resunet_gui.qt.suggestions import SuggestionController
from resunet_gui.qt.tool_controller import Tool, ToolController
from resunet_gui.qt.window_level import WindowLevelDrag, pixel_text, render


class MainWindow(QMainWindow):
    """Top-level window. ``bridge`` may be attached later (the model loads behind the window)."""


    def __init__(self, prefs: Preferences | None = None) -> None:
        super().__init__()
        self.setWindowTitle("resunet-gui")
        self.setAcceptDrops(True)
        self.prefs = prefs or Preferences()
        self.editor = Editor(self)
        self.canvas = CanvasView()
        self.tools = ToolController(self)
        self.canvas.handler = self.tools
        self.window_level = WindowLevelDrag(self._window_changed)
        self.canvas.window_drag = self.window_level
        self.stack_slider = StackSlider()
        self._stacks: dict[str, list[str]] = {}
        self.banner, self.model_banner = NoticeBanner(), NoticeBanner()
        self.model_banner.actionClicked.connect(self.model_banner.clear)
        self.editor.projectOpened.connect(lambda _p: self.model_banner.clear())
        self.read_only_guard = ReadOnlyGuard(self.editor, self.tools, self.banner, self)
        self.images = ImageListModel(self)
        self.filter = ImageFilterModel(self)
        self.filter.setSourceModel(self.images)
        self.palette_widget = PaletteWidget()
        self.view_panel = ViewPanel()
        self.suggest_panel = SuggestPanel()
        self.model_panel = ModelPanel()
        self.suggestions = SuggestionController(self.editor, self.images, self.suggest_panel, self)
        self.suggestions.canvas = self.canvas
        self.first_run = FirstRunGuide(self.suggestions, self)
        self.setCentralWidget(banners_above(self.canvas, self.banner, self.model_banner,
                                            self.first_run.banner))
        self.region_tools = RegionTools(self)
        self.bridge: ServiceBridge | None = None
        self._engine_factory_for: Callable[[Any], Callable[[], Any]] | None = None
        self._build_docks()
        self.actions_by_name = install_actions(self)
        self.actions_by_name["brush"].setChecked(True)
        self.canvas.set_brush_cursor_visible(True)  # the brush is the tool at start
        self._build_status_bar()
        self.newest_model = NewestModel(self)
        self._connect()
        self._apply_prefs()

    # ---- construction ----------------------------------------------------------------
    def _build_docks(self) -> None:
        self.browser = ImageBrowser(self.filter)
        self.list_view = self.browser.list_view
        self.status_filter = self.browser.status_filter
        self.sort_uncertain = self.browser.sort_uncertain
        dock = QDockWidget("Images", self)
        dock.setObjectName("images_dock")
        dock.setWidget(self.browser)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(2, 2, 2, 2)
        rl.addWidget(QLabel("Classes"))
        rl.addWidget(self.palette_widget)
        rl.addWidget(self.stack_slider)
        rl.addWidget(self.view_panel)
        rl.addWidget(self.suggest_panel)
        rl.addStretch(1)
        self.side_dock = QDockWidget("Tools", self)
        self.side_dock.setObjectName("tools_dock")
        self.side_dock.setWidget(right)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.side_dock)
        self.model_dock = QDockWidget("Model", self)
        self.model_dock.setObjectName("model_dock")
        self.model_dock.setWidget(self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.model_dock)
        self.tabifyDockWidget(self.side_dock, self.model_dock)
        self.side_dock.raise_()

    def _build_status_bar(self) -> None:
        self.save_label = QLabel("saved")
        self.device_label = QLabel("model: loading...")
        self.model_label = QLabel("")
        self.pos_label = QLabel("")
        self.brush_label = QLabel("")  # brush diameter in image pixels, at any zoom
        self.zoom_label = QLabel("")
        sb = self.statusBar()
        sb.addWidget(self.pos_label, 1)
        for w in (self.brush_label, self.zoom_label, self.model_label, self.device_label,
                  self.save_label):
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        ed = self.editor
        ed.imageShown.connect(self._image_shown)
        ed.imageFailed.connect(self._image_failed)
        ed.documentChanged.connect(self._document_changed)
        ed.suggestionShown.connect(self._suggestion_shown)
        ed.statusChanged.connect(lambda stem, st: self.images.set_status(stem, ImageStatus(st)))
        ed.statusChanged.connect(self._status_changed)
        ed.saveStateChanged.connect(self.save_label.setText)
        ed.warning.connect(lambda msg: self.statusBar().showMessage(msg, 20000))
        ed.recovered.connect(lambda stem, n: self.statusBar().showMessage(
            f"Recovered {n} unsaved edit(s) of {stem} from the journal", 8000))
        self.tools.regionChanged.connect(self.canvas.label_layer.update_bbox)
        self.tools.regionChanged.connect(self.canvas.outline_layer.refresh)
        self.view_panel.outlineToggled.connect(self._outline_toggled)
        self.tools.radiusChanged.connect(self.canvas.set_brush_radius)
        self.tools.radiusChanged.connect(self._radius_pref)
        self.tools.radiusChanged.connect(lambda r: self.brush_label.setText(f"brush {2 * r + 1} px"))
        self.tools.toolChanged.connect(self._tool_changed)
        self.tools.previewChanged.connect(self.canvas.set_preview)
        self.canvas.brushWheel.connect(self.tools.grow)
        self.canvas.cursorMoved.connect(self._cursor_moved)
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"zoom {z:.2f}"))
        self.tools.classPicked.connect(self._class_picked)
        self.palette_widget.classSelected.connect(self.tools.set_value)
        self.palette_widget.classesEdited.connect(self._classes_edited)
        self.view_panel.opacityChanged.connect(self._opacity_changed)
        self.view_panel.labelsToggled.connect(self.canvas.label_layer.setVisible)
        self.view_panel.suggestionToggled.connect(self.canvas.suggestion_layer.setVisible)
        self.view_panel.uncertaintyToggled.connect(self.suggestions.show_uncertainty)
        self.view_panel.windowChanged.connect(self._window_changed)
        self.stack_slider.stemChosen.connect(self.select_stem)
        self.suggest_panel.autoSuggestToggled.connect(self._auto_suggest_pref)
        self.status_filter.currentIndexChanged.connect(
            lambda _i: self.filter.set_status_filter(self.status_filter.currentData()))
        self.list_view.selectionModel().currentChanged.connect(self._list_current_changed)

    def _apply_prefs(self) -> None:
        self.view_panel.opacity.setValue(int(round(self.prefs.opacity * 100)))
        self.suggest_panel.auto.setChecked(self.prefs.auto_suggest)
        self.tools.set_radius(self.prefs.brush_radius)
        geometry = self.prefs.geometry()
        if geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)

    def attach_bridge(self, bridge: ServiceBridge,
                      engine_factory_for: Callable[[Any], Callable[[], Any]]) -> None:
        """Give the window a model service; one is started per opened project."""
        self.bridge, self._engine_factory_for = bridge, engine_factory_for
        # before the suggestion controller's own slots: it must see the hold first
        bridge.engineReady.connect(self.first_run.engine_ready)
        bridge.modelChanged.connect(self.first_run.model_changed)
        self.suggestions.attach(bridge)
        self.model_panel.attach(bridge)
        self.model_panel.statusLine.connect(self.model_label.setText)

        def engine_ready(dev: str, ver: str) -> None:
            self.device_label.setText(f"device: {dev or '?'}")
            self.model_label.setText(f"model {ver}" if ver else "model: new")

        bridge.engineReady.connect(engine_ready)
        bridge.engineFailed.connect(lambda msg: self.device_label.setText("model unavailable"))
        bridge.engineWarning.connect(lambda msg: self.model_banner.show_notice(msg, "Dismiss"))
        bridge.engineReady.connect(lambda _dev, ver: self.images.set_model_version(ver or None))
        bridge.modelChanged.connect(lambda info: self.images.set_model_version(info.name))
        bridge.engineFailed.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
        self.suggestions.failed.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        self.tools.interacting.connect(bridge.set_interactive)
        self.region_tools.attach(bridge)
        self.newest_model.attach(bridge)

    # ---- project / navigation ----------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> bool:
        """Open a project folder; errors become a message box, never a traceback."""
        self.suggestions.cancel_all()
        self._forget_previous_project()
        try:
            project = self.editor.open_project(folder)
        except ProjectStateError as exc:  # corrupt project.json: offer to rebuild it
            project = open_with_recovery(self, folder, exc)
            if project is None:
                return False
        except ResunetError as exc:
            QMessageBox.warning(self, "Cannot open folder", str(exc))
            return False
        from resunet_gui.core.imageio import read_image

        stems = project.stems()
        from resunet_gui.core.stacks import stack_members

        self._stacks = stack_members({s: project.entry(s).relpath for s in stems})
        self.images.set_project(stems, {s: project.entry(s).status for s in stems},
                                project.image_path, read_image)
        self.palette_widget.set_classes(list(project.classes))
        self.model_panel.reset([c.name for c in project.classes])
        self.tools.erase_value = erase_value(project.classes)
        self._colours_checked = False
        self._count_done()
        self._recolour()
        self.prefs.add_recent(folder)
        self.setWindowTitle(f"resunet-gui - {Path(folder).name}")
        for warning in getattr(project, "warnings", []):
            self.statusBar().showMessage(warning, 8000)
        self.suggestions.project_opened(project)
        offer_recovery(self)
        if self.bridge is not None and self._engine_factory_for is not None:
            self.device_label.setText("model: loading...")
            self.bridge.start(self._engine_factory_for(project))
        if stems:
            self.select_stem(stems[0])
        return True

    def _forget_previous_project(self) -> None:
        """Stop the old project's model and drop what it already sent, then clear every
        project-scoped view: nothing of the previous folder may show in the new one."""
        if self.bridge is not None:
            self.bridge.shutdown()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)
        self.model_panel.reset()
        self.model_label.setText("")
        self.suggest_panel.eta.setText("")
        self.first_run.project_opening(with_model=self.bridge is not None)

    def _status_changed(self, _stem: str, status: str) -> None:
        if status == ImageStatus.DONE.value:  # a count over every image: only then
            self._count_done()

    def _count_done(self) -> None:
        stems = self.images.stems
        done = sum(self.images.status(s) == ImageStatus.DONE for s in stems)
        self.model_panel.set_done_count(done, len(stems))
        self.first_run.set_done(done)

    def ask_recover(self, stems: list[str]) -> bool:
        """Keep journalled edits? (a method so tests can answer it)."""
        return ask_recover(self, stems)

    def export_dataset(self) -> ExportDialog | None:
        if self.editor.project is None:
            return None
        self.editor.flush()  # the export reads masks from disk
        dialog = ExportDialog(self.editor.project, self)
        dialog.show()
        return dialog

    def import_labels(self) -> Any:
        """File > Import labels... (qt/import_dialog.py); None without an open project."""
        from resunet_gui.qt.import_dialog import open_import_dialog

        return open_import_dialog(self)

    def select_stem(self, stem: str) -> None:
        row = self.images.row_of(stem)
        if row < 0:
            return
        proxy = self.filter.mapFromSource(self.images.index(row))
        if proxy.isValid():
            self.list_view.setCurrentIndex(proxy)
        else:
            self.show_stem(stem)

    def _list_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            stem = current.data(STEM_ROLE)
            if stem != self.editor.stem:
                self.show_stem(stem)

    def show_stem(self, stem: str) -> None:
        self.tools.set_document(None)
        self.editor.show(stem)

    def step(self, delta: int) -> None:
        rows = self.filter.rowCount()
        if rows == 0:
            return
        cur = self.list_view.currentIndex()
        row = min(max((cur.row() if cur.isValid() else -1) + delta, 0), rows - 1)
        self.list_view.setCurrentIndex(self.filter.index(row, 0))

    def _image_shown(self, stem: str) -> None:
        image, doc = self.editor.image, self.editor.document
        if image is None:
            raise RuntimeError(f"{stem} was shown before its image was loaded")
        self.images.set_error(stem, None)
        self.canvas.set_image(image.display)
        self.canvas.label_layer.set_array(doc.labels)
        self.canvas.outline_layer.follow(doc.labels)
        self.canvas.suggestion_layer.set_array(None)
        if doc.suggestion is not None:
            self._suggestion_shown(stem)
        self.tools.set_document(doc)
        from resunet_gui.core.imageio import finite_range  # NaN/Inf pixels are skipped

        window = getattr(image, "window", None)
        data_range = finite_range(image.raw)
        self.view_panel.set_window_range(data_range if window else None, window)
        self.view_panel.presets.setVisible(image.extra.get("units") == "HU")
        self.window_level.set_image(window, data_range or (0.0, 1.0))
        self.stack_slider.show_stack(self._stacks.get(stem, []), stem)
        self.statusBar().showMessage(f"{stem}: {image.shape[1]}x{image.shape[0]} "
                                     f"{image.dtype}", 4000)
        self._fit_class_colours(image.display)
        self.suggestions.image_shown(stem)

    def _image_failed(self, stem: str, message: str) -> None:
        self.canvas.show_message(f"Cannot show {stem}:\n{message}")
        self.images.set_error(stem, message)

    def _suggestion_shown(self, stem: str) -> None:
        doc = self.editor.document
        if doc is None or doc.suggestion is None:
            return
        from resunet_gui.qt.layers import suggestion_display

        self._suggestion_view = suggestion_display(doc.suggestion)
        self.canvas.suggestion_layer.set_array(self._suggestion_view)

    def _document_changed(self, bbox: object) -> None:
        self.canvas.label_layer.ensure_array(self.editor.document.labels)
        self.canvas.label_layer.update_bbox(bbox)  # type: ignore[arg-type]
        self.canvas.outline_layer.refresh(bbox)  # type: ignore[arg-type]

    # ---- editing actions ---------------------------------------------------------------
    def undo(self) -> None:
        self.tools.cancel()
        self.editor.undo()

    def redo(self) -> None:
        self.editor.redo()

    def accept_suggestion(self) -> None:
        if self.tools.busy:
            self.tools.finish_polygon()
            return
        self.editor.accept_suggestion()

    def done_and_next(self) -> None:
        if self.editor.document is None or not self.editor.editable:
            self.step(1)
            return
        stem = self.editor.stem
        if not self.editor.mark_done():
            QMessageBox.warning(self, "Not saved", f"{stem} could not be saved; your edits are "
                                "kept in memory and in the journal. Check the folder.")
            return
        self.suggestions.image_done(stem)
        self._go_to_next_not_done()

    def _go_to_next_not_done(self) -> None:
        row = next_not_done(self.filter, self.list_view.currentIndex().row())
        if row is None:
            self.statusBar().showMessage("Every image in the list is done: export the dataset "
                                         "(File > Export dataset...)", 15000)
            return
        self.list_view.setCurrentIndex(self.filter.index(row, 0))

    def show_help(self) -> None:
        ShortcutSheet(self).exec()

    def show_about(self) -> None:
        from resunet_gui.qt.about import about_box

        self.about_box = about_box(self)
        self.about_box.open()

    def show_preferences(self) -> None:
        """Device and weights for the model of the next folder opened (QSettings)."""
        from resunet_gui.qt.preferences_dialog import PreferencesDialog

        self.preferences_dialog = PreferencesDialog(self.prefs, self)
        self.preferences_dialog.open()

    def save_now(self) -> bool:
        """Ctrl+S: write the current mask now and say so (autosave runs anyway)."""
        if self.editor.session is None:
            self.statusBar().showMessage("Nothing to save", 3000)
            return False
        ok = bool(self.editor.session.save_now())
        self.save_label.setText("saved" if ok else "error: not saved")
        self.statusBar().showMessage(f"Saved {self.editor.stem}" if ok else
                                     f"Could not save {self.editor.stem}: "
                                     f"{self.editor.session.last_error}", 5000)
        return ok

    # ---- view / prefs ----------------------------------------------------------------
    def _recolour(self) -> None:
        classes = self.palette_widget.classes
        opacity = self.view_panel.opacity.value() / 100.0
        outline = self.canvas.outline_layer.isVisible()
        self.canvas.label_layer.set_color_table(
            label_color_table(classes, opacity * 0.25 if outline else opacity))
        self.canvas.outline_layer.set_color_table(label_color_table(classes, 1.0))
        self.canvas.suggestion_layer.set_color_table(suggestion_color_table(classes, opacity))

    def _fit_class_colours(self, display: Any) -> None:
        """Once per project: a class coloured like the image is shown in another colour."""
        if getattr(self, "_colours_checked", True):
            return
        self._colours_checked = True
        classes, changed = visible_colours(self.palette_widget.classes, display)
        if changed:
            self.palette_widget.set_classes(classes)
            self._recolour()
            self.statusBar().showMessage(
                f"{', '.join(changed)} shown in another colour: the image has the same hue "
                "(the Colour button chooses one)", 8000)

    def _outline_toggled(self, on: bool) -> None:
        self.canvas.outline_layer.set_enabled(on)
        self._recolour()

    def _opacity_changed(self, value: float) -> None:
        self.prefs.opacity = value
        self._recolour()

    def _classes_edited(self, classes: list) -> None:
        if self.editor.project is not None:
            try:
                self.editor.project.set_classes(classes)
                self.editor.project.save()
            except ResunetError as exc:
                QMessageBox.warning(self, "Cannot save classes", str(exc))
        self.model_panel.project_classes = [c.name for c in classes]
        self.tools.erase_value = erase_value(classes)
        self._recolour()

    def _window_changed(self, low: float, high: float) -> None:
        image = self.editor.image
        if image is None or getattr(image, "window", None) is None:
            return
        self.window_level.set_window(low, high)
        self.view_panel.show_window(low, high)
        self._wl_display = render(image, low, high)
        self.canvas.image_layer.set_array(self._wl_display)

    def _tool_changed(self, name: str) -> None:
        for tool in Tool:
            self.actions_by_name[tool.value].setChecked(tool.value == name)
        self.canvas.set_brush_cursor_visible(name in (Tool.BRUSH.value, Tool.ERASER.value))

    def _radius_pref(self, radius: int) -> None:
        self.prefs.brush_radius = radius

    def _auto_suggest_pref(self, on: bool) -> None:
        self.prefs.auto_suggest = on

    def _cursor_moved(self, x: float, y: float) -> None:
        size = self.canvas.image_size
        if size is not None and 0 <= x < size[1] and 0 <= y < size[0]:
            value = pixel_text(self.editor.image, x, y) if self.editor.image is not None else ""
            self.pos_label.setText(f"x {int(x)}  y {int(y)}  {value}")

    def _class_picked(self, value: int) -> None:
        if not self.palette_widget.select_id(value):
            self.statusBar().showMessage("No class there (unlabelled)", 4000)

    # ---- drag and drop / close -------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if path.is_dir():
                self.open_folder(path)
                return
            if path.parent.is_dir():
                self.open_folder(path.parent)
                return

    def shutdown(self) -> None:
        """Save first, then stop workers and the model service; safe to call twice.

        The window hides before waiting for the model worker, which may be in the middle
        of a training chunk (seconds on a CPU)."""
        self.tools.cancel()
        self.suggestions.cancel_all()
        self.images.shutdown()
        try:
            self.editor.close_project()
        except ResunetError as exc:
            QMessageBox.warning(self, "Could not save", str(exc))
        self.hide()
        self.suggestions.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.prefs.set_geometry(bytes(self.saveGeometry().data()))
        self.shutdown()
        super().closeEvent(event)
