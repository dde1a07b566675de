"""Our own layout (re-openable as a project): images/, masks/ as palette PNGs, classes.json, split.csv.

Also home of the palette-PNG encoder the VOC writer shares: OpenCV cannot write indexed
PNGs, and a palette PNG shows colours in any viewer while its pixel values stay class ids.
"""
from __future__ import annotations

import csv
import io
import struct
import zlib

import numpy as np

from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

from .base import ExportItem, Writer
from .registry import register

VOID_COLOR = (224, 224, 192)  # Pascal VOC's colour for the 255 "void" label


def palette_for(classes: list[ClassSpec]) -> np.ndarray:
    """256x3 uint8 palette: class colours at their ids, VOC void colour at 255, grey ramp elsewhere."""
    pal = np.zeros((256, 3), np.uint8)
    pal[:, :] = np.arange(256, dtype=np.uint8)[:, None]
    for c in classes:
        if 0 <= c.id < 256:
            pal[c.id] = c.color
    pal[IGNORE_INDEX] = VOID_COLOR
    return pal


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_palette_png(mask: np.ndarray, palette: np.ndarray, level: int = 6) -> bytes:
    """8-bit colour-type-3 PNG whose pixel values are exactly ``mask`` (HxW uint8)."""
    mask = np.ascontiguousarray(mask, np.uint8)
    if mask.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {mask.shape}")
    h, w = mask.shape
    raw = np.zeros((h, w + 1), np.uint8)  # filter byte 0 ("None") before each row
    raw[:, 1:] = mask
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"PLTE", np.ascontiguousarray(palette, np.uint8).tobytes())
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)) + _chunk(b"IEND", b""))


def classes_json(classes: list[ClassSpec]) -> dict:
    return {
        "classes": [c.to_dict() for c in classes],
        "ignore_index": IGNORE_INDEX,
    }


@register
class PngMaskWriter(Writer):
    name = "png"
    description = "indexed PNG masks with palette + classes.json + split.csv (re-opens as a project)"
    ignore_note = "255 stays 255 in the mask PNGs (classes.json: ignore_index 255)"

    def begin(self) -> None:
        self.palette = palette_for(self.classes)

    def write(self, item: ExportItem) -> None:
        suffix = item.image_path.suffix.lower() or ".png"
        self.put_copy(f"images/{item.name}{suffix}", item.image_path)
        self.put_bytes(f"masks/{item.name}.png", encode_palette_png(item.mask, self.palette))

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        self.put_json("classes.json", classes_json(self.classes))
        buf = io.StringIO()
        rows = csv.writer(buf, lineterminator="\n")
        rows.writerow(["stem", "split", "group"])
        rows.writerows([name, split, group or ""] for name, split, group in items)
        self.put_text("split.csv", buf.getvalue())
