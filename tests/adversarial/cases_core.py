"""Adversarial cases for the project core: links, loops, FIFOs, bombs, corrupt state, ENOSPC.

Each case is one ``@case`` function (see adversarial_harness); add a case by adding one.
"""
from __future__ import annotations

import errno
import json
import os
import struct
import time
import zlib

import numpy as np
import tifffile
from adversarial_harness import Arena, case

from resunet_gui.annotation.session import EditSession
from resunet_gui.core import journal as journal_mod
from resunet_gui.core.errors import ImageReadError, ProjectStateError
from resunet_gui.core.imageio import read_image
from resunet_gui.core.journal import Journal
from resunet_gui.core.project import Project
from resunet_gui.core.types import BBox


def _opened(arena: Arena, **kw) -> Project:  # noqa: ANN003
    return Project.open(arena.project, **kw)


def _journal_path(arena: Arena, stem: str):  # noqa: ANN202
    return Journal(arena.state_dir / "journal").path_for(stem)


def _first_open(arena: Arena) -> None:
    with _opened(arena):
        pass


# ---- links inside .resunet/ -----------------------------------------------------------------
@case("lock is a symlink to a file outside")
def lock_symlink(arena: Arena) -> None:
    arena.state_dir.mkdir()
    (arena.state_dir / "lock").symlink_to(arena.victim)
    with _opened(arena) as p:
        assert p.read_only and "symbolic link" in (p.read_only_reason or "")


@case("lock is a dangling symlink to a path outside")
def lock_dangling(arena: Arena) -> None:
    arena.state_dir.mkdir()
    (arena.state_dir / "lock").symlink_to(arena.outside / "planted")
    with _opened(arena) as p:
        assert p.read_only


@case("lock is a FIFO")
def lock_fifo(arena: Arena) -> None:
    arena.state_dir.mkdir()
    os.mkfifo(arena.state_dir / "lock")
    with _opened(arena) as p:
        assert p.read_only


@case(".resunet is a symlink to a folder outside")
def state_dir_symlink(arena: Arena) -> None:
    (arena.project / ".resunet").symlink_to(arena.outside)
    with _opened(arena) as p:
        assert p.read_only


@case("journal is a symlink to a file outside, then a stroke")
def journal_symlink(arena: Arena) -> None:
    _first_open(arena)
    path = _journal_path(arena, "b")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(arena.victim)
    with _opened(arena) as p:
        session = EditSession(p, "b", autosave_delay_s=60)
        arena.paint(session, "b", BBox(2, 2, 8, 8), 1)
        assert session.last_error is not None and "symbolic link" in str(session.last_error)
        assert session.close()  # the mask itself is saved: the stroke is not lost


@case("journal is a symlink to /dev/zero")
def journal_dev_zero(arena: Arena) -> None:
    _first_open(arena)
    path = _journal_path(arena, "b")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")
    with _opened(arena) as p:
        EditSession(p, "b", autosave_delay_s=60)  # StorageError: a clean refusal


@case("journal folder is a symlink to a folder outside")
def journal_dir_symlink(arena: Arena) -> None:
    _first_open(arena)
    (arena.state_dir / "journal").symlink_to(arena.outside)
    with _opened(arena) as p:
        assert p.read_only and "journal" in (p.read_only_reason or "")
        p.journal.append("b", BBox(0, 0, 2, 2), np.ones((2, 2), np.uint8))


@case("models folder is a symlink to a folder outside")
def models_dir_symlink(arena: Arena) -> None:
    arena.state_dir.mkdir()
    (arena.state_dir / "models").symlink_to(arena.outside)
    with _opened(arena) as p:
        assert p.read_only and "models" in (p.read_only_reason or "")


@case("project.json is a symlink to a file outside")
def state_symlink(arena: Arena) -> None:
    _first_open(arena)
    state = arena.state_dir / "project.json"
    planted = arena.root / "planted.json"  # a valid state: the link is the only problem
    planted.write_bytes(state.read_bytes())
    before = planted.read_bytes(), planted.stat().st_mtime_ns
    state.unlink()
    state.symlink_to(planted)
    try:
        with _opened(arena) as p:
            p.set_status("b", "done")
    finally:
        assert (planted.read_bytes(), planted.stat().st_mtime_ns) == before


@case("project.json is a FIFO")
def state_fifo(arena: Arena) -> None:
    _first_open(arena)
    (arena.state_dir / "project.json").unlink()
    os.mkfifo(arena.state_dir / "project.json")
    _opened(arena, read_only=True).close()


