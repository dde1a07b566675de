"""PNG plots of a simulate run (cv2 only): kept out of the engine, which only measures."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from resunet_gui.core.errors import ResunetError

Color = tuple[int, int, int]

LEARNING = {"test_dice": (200, 80, 20), "suggestion_dice": (40, 160, 40),
            "corrected_fraction": (30, 30, 220)}
EFFORT = {"scratch_actions": (30, 30, 220), "brush_actions": (200, 80, 20),
          "effort_actions": (40, 160, 40)}
EFFORT_LABELS = {"scratch_actions": "from scratch", "brush_actions": "brush only",
                 "effort_actions": "suggestion + region tools"}


def learning_curve_png(path: Path, rows: Sequence, title: str = "") -> None:
    """Test Dice, suggestion Dice and corrected fraction against images done."""
    _plot(path, rows, LEARNING, {k: k.replace("_", " ") for k in LEARNING}, 1.0, title,
          "images corrected")


def effort_png(path: Path, rows: Sequence, title: str = "") -> None:
    """Actions per image (strokes + clicks) against images done, for the three references."""
    vals = [getattr(r, k) for r in rows for k in EFFORT if getattr(r, k, None) is not None]
    top = max(10, int(np.ceil(max(vals, default=10) / 10.0)) * 10)
    _plot(path, rows, EFFORT, EFFORT_LABELS, float(top), title, "images done (actions/image)")


def _plot(path: Path, rows: Sequence, series: dict[str, Color], labels: dict[str, str],
          ymax: float, title: str, xlabel: str) -> None:
    import cv2

    w, h, left, right, top, bottom = 900, 560, 70, 250, 50, 60
    img = np.full((h, w, 3), 255, np.uint8)
    pw, ph = w - left - right, h - top - bottom
    n = max(1, max((r.images_done for r in rows), default=1))
    font = cv2.FONT_HERSHEY_SIMPLEX

    def xy(x: float, y: float) -> tuple[int, int]:
        return (int(left + pw * (x / n)), int(top + ph * (1.0 - y / ymax)))

    for t in np.linspace(0, ymax, 6):
        cv2.line(img, xy(0, t), xy(n, t), (225, 225, 225), 1)
        cv2.putText(img, f"{t:.1f}" if ymax <= 1 else f"{t:.0f}", (left - 45, xy(0, t)[1] + 5),
                    font, 0.45, (0, 0, 0), 1)
    for i in range(0, n + 1, max(1, n // 10)):
        cv2.line(img, xy(i, 0), (xy(i, 0)[0], xy(i, 0)[1] + 5), (0, 0, 0), 1)
        cv2.putText(img, str(i), (xy(i, 0)[0] - 6, h - bottom + 22), font, 0.45, (0, 0, 0), 1)
    cv2.rectangle(img, (left, top), (left + pw, top + ph), (0, 0, 0), 1)
    cv2.putText(img, xlabel, (left + pw // 2 - 90, h - 15), font, 0.55, (0, 0, 0), 1)
    cv2.putText(img, title, (left, 30), font, 0.55, (0, 0, 0), 1)
    for j, (key, color) in enumerate(series.items()):
        pts = [xy(r.images_done, float(getattr(r, key))) for r in rows
               if getattr(r, key, None) is not None]
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, color, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, color, -1, cv2.LINE_AA)
        ly = top + 20 + 25 * j
        cv2.line(img, (w - right + 15, ly), (w - right + 45, ly), color, 2)
        cv2.putText(img, labels[key], (w - right + 52, ly + 5), font, 0.5, (0, 0, 0), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ResunetError(f"could not encode {path.name}")
    path.write_bytes(buf.tobytes())
