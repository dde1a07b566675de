"""Adversarial cases for export and model files: --overwrite onto someone's folder, bad files
in an export, corrupt checkpoints (issue 15 items 3 and 11, plus corrupt safetensors/bombs).

Each case is one ``@case`` function (see adversarial_harness). The folders handed to
``--overwrite`` are registered with ``arena.protect``: a deleted file there is data lost.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
from adversarial_harness import Arena, case
from cases_core import _png_bomb


def _export(arena: Arena, out: Path, *extra: str, fmt: str = "png") -> int:
    return arena.cli("export", arena.project, "--format", fmt, "--include", "all",
                     "--split", "1,0,0", "--out", out, *extra)


def _users_folder(arena: Arena, manifest: dict | None = None) -> Path:
    """A folder of the user's own work (a thesis), optionally with a planted manifest.json."""
    folder = arena.root / "thesis"
    (folder / "figures").mkdir(parents=True)
    (folder / "thesis.docx").write_bytes(b"PK\x03\x04 years of work")
    (folder / "figures" / "fig1.png").write_bytes(b"\x89PNG figure")
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest))
    arena.protect(folder)
    return folder


# ---- item 3: --overwrite deletes only a previous export ------------------------------------
@case("export --overwrite into a folder holding a thesis")
def overwrite_thesis(arena: Arena) -> None:
    assert _export(arena, _users_folder(arena), "--overwrite") != 0
    assert "--overwrite" in arena.cli_output[-1]


@case("export --overwrite into a thesis folder with another app's manifest.json")
def overwrite_foreign_manifest(arena: Arena) -> None:
    out = _users_folder(arena, {"app": "other", "files": {}})
    assert _export(arena, out, "--overwrite") != 0


@case("export --overwrite into a thesis folder with a forged resunet-gui manifest listing it")
def overwrite_forged_manifest(arena: Arena) -> None:
    listed = {"thesis.docx": "0" * 64, "figures/fig1.png": "0" * 64}
    out = _users_folder(arena, {"app": "resunet-gui", "files": listed})
    assert _export(arena, out, "--overwrite") != 0


def _previous_export(arena: Arena) -> Path:
    out = arena.root / "export"
    assert _export(arena, out) == 0
    return out


@case("export --overwrite onto a previous export the user added files to")
def overwrite_extra_files(arena: Arena) -> None:
    out = _previous_export(arena)
    (out / "notes.txt").write_text("my notes on the labels")
    arena.protect(out)
    assert _export(arena, out, "--overwrite") != 0


@case("export --overwrite onto a previous export whose mask the user edited by hand")
def overwrite_edited_export(arena: Arena) -> None:
    edited = next((_previous_export(arena) / "masks").glob("*.png"))
    edited.write_bytes(edited.read_bytes() + b"hand-fixed")
    arena.protect(edited.parent)
    assert _export(arena, edited.parents[1], "--overwrite") != 0


@case("export --overwrite onto a previous export holding a link to a folder outside")
def overwrite_link_inside(arena: Arena) -> None:
    out = _previous_export(arena)
    (out / "images" / "more").symlink_to(arena.outside)
    assert _export(arena, out, "--overwrite") != 0


@case("export --overwrite where manifest.json is a link to a file outside")
def overwrite_manifest_link(arena: Arena) -> None:
    out = _users_folder(arena)
    (out / "manifest.json").symlink_to(arena.victim)
    assert _export(arena, out, "--overwrite") != 0


@case("export --out is a link to an empty folder outside")
def export_out_link(arena: Arena) -> None:
    target = arena.root / "elsewhere"
    target.mkdir()
    (arena.root / "out").symlink_to(target)
    _export(arena, arena.root / "out")


@case("export --out is a regular file")
def export_out_file(arena: Arena) -> None:
    assert _export(arena, arena.victim) != 0


# ---- item 11: bad files in an export --------------------------------------------------------
def _bad_files(arena: Arena) -> None:
    image = arena.project / "images" / "b.png"
    image.write_bytes(image.read_bytes()[:60])  # truncated
    (arena.project / "masks" / "b.png").write_bytes(np.ones((32, 32), np.uint8).tobytes())
    (arena.project / "masks" / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")


@case("export with a truncated image and an unreadable mask: every bad file listed")
def export_bad_files(arena: Arena) -> None:
    _bad_files(arena)
    for fmt in ("png", "coco", "yolo", "voc", "labelme", "nifti"):
        assert _export(arena, arena.root / fmt, fmt=fmt) != 0
        text = arena.cli_output[-1]
        assert "b.png" in text and "c.png" in text and "--skip-bad" in text, text


@case("export --skip-bad with a truncated image and an unreadable mask: recorded")
def export_skip_bad(arena: Arena) -> None:
    _bad_files(arena)
    out = arena.root / "export"
    assert _export(arena, out, "--skip-bad", fmt="coco") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(s["stem"] for s in manifest["skipped"]) == ["b", "c"]
    assert [im["stem"] for im in manifest["images"]] == ["a"]


@case("export --skip-bad with a decompression-bomb PNG")
def export_bomb(arena: Arena) -> None:
    _png_bomb(arena.project / "images" / "bomb.png", 20000, 20000)
    (arena.project / "masks" / "bomb.png").write_bytes((arena.project / "masks" / "a.png").read_bytes())
    out = arena.root / "export"
    assert _export(arena, out) != 0
    assert _export(arena, out, "--skip-bad") == 0
    skipped = json.loads((out / "manifest.json").read_text())["skipped"]
    assert [s["stem"] for s in skipped] == ["bomb"]


@case("export with an image that is a folder named x.png")
def export_image_folder(arena: Arena) -> None:
    (arena.project / "images" / "x.png").mkdir()
    (arena.project / "masks" / "x.png").write_bytes((arena.project / "masks" / "a.png").read_bytes())
    assert _export(arena, arena.root / "export") == 0


# ---- corrupt checkpoints given on the command line -------------------------------------------
def _predict_with(arena: Arena, data: bytes) -> int:
    ckpt = arena.root / "model.safetensors"
    ckpt.write_bytes(data)
    return arena.cli("predict", arena.project, "--checkpoint", ckpt, "--device", "cpu",
                     "--out", arena.root / "pred")


@case("predict --checkpoint with garbage bytes")
def predict_garbage(arena: Arena) -> None:
    assert _predict_with(arena, os.urandom(4096)) != 0


@case("predict --checkpoint with an empty file")
def predict_empty(arena: Arena) -> None:
    assert _predict_with(arena, b"") != 0


@case("predict --checkpoint whose header claims 2**60 bytes")
def predict_huge_header(arena: Arena) -> None:
    assert _predict_with(arena, struct.pack("<Q", 2**60) + b"{}") != 0


@case("predict --checkpoint with a valid header but no tensors")
def predict_no_tensors(arena: Arena) -> None:
    header = json.dumps({"__metadata__": {"resunet_gui": "{}"}}).encode()
    assert _predict_with(arena, struct.pack("<Q", len(header)) + header) != 0


@case("train --checkpoint that is a truncated safetensors file")
def train_truncated_checkpoint(arena: Arena) -> None:
    import torch
    from safetensors.torch import save_file

    ckpt = arena.root / "model.safetensors"
    save_file({"w": torch.zeros(64, 64)}, str(ckpt))
    ckpt.write_bytes(ckpt.read_bytes()[:-100])
    assert arena.cli("train", arena.project, "--checkpoint", ckpt, "--steps", "1",
                     "--device", "cpu", "--out", arena.root / "m.safetensors") != 0
