"""Fuzz: corrupt/truncated PNG, JPEG, TIFF and project.json give typed errors only.

Deterministic byte flips and truncations at many offsets (plus a short hypothesis run);
every outcome must be a clean result or the module's typed error, and no good file on disk
may be written over.
"""
from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resunet_gui.core.errors import ImageReadError, ProjectError
from resunet_gui.core.imageio import encode_png, image_size, read_image, read_mask
from resunet_gui.core.project import Project
from resunet_gui.core.types import ImageStatus


def _sample(kind: str) -> bytes:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    if kind == "png":
        return encode_png(img)
    if kind == "jpeg":
        ok, buf = cv2.imencode(".jpg", img)
        return buf.tobytes()
    bio = io.BytesIO()
    tifffile.imwrite(bio, (img[:, :, 0].astype(np.uint16) * 250), compression="zlib")
    return bio.getvalue()


def _mutations(data: bytes, seed: int):
    """Truncations at ~40 offsets and ~80 byte flips, deterministic."""
    n = len(data)
    for cut in sorted({0, 1, 2, 7, 8, 16, 24, 33, n - 1, *range(0, n, max(1, n // 32))}):
        yield f"trunc@{cut}", data[:cut]
    rng = np.random.default_rng(seed)
    head = list(range(min(n, 64)))  # headers are where parsers get hurt
    for pos in head + [int(p) for p in rng.integers(0, n, 40)]:
        flipped = bytearray(data)
        flipped[pos] ^= int(rng.integers(1, 256))
        yield f"flip@{pos}", bytes(flipped)


def _check_image_bytes(path, data: bytes) -> None:
    path.write_bytes(data)
    for fn in (read_image, image_size, read_mask):
        try:
            out = fn(path)
        except ImageReadError as exc:
            assert str(exc) and path.name in str(exc)
            continue
        if fn is read_image:
            assert out.display.dtype == np.uint8 and out.display.ndim == 3
            x = out.model_input()
            assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
        elif fn is image_size:
            assert all(0 < s <= 30000 for s in out)


@pytest.mark.parametrize("kind, suffix", [("png", ".png"), ("jpeg", ".jpg"), ("tiff", ".tif")])
def test_corrupt_and_truncated_images_raise_only_image_read_error(tmp_path, kind, suffix):
    data = _sample(kind)
    assert read_image(_write(tmp_path / f"good{suffix}", data)).shape == (40, 48)
    for label, mutated in _mutations(data, seed=len(kind)):
        try:
            _check_image_bytes(tmp_path / f"fuzz{suffix}", mutated)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{kind} {label}: {type(exc).__name__}: {exc}")
    assert (tmp_path / f"good{suffix}").read_bytes() == data


def _write(path, data):
    path.write_bytes(data)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(magic=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b""]),
       body=st.binary(max_size=300))
def test_random_bytes_behind_an_image_signature_raise_only_image_read_error(tmp_path, magic, body):
    _check_image_bytes(tmp_path / "h.img", magic + body)


def _tree_digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".resunet" not in p.parts}


def test_corrupt_project_json_gives_project_error_and_overwrites_nothing(tmp_path):
    folder = tmp_path / "proj"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for i in range(3):
        (folder / "images" / f"im{i}.png").write_bytes(encode_png(np.full((8, 8), i, np.uint8)))
    (folder / "masks" / "im0.png").write_bytes(encode_png(np.ones((8, 8), np.uint8)))
    with Project.open(folder) as p:
        p.set_status("im1", ImageStatus.SUGGESTED, model_version="v002")
    state = folder / ".resunet" / "project.json"
    good = state.read_bytes()
    files_before = _tree_digest(folder)
    outcomes = {"opened": 0, "error": 0}
    for label, mutated in _mutations(good, seed=7):
        state.write_bytes(mutated)
        try:
            Project.open(folder).close()
            outcomes["opened"] += 1
        except ProjectError as exc:
            outcomes["error"] += 1
            assert "project.json" in str(exc)
            assert state.read_bytes() == mutated, f"{label}: bad state file was written over"
        except Exception as exc:  # pragma: no cover
            pytest.fail(f"project.json {label}: {type(exc).__name__}: {exc}")
        assert not (folder / ".resunet" / "lock").exists(), f"{label}: lock left behind"
        assert _tree_digest(folder) == files_before, f"{label}: images or masks changed"
    assert outcomes["error"] > 20 and outcomes["opened"] > 0


def test_recover_always_opens_and_keeps_the_bad_file(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "a.png").write_bytes(encode_png(np.zeros((8, 8), np.uint8)))
    Project.open(folder).close()
    state = folder / ".resunet" / "project.json"
    good = state.read_bytes()
    for i, (_label, mutated) in enumerate(list(_mutations(good, seed=11))[::6]):
        state.write_bytes(mutated)
        for old in (folder / ".resunet").glob("project.json.corrupt-*"):
            old.unlink()
        with Project.open(folder, recover=True) as p:
            assert p.stems() == ["a"], i
        aside = list((folder / ".resunet").glob("project.json.corrupt-*"))
        assert not aside or aside[0].read_bytes() == mutated