@case("state log is a symlink to a file outside, then a status change")
def state_log_symlink(arena: Arena) -> None:
    _first_open(arena)
    (arena.state_dir / "state.log").symlink_to(arena.victim)
    with _opened(arena) as p:
        p.set_status("b", "done")


# ---- images: loops, FIFOs, bombs, odd TIFFs ------------------------------------------------
@case("symlink loop a.png -> b.png -> a.png in images/, then export")
def image_link_loop(arena: Arena) -> None:
    images = arena.project / "images"
    (images / "x1.png").symlink_to("x2.png")
    (images / "x2.png").symlink_to("x1.png")
    with _opened(arena) as p:
        assert "x1" not in p.stems() and any("loop" in w for w in p.warnings)
    assert arena.cli("export", arena.project, "--format", "png", "--include", "all",
                     "--out", arena.root / "export") == 0


@case("images/sub -> . with a recursive open")
def image_dir_loop(arena: Arena) -> None:
    (arena.project / "images" / "sub").symlink_to(".")
    with Project.open(arena.project, recursive=True) as p:
        assert sorted(p.stems()) == ["a", "b", "c"]


@case("FIFO named like an image, sorting first")
def image_fifo(arena: Arena) -> None:
    os.mkfifo(arena.project / "images" / "0.png")
    with _opened(arena) as p:
        assert "0" not in p.stems()
    try:
        read_image(arena.project / "images" / "0.png")
    except ImageReadError:
        pass
    else:
        raise AssertionError("a FIFO was read as an image")


def _png_bomb(path, w: int, h: int) -> None:  # noqa: ANN001
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\x00" * (w + 1) * 64, 9)  # a few rows; the header promises w x h
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@case("decompression bomb PNG (20000x20000 in a tiny file)")
def png_bomb(arena: Arena) -> None:
    _png_bomb(arena.project / "images" / "bomb.png", 20000, 20000)
    try:
        read_image(arena.project / "images" / "bomb.png")
    except ImageReadError as exc:
        assert "megapixel" in str(exc), exc
    else:
        raise AssertionError("a 400-megapixel image was decoded")


@case("5-channel planar TIFF")
def tiff_five_channels(arena: Arena) -> None:
    path = arena.project / "images" / "five.tif"
    tifffile.imwrite(path, np.zeros((5, 16, 24), np.uint8), photometric="minisblack",
                     planarconfig="separate")
    try:
        read_image(path)
    except ImageReadError as exc:
        assert "5 channels" in str(exc), exc


# ---- corrupt state -------------------------------------------------------------------------
@case("project.json is garbage: open, export without and with --recover")
def state_garbage(arena: Arena) -> None:
    _first_open(arena)
    (arena.state_dir / "project.json").write_bytes(b"\x00{not json")
    try:
        _opened(arena).close()
    except ProjectStateError:
        pass
    else:
        raise AssertionError("a garbage project.json was accepted")
    out = arena.root / "export"
    assert arena.cli("export", arena.project, "--format", "png", "--include", "all", "--out", out) == 1
    assert arena.cli("export", arena.project, "--format", "png", "--include", "all", "--out", out,
                     "--recover") == 0
    assert list(arena.state_dir.glob("project.json.corrupt-*"))


@case("project.json truncated in half")
def state_truncated(arena: Arena) -> None:
    _first_open(arena)
    state = arena.state_dir / "project.json"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    _opened(arena).close()


@case("project.json valid JSON of the wrong shape")
def state_wrong_shape(arena: Arena) -> None:
    _first_open(arena)
    (arena.state_dir / "project.json").write_text(json.dumps(
        {"schema_version": 1, "images": {"a": {"status": "sideways"}}}))
    _opened(arena).close()


@case("journal damaged in the middle: earlier strokes kept, a copy kept")
def journal_damaged(arena: Arena) -> None:
    with _opened(arena) as p:
        session = EditSession(p, "b", autosave_delay_s=60)
        for i in range(4):
            arena.paint(session, "b", BBox(2 + 6 * i, 2, 6 + 6 * i, 6), 1)
        session._debouncer.cancel()  # a crash: the mask was never saved, only journalled
        path = p.journal.path_for("b")
        p.journal.close()
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # damage the last record: the first three must still come back
    path.write_bytes(bytes(data + b"\x00" * 64))
    arena.painted.pop()  # that stroke is knowingly destroyed by this case
    with _opened(arena) as p:
        session = EditSession(p, "b", autosave_delay_s=60)
        assert session.recovered_steps == 3, session.recovered_steps
        assert "3 stroke(s)" in (session.recovery_message or "")
        assert list(path.parent.glob(path.name + journal_mod.DAMAGED + "*"))
        assert session.close()


