"""Make resources/screenshots/main_window.png: the real window under Xvfb with an image, a
model suggestion (outline + wash) and a painted correction (solid labels).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/make_screenshot.py \
        [--checkpoint C.safetensors] [--dataset ../shared/data/isbi2012-em]

Without --checkpoint the model has random weights and its suggestion is noise-like.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/data/isbi2012-em")
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--stem", default="slice_03")
    ap.add_argument("--out", type=Path, default=ROOT / "resources/screenshots/main_window.png")
    args = ap.parse_args()

    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from resunet_gui.app import build_window
    from resunet_gui.engine.inference_engine import InferenceEngine
    from resunet_gui.qt.preferences import Preferences

    app = QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    folder = tmp / args.dataset.name
    shutil.copytree(args.dataset / "images", folder / "images")
    for name in ("classes.json", "split.csv"):
        if (args.dataset / name).exists():
            shutil.copy(args.dataset / name, folder / name)
    window = build_window(Preferences(tmp / "prefs.ini"),
                          engine_factory_for=lambda _p: lambda: InferenceEngine(args.checkpoint))
    window.resize(1500, 920)
    window.show()
    arrived: list[str] = []
    window.suggestions.suggestionArrived.connect(arrived.append)
    window.open_folder(folder)
    window.select_stem(args.stem)
    end = time.monotonic() + 600
    while args.stem not in arrived and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    if args.stem not in arrived:
        print("no suggestion arrived", file=sys.stderr)
        return 1
    window.view_panel.opacity.setValue(60)
    window.canvas.actual_size()
    window.canvas.centerOn(QPointF(256, 256))
    vp = window.canvas.viewport()
    pts = [(150 + 6 * i, 230 + 40 * __import__("math").sin(i / 6)) for i in range(30)]
    window.tools.set_radius(4)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     window.canvas.mapFromScene(QPointF(*pts[0])))
    for p in pts[1:]:
        QTest.mouseMove(vp, window.canvas.mapFromScene(QPointF(*p)))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       window.canvas.mapFromScene(QPointF(*pts[-1])))
    QTest.mouseMove(vp, window.canvas.mapFromScene(QPointF(330, 300)))
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(args.out))
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {args.out}" if ok else "could not save the screenshot")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
