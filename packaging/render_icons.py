"""Render resources/icons/resunet-gui.svg to every PNG size plus .ico/.icns.

Run with the project venv (needs PySide6's QtSvg and Pillow, both present there):
    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py
The SVG is the only hand-edited source; everything else here is regenerated and committed so
packagers and the wheel need neither Qt nor Pillow at build time.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "resunet-gui.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
WHEEL_RESOURCES = ROOT / "resunet_gui" / "resources"


def render_png(size: int, out: Path) -> None:
    """Rasterise the SVG at ``size`` x ``size`` with antialiasing onto a transparent image."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"cannot parse {SOURCE}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"cannot write {out}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (keeps Qt alive)
    pngs = {}
    for size in SIZES:
        out = ICONS / f"resunet-gui-{size}.png"
        render_png(size, out)
        pngs[size] = out
        print(f"wrote {out.relative_to(ROOT)}")

    from PIL import Image

    # Windows: one .ico with the classic sizes; each frame from its own rendering (crisper
    # than letting Pillow downscale the 256 px one).
    frames = [Image.open(pngs[s]).convert("RGBA") for s in ICO_SIZES]
    ico = ICONS / "resunet-gui.ico"
    frames[-1].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=frames[:-1])
    print(f"wrote {ico.relative_to(ROOT)}")
    # macOS: .icns from the 512 px rendering (Pillow writes the smaller members itself).
    icns = ICONS / "resunet-gui.icns"
    Image.open(pngs[512]).convert("RGBA").save(icns, format="ICNS")
    print(f"wrote {icns.relative_to(ROOT)}")

    # Ship the icon inside the package so the running app (wheel or bundle) can set its window icon.
    WHEEL_RESOURCES.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SOURCE, WHEEL_RESOURCES / "resunet-gui.svg")
    shutil.copy2(pngs[256], WHEEL_RESOURCES / "resunet-gui-256.png")
    print(f"copied icon into {WHEEL_RESOURCES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