@case("state log with a torn last record")
def state_log_torn(arena: Arena) -> None:
    with _opened(arena) as p:
        p.set_status("b", "done")
        p._log.close()
        with open(arena.state_dir / "state.log", "ab") as fh:
            fh.write(b"\x40\x00\x00\x00garbage")
        p._write_full = lambda: None  # a kill: close() must not fold the log in
    with _opened(arena, read_only=True) as p:
        assert p.entry("b").status.value == "done"


# ---- disk full without tmpfs -----------------------------------------------------------------
def _enospc(*_a: object, **_k: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@case("disk full on every write while painting, then space comes back")
def enospc_painting(arena: Arena) -> None:
    real_write = os.write
    with _opened(arena) as p:
        session = EditSession(p, "b", autosave_delay_s=60)
        os.write = _enospc  # type: ignore[assignment]
        try:
            arena.paint(session, "b", BBox(2, 2, 8, 8), 1)
            assert not session.save_now()
            assert "no space left" in str(session.last_error).lower()
        finally:
            os.write = real_write  # type: ignore[assignment]
        assert session.close()


@case("disk full at os.replace while saving the mask (journal still works)")
def enospc_replace(arena: Arena) -> None:
    real_replace = os.replace
    with _opened(arena) as p:
        session = EditSession(p, "b", autosave_delay_s=60)
        arena.paint(session, "b", BBox(2, 2, 8, 8), 1)
        os.replace = _enospc  # type: ignore[assignment]
        try:
            assert not session.save_now()
            session._debouncer.cancel()  # then the app is killed: only the journal remains
        finally:
            os.replace = real_replace  # type: ignore[assignment]
        p.journal.close()


@case("disk full during a CLI export names the file")
def enospc_export(arena: Arena) -> None:
    from pathlib import Path

    real = Path.write_bytes
    Path.write_bytes = lambda self, data: _enospc()  # type: ignore[assignment,method-assign]
    try:
        rc = arena.cli("export", arena.project, "--format", "png", "--include", "all",
                       "--out", arena.root / "export")
    finally:
        Path.write_bytes = real  # type: ignore[method-assign]
    assert rc == 1 and "()" not in arena.cli_output[-1] and ".png" in arena.cli_output[-1]


# ---- leftovers and small things ------------------------------------------------------------
@case("leftover export staging and partial model save are cleaned")
def leftovers(arena: Arena) -> None:
    staging = arena.project / "exports" / ".coco.tmp-0123abcd"
    (staging / "images").mkdir(parents=True)
    (staging / "images" / "a.png").write_bytes(b"x" * 100)
    old = time.time() - 7200
    for p in (staging / "images" / "a.png", staging / "images", staging):
        os.utime(p, (old, old))
    models = arena.state_dir / "models"
    models.mkdir(parents=True)
    partial = models / ".v003.safetensors.0123456789ab.tmp"
    partial.write_bytes(b"\x00" * 1000)
    _first_open(arena)
    assert not staging.exists() and not partial.exists()


@case("classes.json edited after the first open")
def classes_edited(arena: Arena) -> None:
    classes = arena.project / "classes.json"
    classes.write_text(json.dumps({"classes": [{"id": 0, "name": "bg", "color": [0, 0, 0]},
                                               {"id": 1, "name": "cell", "color": [255, 0, 0]}]}))
    _first_open(arena)
    classes.write_text(json.dumps({"classes": [{"id": 0, "name": "bg", "color": [0, 0, 0]},
                                               {"id": 1, "name": "cell", "color": [255, 0, 0]},
                                               {"id": 2, "name": "nucleus", "color": [0, 0, 255]}]}))
    with _opened(arena) as p:
        assert [c.name for c in p.classes] == ["bg", "cell", "nucleus"]


@case("ignore_index equal to a class id")
def ignore_index_clash(arena: Arena) -> None:
    (arena.project / "classes.json").write_text(json.dumps(
        {"classes": [{"id": 0, "name": "bg", "color": [0, 0, 0]},
                     {"id": 1, "name": "cell", "color": [255, 0, 0]}], "ignore_index": 1}))
    _opened(arena).close()
    raise AssertionError("ignore_index 1 = class 'cell' was accepted")


@case("split.csv with unknown stems and split names")
def split_unknown(arena: Arena) -> None:
    (arena.project / "split.csv").write_text("stem,split\na,train\nb,tset\nzzz,val\n")
    with _opened(arena) as p:
        text = " ".join(p.warnings)
        assert "'tset'" in text and "'zzz'" in text, p.warnings
