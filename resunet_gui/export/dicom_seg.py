"""DICOM Segmentation objects (highdicom) for images that came from DICOM files.

One SEG per source file, written when the export finishes (a multi-frame file's slices
arrive as separate items): it references the source instance by SOP Instance UID and, for a
multi-frame source, each segmented frame by its frame number, so a PACS or 3D Slicer shows it
over the images it was drawn on. One binary segment per foreground class (background and
ignore pixels belong to no segment); frames without any label are omitted.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from resunet_gui.core.errors import ExportError
from resunet_gui.core.stacks import is_dicom_file, split_slice_path
from resunet_gui.core.types import ClassSpec

from .base import ExportItem, Writer, background_id, safe_name
from .registry import register


def foreground_classes(classes: list[ClassSpec], ignore_index: int) -> list[ClassSpec]:
    """The classes that become segments 1..n, in id order."""
    bg = background_id(classes)
    return [c for c in sorted(classes, key=lambda c: c.id) if c.id != bg and c.id != ignore_index]


def _segment_descriptions(classes: list[ClassSpec]) -> list:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    return [hd.seg.SegmentDescription(
        segment_number=i + 1, segment_label=c.name[:64] or f"class {c.id}",
        segmented_property_category=codes.SCT.Tissue, segmented_property_type=codes.SCT.Tissue,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL) for i, c in enumerate(classes)]


def _explain(exc: Exception) -> str:
    """highdicom's refusals in a user's terms (cine loops and legacy multi-frames)."""
    text = str(exc)
    if "no Frame of Reference" in text:
        return ("it is a multi-frame image without a frame of reference (an ultrasound cine "
                "loop, for example), whose single frames a SEG cannot reference; export it as "
                "PNG instead")
    if "SharedFunctionalGroupsSequence" in text:
        return ("it is a legacy multi-frame image without per-frame geometry, which highdicom "
                "cannot reference frame by frame; export it as PNG instead")
    return text


@register
class DicomSegWriter(Writer):
    name = "dicom_seg"
    description = "DICOM Segmentation objects referencing the source DICOM images (PACS, 3D Slicer)"
    ignore_note = "ignore pixels belong to no segment; background is not a segment"

    def begin(self) -> None:
        self._masks: dict[Path, dict[int, np.ndarray]] = {}
        self._names: dict[Path, str] = {}

    def write(self, item: ExportItem) -> None:
        sliced = split_slice_path(item.image_path)
        if sliced is None or not is_dicom_file(sliced[0]):
            raise ExportError(f"{item.stem} did not come from a DICOM file; DICOM SEG can only "
                              "describe DICOM images (choose another format for the others)")
        file, index = sliced
        self._masks.setdefault(file, {})[index] = item.mask
        if file not in self._names:
            taken = {n.lower() for n in self._names.values()}
            base = name = safe_name(file.stem, "image")
            k = 2
            while name.lower() in taken:
                name, k = f"{base}_{k}", k + 1
            self._names[file] = name

    def finish(self, items: list[tuple[str, str, str | None]]) -> None:
        segments = foreground_classes(self.classes, self.ignore_index)
        if not segments:
            raise ExportError("DICOM SEG needs at least one class besides background")
        for file, masks in self._masks.items():
            self.put_bytes(f"seg/{self._names[file]}_seg.dcm", self._segmentation(file, masks, segments))

    def _segmentation(self, file: Path, masks: dict[int, np.ndarray],
                      segments: list[ClassSpec]) -> bytes:
        import highdicom as hd
        import pydicom

        from resunet_gui import __version__

        source = pydicom.dcmread(file)
        frames = int(source.get("NumberOfFrames") or 1)
        rows, cols = int(source.Rows), int(source.Columns)
        labels = np.zeros((frames, rows, cols, len(segments)), bool)
        for index, mask in masks.items():
            if mask.shape != (rows, cols):
                raise ExportError(f"mask of {file.name} frame {index + 1} is {mask.shape[1]}x"
                                  f"{mask.shape[0]} but the image is {cols}x{rows}")
            for k, c in enumerate(segments):
                labels[index, :, :, k] = mask == c.id
        try:
            seg = hd.seg.Segmentation(
                source_images=[source], pixel_array=labels,
                segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
                segment_descriptions=_segment_descriptions(segments),
                series_instance_uid=hd.UID(), series_number=900, sop_instance_uid=hd.UID(),
                instance_number=1, manufacturer="resunet-gui", manufacturer_model_name="resunet-gui",
                software_versions=str(__version__), device_serial_number="0",
                series_description="resunet-gui labels")
        except (ValueError, AttributeError, TypeError) as exc:
            raise ExportError(f"cannot write a DICOM SEG for {file.name}: {_explain(exc)}") from None
        buf = io.BytesIO()
        seg.save_as(buf)
        return buf.getvalue()
