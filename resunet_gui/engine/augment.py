"""Random crops with geometric and photometric augmentation (numpy + cv2).

Scale is applied while cropping (a crop of ``size * s`` pixels resized to ``size``), so
one resize per sample touches only crop-sized arrays even for very large images.
Areas outside the image (padding, rotated corners) are labelled ignore, never background.
"""
from __future__ import annotations

import cv2
import numpy as np

from resunet_gui.core.types import IGNORE_INDEX
from resunet_gui.engine.settings import AugmentConfig


def random_crop(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator,
                scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` crop covering ``size*scale`` source pixels; pads with ignore."""
    h, w = mask.shape
    src = max(1, int(round(size * scale)))
    y0 = int(rng.integers(0, h - src + 1)) if h > src else -int(rng.integers(0, src - h + 1))
    x0 = int(rng.integers(0, w - src + 1)) if w > src else -int(rng.integers(0, src - w + 1))
    c = image.shape[2]
    img: np.ndarray = np.zeros((src, src, c), dtype=np.float32)
    msk: np.ndarray = np.full((src, src), IGNORE_INDEX, dtype=np.uint8)
    sy0, sx0 = max(0, y0), max(0, x0)
    sy1, sx1 = min(h, y0 + src), min(w, x0 + src)
    img[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    msk[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = mask[sy0:sy1, sx0:sx1]
    if src != size:
        interp = cv2.INTER_AREA if src > size else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
        if img.ndim == 2:
            img = img[:, :, None]
        msk = cv2.resize(msk, (size, size), interpolation=cv2.INTER_NEAREST)
    return img, msk


def augment_sample(image: np.ndarray, mask: np.ndarray, cfg: AugmentConfig,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Crop + flips + rot90 + brightness/contrast; image float32 HxWxC in [0, 1]."""
    lo, hi = cfg.scale
    s = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else lo
    img, msk = random_crop(image, mask, cfg.crop, rng, s)
    if cfg.flips:
        if rng.random() < 0.5:
            img, msk = img[:, ::-1], msk[:, ::-1]
        if rng.random() < 0.5:
            img, msk = img[::-1], msk[::-1]
    if cfg.rot90:
        k = int(rng.integers(0, 4))
        if k:
            img, msk = np.rot90(img, k), np.rot90(msk, k)
    if cfg.contrast or cfg.brightness:
        a = 1.0 + rng.uniform(-cfg.contrast, cfg.contrast)
        b = rng.uniform(-cfg.brightness, cfg.brightness)
        m = float(img.mean())
        img = np.clip((img - m) * a + m + b, 0.0, 1.0)
    return np.ascontiguousarray(img, dtype=np.float32), np.ascontiguousarray(msk)
