"""``manifest.json``: what was exported, from where, by which app, and a hash of every file.

It lets whoever receives the dataset check it arrived intact and trace each mask back to
its review status and the model version that suggested it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from resunet_gui import __version__
from resunet_gui.core.types import IGNORE_INDEX, ClassSpec

from .base import ExportOptions

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ManifestImage:
    stem: str
    name: str
    split: str
    status: str
    group: str | None
    model_version: str | None
    corrected_fraction: float | None


def build_manifest(*, fmt: str, source: str | None, classes: list[ClassSpec],
                   options: ExportOptions, images: list[ManifestImage],
                   files: dict[str, str], ignore_note: str, warnings: list[str],
                   format_info: dict[str, Any] | None = None,
                   skipped: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Plain-JSON manifest; ``files`` maps relative path -> sha256 (the manifest excluded)."""
    return {
        "app": "resunet-gui",
        "app_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "format": fmt,
        "source": source,
        "options": {
            "include": options.include,
            "split": list(options.split) if options.split is not None else "project",
            "seed": options.seed,
            "coco_mode": options.coco_mode,
            "simplify_px": options.simplify_px,
            "max_points": options.max_points,
            "min_area_px2": options.min_area_px2,
            "voc_jpeg": options.voc_jpeg,
            "skip_bad": options.skip_bad,
            "follow_symlinks": options.follow_symlinks,
        },
        "classes": [c.to_dict() for c in classes],
        "ignore_index": IGNORE_INDEX,
        "ignore_handling": ignore_note,
        "images": [
            {
                "stem": im.stem, "file": im.name, "split": im.split, "status": im.status,
                "group": im.group, "model_version": im.model_version,
                "corrected_fraction": im.corrected_fraction,
            }
            for im in images
        ],
        "format_info": dict(format_info or {}),
        "skipped": list(skipped or []),
        "warnings": list(warnings),
        "files": {k: files[k] for k in sorted(files)},
    }


def write_manifest(root: Path, manifest: dict[str, Any]) -> Path:
    path = root / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def verify_manifest(root: Path) -> list[str]:
    """Relative paths whose content no longer matches the manifest (or that are missing/extra)."""
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    listed: dict[str, str] = manifest["files"]
    bad = []
    for rel, digest in listed.items():
        p = root / rel
        if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != digest:
            bad.append(rel)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    bad.extend(sorted(on_disk - set(listed) - {MANIFEST_NAME}))
    return bad
