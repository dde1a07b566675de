"""Pascal VOC segmentation: ``JPEGImages/``, ``SegmentationClass/`` palette PNGs, ``ImageSets``.

Images are copied byte for byte under their own suffix by default, so nothing is lost
(medical PNG/TIFF stay lossless). VOC loaders (torchvision ``VOCSegmentation`` among them)
open ``JPEGImages/<id>.jpg``; ``options.voc_jpeg`` writes every image there as JPEG:
JPEG sources are still copied, others re-encoded (quality 95; 16-bit through the display
window), each re-encoding listed in the manifest and warned about.
Masks are palette PNGs whose pixel values are our class ids; 255 stays 255, which is
exactly VOC's own "void/ignore" label. ``labelmap.txt`` names the classes (CVAT style).
"""
from __future__ import annotations

import cv2
import numpy as np

from resunet_gui.core.errors import ExportError
from resunet_gui.core.imageio import read_image

from .base import SPLITS, ExportItem, Writer
from .png_masks import encode_palette_png, palette_for
from .registry import register

JPEG_QUALITY = 95


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of an HxW or HxWx3 (RGB) uint8 array."""
    arr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(arr), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ExportError(f"cannot encode an image of shape {image.shape} as JPEG")
    return buf.tobytes()


@register
class VocWriter(Writer):
    name = "voc"
    description = "Pascal VOC: JPEGImages/, SegmentationClass/ palette PNG, ImageSets/Segmentation"
    ignore_note = "255 stays 255 in SegmentationClass, as in VOC (void)"

    def begin(self) -> None:
        self.palette = palette_for(self.classes)
        self.reencoded: list[str] = []
        self.info.update({"image_encoding": "jpeg" if self.options.voc_jpeg else "copy",
                          "jpeg_quality": JPEG_QUALITY, "reencoded": self.reencoded})

    def write(self, item: ExportItem) -> None:
        suffix = item.image_path.suffix.lower() or ".png"
        if suffix in (".jpg", ".jpeg"):
            self.put_copy(f"JPEGImages/{item.name}.jpg", item.image_path)
        elif not self.options.voc_jpeg:
            self.put_copy(f"JPEGImages/{item.name}{suffix}", item.image_path)
        else:
            loaded = read_image(item.image_path)
            pixels = loaded.raw if loaded.raw.dtype == np.uint8 else loaded.display
            self.put_bytes(f"JPEGImages/{item.name}.jpg", encode_jpeg(pixels))
            self.reencoded.append(item.name)
        self.put_bytes(f"SegmentationClass/{item.name}.png",
                       encode_palette_png(item.mask, self.palette))

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        if self.reencoded:
            self.warnings.append(
                f"voc: {len(self.reencoded)} non-JPEG image(s) re-encoded as JPEG quality {JPEG_QUALITY} "
                "(lossy; listed in manifest format_info.reencoded)")
        for split in SPLITS:
            names = [name for name, s, _ in items if s == split]
            self.put_text(f"ImageSets/Segmentation/{split}.txt", "".join(f"{n}\n" for n in names))
        trainval = [name for name, s, _ in items if s in ("train", "val")]
        self.put_text("ImageSets/Segmentation/trainval.txt", "".join(f"{n}\n" for n in trainval))
        lines = ["# label:color_rgb:parts:actions"]
        lines += [f"{c.name.replace(':', '_')}:{','.join(str(v) for v in c.color)}::"
                  for c in self.classes]
        self.put_text("labelmap.txt", "\n".join(lines) + "\n")
