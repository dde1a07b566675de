"""Make resources/screenshots/export_dialog.png (the export dialog after a finished export)
and large_image_progress.png (a 6000x6000 suggestion in progress, tiles and time left):

    Xvfb :17 -screen 0 1600x1000x24 &
    DISPLAY=:17 .venv/bin/python scripts/screenshots_export_large.py \
        [--dataset ../shared/data/isbi2012-em]

The large image is synthetic; the model has random weights (only the progress matters).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "resources" / "screenshots"


def _pump(app, until, timeout: float) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not until() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()


def _save(widget, path: Path, width: int) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    pixmap = widget.grab()
    if pixmap.width() > width:
        pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    pixmap.save(str(path))
    print(f"{path}: {pixmap.width()}x{pixmap.height()}, {path.stat().st_size // 1024} KiB")


def export_dialog(app, dataset: Path, tmp: Path) -> None:  # noqa: ANN001
    from resunet_gui.app import build_window
    from resunet_gui.qt.preferences import Preferences

    folder = tmp / dataset.name
    shutil.copytree(dataset, folder)
    w = build_window(Preferences(tmp / "e.ini"), engine_factory_for=None)
    w.resize(1200, 800)
    w.show()
    w.open_folder(folder)
    dialog = w.export_dataset()
    dialog.format.setCurrentIndex(dialog.format.findData("coco"))
    dialog.target.setText(str(tmp / f"{dataset.name}-export"))
    dialog.start()
    _pump(app, lambda: not dialog.start_btn.isEnabled(), 10)
    _pump(app, lambda: dialog.start_btn.isEnabled(), 120)
    _save(dialog, SHOTS / "export_dialog.png", 700)
    w.close()


def large_progress(app, tmp: Path) -> None:  # noqa: ANN001
    import cv2
    import numpy as np

    from resunet_gui.app import build_window
    from resunet_gui.engine.inference_engine import InferenceEngine
    from resunet_gui.qt.preferences import Preferences

    folder = tmp / "large"
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    small = cv2.GaussianBlur(rng.integers(0, 255, (750, 750), np.uint8), (0, 0), 6)
    big = cv2.resize(small, (6000, 6000), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(folder / "images" / "scan_6000.png"), big)
    w = build_window(Preferences(tmp / "l.ini"),
                     engine_factory_for=lambda _p: lambda: InferenceEngine(tile=1024))
    w.resize(1400, 900)
    w.show()
    w.open_folder(folder)
    panel = w.suggest_panel
    _pump(app, lambda: " 3 / " in panel.eta.text() and "left" in panel.eta.text(), 1800)
    _save(w, SHOTS / "large_image_progress.png", 1100)
    w.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/data/isbi2012-em")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    SHOTS.mkdir(parents=True, exist_ok=True)
    export_dialog(app, args.dataset, tmp)
    large_progress(app, tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
