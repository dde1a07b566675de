"""Display colours that stay visible on the image: a class whose colour has the image's
dominant hue (red polyps on red tissue) is shown in a colour-blind-safe colour far from
that hue. Only the display changes; the project's classes change when the user edits them.
"""
from __future__ import annotations

import cv2
import numpy as np

from resunet_gui.core.types import ClassSpec

# Okabe & Ito's colour-blind-safe set (blue, bluish green, yellow, sky blue, orange, purple)
OKABE_ITO = ((0, 114, 178), (0, 158, 115), (240, 228, 66), (86, 180, 233), (230, 159, 0),
             (204, 121, 167))
MIN_SATURATED = 0.3  # below this share of coloured pixels the image has no dominant hue
CLOSE_DEGREES = 45.0


def _hue_deg(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """(hue in degrees, saturation 0..1) of one colour."""
    px = np.array([[list(rgb)]], np.uint8)
    h, s, _v = cv2.cvtColor(px, cv2.COLOR_RGB2HSV_FULL)[0, 0]
    return float(h) * 360.0 / 256.0, float(s) / 255.0


def _distance(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def dominant_hue(display: np.ndarray) -> float | None:
    """Circular mean hue (degrees) of the coloured pixels, or None for a grey-ish image."""
    if display.ndim != 3:
        return None
    step = max(1, max(display.shape[:2]) // 256)
    hsv = cv2.cvtColor(np.ascontiguousarray(display[::step, ::step]), cv2.COLOR_RGB2HSV_FULL)
    coloured = (hsv[..., 1] > 60) & (hsv[..., 2] > 40)
    if coloured.mean() < MIN_SATURATED:
        return None
    angles = hsv[..., 0][coloured].astype(np.float64) * 2 * np.pi / 256.0
    return float(np.degrees(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())) % 360)


def visible_colours(classes: list[ClassSpec], display: np.ndarray
                    ) -> tuple[list[ClassSpec], list[str]]:
    """``classes`` with colours too close to the image's hue replaced; and their names."""
    hue = dominant_hue(display)
    if hue is None:
        return list(classes), []
    used = [c.color for c in classes]
    spare = sorted((c for c in OKABE_ITO if c not in used),
                   key=lambda c: -_distance(_hue_deg(c)[0], hue))
    out, changed = [], []
    for spec in classes:
        h, s = _hue_deg(spec.color)
        if spec.id != 0 and s > 0.3 and _distance(h, hue) < CLOSE_DEGREES and spare:
            spec = ClassSpec(spec.id, spec.name, spare.pop(0), spec.key)
            changed.append(spec.name)
        out.append(spec)
    return out, changed
