"""Make the README's "Using the app" screenshots: the real window under Xvfb, driven by real
key and mouse events, with the real project engine (training runs in the background).

    Xvfb :16 -screen 0 1600x1000x24 &
    DISPLAY=:16 .venv/bin/python scripts/make_howto_screenshots.py --checkpoint C.safetensors

``--checkpoint`` is a model trained on the dataset (e.g. ``resunet-gui train``); it is
imported into a copy of the dataset as its first version, so suggestions come from it.
Without it, only the first-run shots are made. PNGs go to resources/screenshots/howto/,
downscaled and quantised to stay small.
"""
from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1000  # px of the saved PNGs
MAX_BYTES = 280_000


def pump(app, seconds: float = 0.3) -> None:  # noqa: ANN001
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_until(app, cond: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def save(widget, path: Path) -> None:  # noqa: ANN001
    """Grab ``widget``, scale to WIDTH and quantise (PNGs under MAX_BYTES)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    pix = widget.grab()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pix.save(buf, "PNG")
    import io

    img = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB")
    if img.width > WIDTH:
        img = img.resize((WIDTH, round(img.height * WIDTH / img.width)), Image.Resampling.LANCZOS)
    for colours in (128, 64, 48, 32):  # fewest colours only where needed to stay small
        img.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            break
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def copy_images(dataset: Path, dest: Path) -> Path:
    """Images, classes and split of ``dataset``, no masks: a folder nobody has labelled."""
    shutil.copytree(dataset / "images", dest / "images")
    for name in ("classes.json", "split.csv"):
        if (dataset / name).exists():
            shutil.copy(dataset / name, dest / name)
    return dest


def install_checkpoint(folder: Path, checkpoint: Path) -> None:
    """Import ``checkpoint`` as the project's first version and make it current."""
    from resunet_gui.core.project import Project
    from resunet_gui.engine.project_engine import num_classes_of
    from resunet_gui.engine.versions import VersionStore

    with Project.open(folder) as project:
        store = VersionStore(project.models_dir)
        _model, info = store.import_checkpoint(checkpoint, num_classes_of(project))
        store.set_current(info.name)


def new_window(tmp: Path, name: str):  # noqa: ANN201
    from resunet_gui.app import build_window
    from resunet_gui.qt.preferences import Preferences

    window = build_window(Preferences(tmp / f"{name}.ini"))
    window.resize(1500, 920)
    window.show()
    window.activateWindow()
    return window


def key(window, k, mod=None) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window.canvas.setFocus()
    QTest.keyClick(window.canvas, k, mod or Qt.KeyboardModifier.NoModifier)


def stroke(window, points, button=None) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    vp, at = window.canvas.viewport(), window.canvas.mapFromScene
    button = button or Qt.MouseButton.LeftButton
    QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, at(QPointF(*points[0])))
    for p in points[1:]:
        QTest.mouseMove(vp, at(QPointF(*p)))
    QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, at(QPointF(*points[-1])))


def first_run_shot(app, tmp: Path, dataset: Path, out: Path) -> None:  # noqa: ANN001
    folder = copy_images(dataset, tmp / "first-run")
    window = new_window(tmp, "first")
    window.open_folder(folder)
    wait_until(app, lambda: window.first_run.active, 300, "the engine (first run)")
    pump(app, 1.0)
    save(window, out / "first_run.png")
    window.close()


def workflow_shots(app, tmp: Path, dataset: Path, checkpoint: Path, out: Path) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    folder = copy_images(dataset, tmp / dataset.name)
    install_checkpoint(folder, checkpoint)
    window = new_window(tmp, "flow")
    arrived: list[str] = []
    window.suggestions.suggestionArrived.connect(arrived.append)
    window.open_folder(folder)
    pump(app, 1.5)
    save(window, out / "open.png")
    first = window.editor.stem
    wait_until(app, lambda: first in arrived, 600, "the first suggestion")
    pump(app, 0.5)
    save(window, out / "suggest.png")

    window.view_panel.show_uncertainty.setChecked(True)
    pump(app, 0.5)
    save(window, out / "uncertainty.png")
    window.view_panel.show_uncertainty.setChecked(False)

    key(window, Qt.Key.Key_Return)  # accept the suggestion as labels, then correct it
    window.tools.set_radius(5)
    stroke(window, [(120 + 5 * i, 200 + 30 * math.sin(i / 5)) for i in range(40)])
    stroke(window, [(300, 330), (360, 360)], Qt.MouseButton.RightButton)
    pump(app, 0.5)
    save(window, out / "correct.png")

    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # done & next
    # the next image's suggestion was prefetched, or arrives now
    wait_until(app, lambda: window.editor.document.suggestion is not None, 600,
               "the next suggestion")
    pump(app, 0.5)
    save(window, out / "done_next.png")

    for _ in range(2):  # training starts after 3 done images: accept, mark done, next
        wait_until(app, lambda: window.editor.document.suggestion is not None, 600,
                   "a suggestion")
        key(window, Qt.Key.Key_Return)
        key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        pump(app, 0.5)
    window.model_dock.raise_()
    wait_until(app, lambda: len(window.model_panel.losses) >= 2, 900, "training steps")
    pump(app, 0.5)
    save(window, out / "model_panel.png")

    dialog = window.export_dataset()
    pump(app, 0.5)
    save(dialog, out / "export.png")
    dialog.close()
    window.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/data/isbi2012-em")
    ap.add_argument("--checkpoint", type=Path, help="a model trained on the dataset")
    ap.add_argument("--out", type=Path, default=ROOT / "resources/screenshots/howto")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))  # this checkout's package, not an installed one
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    try:
        first_run_shot(app, tmp, args.dataset, args.out)
        if args.checkpoint is not None:
            workflow_shots(app, tmp, args.dataset, args.checkpoint, args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
