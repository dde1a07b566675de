"""(De)serialisation of project state: ``.resunet/project.json``, ``classes.json``, ``split.csv``.

Parsing is defensive: any malformed content raises ``ProjectError`` naming the file, never
a KeyError/TypeError. ``MIGRATIONS`` upgrades older schema versions step by step.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resunet_gui.core.errors import ProjectError
from resunet_gui.core.types import ClassSpec, ImageEntry, ImageStatus

SCHEMA_VERSION = 1
# MIGRATIONS[n] turns a version-n document into a version-(n+1) one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
_DEFAULT_KEYS = "1234567890"
_STATUS = {s.value: s for s in ImageStatus}
SPLIT_NAMES = ("train", "val", "test")


@dataclass
class ProjectState:
    """Contents of project.json once parsed and migrated."""

    classes: list[ClassSpec] | None = None
    ignore_index: int | None = None
    entries: dict[str, ImageEntry] = field(default_factory=dict)
    migrated_from: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _bad(path: Path | str, why: str) -> ProjectError:
    return ProjectError(f"{Path(path).name} is invalid: {why}")


def parse_classes(items: Any, source: Path | str) -> list[ClassSpec]:
    """ClassSpecs from a JSON list of {id, name, color[, key]}; ProjectError when malformed."""
    if not isinstance(items, list) or not items:
        raise _bad(source, "'classes' must be a non-empty list")
    out: list[ClassSpec] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(source, f"class #{i} is not an object")
        cid, name, color = item.get("id", i), item.get("name"), item.get("color", (128, 128, 128))
        if isinstance(cid, bool) or not isinstance(cid, int) or not 0 <= cid <= 254:
            raise _bad(source, f"class #{i} id must be an integer 0-254")
        if not isinstance(name, str) or not name.strip():
            raise _bad(source, f"class #{i} needs a name")
        if (not isinstance(color, (list, tuple)) or len(color) != 3
                or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                           for c in color)):
            raise _bad(source, f"class {name!r} colour must be three integers 0-255")
        key = item.get("key", _DEFAULT_KEYS[i] if i < len(_DEFAULT_KEYS) else None)
        if key is not None and not isinstance(key, str):
            raise _bad(source, f"class {name!r} key must be text")
        out.append(ClassSpec(cid, name, (color[0], color[1], color[2]), key))
    if len({c.id for c in out}) != len(out):
        raise _bad(source, "class ids repeat")
    return out


def classes_to_json(classes: list[ClassSpec]) -> list[dict[str, Any]]:
    return [c.to_dict(with_key=True) for c in classes]


def parse_ignore_index(value: Any, source: Path | str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise _bad(source, "'ignore_index' must be null or an integer 0-255")
    return value


def check_ignore_index(classes: list[ClassSpec], ignore_index: int | None,
                       source: Path | str) -> None:
    """Refuse an ``ignore_index`` that is also a class id: that class would never be learnt."""
    clash = next((c for c in classes if c.id == ignore_index), None)
    if clash is not None:
        raise _bad(source, f"ignore_index {ignore_index} is also the id of class {clash.name!r}; "
                           "pixels of that class would be ignored in training and export")


def load_classes_file(path: Path) -> tuple[list[ClassSpec], int | None]:
    """Read a dataset's classes.json ({"classes": [...], "ignore_index": ...})."""
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ProjectError(f"cannot read {path.name}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(path, f"not valid JSON ({exc})") from None
    if isinstance(obj, list):
        obj = {"classes": obj}
    if not isinstance(obj, dict):
        raise _bad(path, "expected an object with a 'classes' list")
    classes = parse_classes(obj.get("classes"), path)
    ignore_index = parse_ignore_index(obj.get("ignore_index"), path)
    check_ignore_index(classes, ignore_index, path)
    return classes, ignore_index


def _opt_float(value: Any, what: str, source: Path | str) -> float | None:
    if value is None:
        return None
    if type(value) is float and math.isfinite(value):  # fast path: 10,000 entries per open
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(source, f"{what} must be a number")
    return float(value)


def entry_from_json(stem: str, obj: Any, source: Path | str) -> ImageEntry:
    if not isinstance(obj, dict):
        raise _bad(source, f"entry {stem!r} is not an object")
    status = _STATUS.get(obj.get("status", "new"))
    if status is None:
        raise _bad(source, f"entry {stem!r} has unknown status {obj.get('status')!r}")
    relpath, version = obj.get("relpath", ""), obj.get("model_version")
    edits, extra = obj.get("edits", 0), obj.get("extra", {})
    if not isinstance(relpath, str) or (version is not None and not isinstance(version, str)):
        raise _bad(source, f"entry {stem!r} has a malformed path or model version")
    if isinstance(edits, bool) or not isinstance(edits, int) or edits < 0 or not isinstance(extra, dict):
        raise _bad(source, f"entry {stem!r} has malformed edit counts")
    return ImageEntry(
        stem=stem, relpath=relpath, status=status, model_version=version, edits=edits,
        corrected_fraction=_opt_float(obj.get("corrected_fraction"), "corrected_fraction", source),
        created=_opt_float(obj.get("created", 0.0), "created", source) or 0.0,
        updated=_opt_float(obj.get("updated", 0.0), "updated", source) or 0.0,
        extra=extra,
    )


def entry_to_json(e: ImageEntry) -> dict[str, Any]:
    return {"relpath": e.relpath, "status": e.status.value, "model_version": e.model_version,
            "edits": e.edits, "corrected_fraction": e.corrected_fraction,
            "created": e.created, "updated": e.updated, "extra": e.extra}


def migrate(obj: dict[str, Any], source: Path | str) -> tuple[dict[str, Any], int | None]:
    """Bring a document to ``SCHEMA_VERSION``; returns it and the version it started at."""
    version = obj.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _bad(source, "missing or invalid schema_version")
    if version > SCHEMA_VERSION:
        raise ProjectError(f"{Path(source).name} was written by a newer resunet-gui "
                           f"(schema {version} > {SCHEMA_VERSION}); please upgrade")
    start = version
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ProjectError(f"no migration from project schema {version}")
        obj = step(dict(obj))
        version += 1
        obj["schema_version"] = version
    return obj, (start if start != SCHEMA_VERSION else None)


def parse_state(data: bytes, source: Path | str) -> ProjectState:
    """Parse project.json bytes; ProjectError with the reason when anything is off."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _bad(source, f"not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(obj, dict):
        raise _bad(source, "expected a JSON object")
    obj, migrated_from = migrate(obj, source)
    state = ProjectState(migrated_from=migrated_from)
    if obj.get("classes") is not None:
        state.classes = parse_classes(obj["classes"], source)
    state.ignore_index = parse_ignore_index(obj.get("ignore_index"), source)
    if state.classes is not None:
        check_ignore_index(state.classes, state.ignore_index, source)
    images = obj.get("images", {})
    if not isinstance(images, dict):
        raise _bad(source, "'images' must be an object")
    state.entries = {str(stem): entry_from_json(str(stem), e, source) for stem, e in images.items()}
    extra = obj.get("extra", {})
    state.extra = extra if isinstance(extra, dict) else {}
    return state


def dump_state(classes: list[ClassSpec], ignore_index: int | None,
               entries: list[ImageEntry], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "app": "resunet-gui",
        "classes": classes_to_json(classes),
        "ignore_index": ignore_index,
        "images": {e.stem: entry_to_json(e) for e in entries},
        "extra": extra,
    }


def load_split_csv(path: Path) -> tuple[dict[str, tuple[str | None, str | None]], list[str]]:
    """stem -> (split, group) from ``stem,split,group`` rows, plus warnings for bad rows."""
    warnings: list[str] = []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"split.csv ignored: cannot read it ({exc})"]
    out: dict[str, tuple[str | None, str | None]] = {}
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        return {}, [f"split.csv ignored: {exc}"]
    if rows and "stem" not in rows[0]:
        return {}, ["split.csv ignored: it has no 'stem' column"]
    odd_splits: dict[str, int] = {}
    for row in rows:
        stem = (row.get("stem") or "").strip()
        if not stem:
            continue
        if stem in out:
            warnings.append(f"split.csv lists {stem!r} twice; the first row is used")
            continue
        split = (row.get("split") or "").strip() or None
        if split is not None and split not in SPLIT_NAMES:
            odd_splits[split] = odd_splits.get(split, 0) + 1
        out[stem] = (split, (row.get("group") or "").strip() or None)
    for split, n in sorted(odd_splits.items()):
        warnings.append(f"split.csv: unknown split name {split!r} on {n} row(s) (expected "
                        f"{', '.join(SPLIT_NAMES)}); those images are treated as train")
    return out, warnings
