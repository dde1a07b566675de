"""Adversarial cases for the data a session reads: read-only projects, misfit masks, values
that are no class, damaged model versions, NaN TIFFs (issue 15 items 2, 4, 5, 6, 8).

Each case is one ``@case`` function (see adversarial_harness). Imports of things only the
fixed code has stay inside the cases, so the file also loads against older code.
A read-only mount cannot be made without root (and root ignores chmod): the cases raise
EROFS/EACCES/ENOSPC where the app takes its lock or writes, as the kernel would.
"""
from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import tifffile
from adversarial_gui import mouse_stroke, open_image, wait_until, window_for
from adversarial_harness import Arena, CaseFailed, case

from resunet_gui.core.imageio import read_image, read_mask
from resunet_gui.core.lock import ProjectLock
from resunet_gui.core.project import Project
from resunet_gui.core.types import BBox


@contextlib.contextmanager
def patched(owner: object, name: str, value: object) -> Iterator[None]:
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def _raising(code: int) -> Callable[..., None]:
    def fail(*_a: object, **_k: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


def _editor():  # noqa: ANN202
    from resunet_gui.qt.editor import Editor

    return Editor()


# ---- item 2: sessions that cannot write ----------------------------------------------------
@case("project held by another instance: the window refuses strokes, Retry after it quits")
def held_by_another(arena: Arena) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    other = Project.open(arena.project)
    with window_for(arena) as window:
        open_image(window, arena.project, "b")
        mouse_stroke(arena, window, 4, 4, 28, 28)  # kept if accepted: then it must be saved
        window.select_stem("c")
        wait_until(lambda: window.editor.stem == "c")
        window.select_stem("b")
        wait_until(lambda: window.editor.stem == "b" and window.editor.document is not None)
        assert not arena.painted, "a read-only window accepted a stroke"
        assert "Read-only" in window.banner.text.text()
        other.close()
        QTest.mouseClick(window.banner.button, Qt.MouseButton.LeftButton)
        wait_until(lambda: window.editor.document is not None and window.editor.editable)
        window.palette_widget.classSelected.emit(1)
        mouse_stroke(arena, window, 4, 4, 28, 28)
        assert arena.painted, "the stroke after Retry was refused"
    assert not arena.messages, arena.messages  # closing never says "Could not save"


def _read_only_at_open(code: int) -> Callable[[Arena], None]:
    def run(arena: Arena) -> None:
        from resunet_gui.annotation.session import EditSession

        editor = _editor()
        with patched(ProjectLock, "acquire", _raising(code)):
            editor.open_project(arena.project)
            assert editor.show("b") and not editor.editable
            assert editor.project.read_only and editor.project.read_only_reason
            editor.close_project()  # nothing edited: nothing to complain about
        with Project.open(arena.project) as p:  # fixed: writable again, strokes are saved
            session = EditSession(p, "b", autosave_delay_s=60)
            arena.paint(session, "b", BBox(2, 2, 8, 8), 1)
            assert session.close()

    return run


for _code, _what in ((errno.EROFS, "a read-only file system"), (errno.EACCES, "no permission"),
                     (errno.ENOSPC, "a full disk")):
    case(f"first open on {_what}: editing is off, nothing accepted")(_read_only_at_open(_code))


@case("disk full at first open, then freed: Retry makes the same session writable")
def disk_full_then_freed(arena: Arena) -> None:
    from resunet_gui.annotation.session import EditSession

    with patched(ProjectLock, "acquire", _raising(errno.ENOSPC)):
        p = Project.open(arena.project)
        assert p.read_only
    with p:
        assert p.retry_write_access() and not p.read_only
        session = EditSession(p, "b", autosave_delay_s=60)
        arena.paint(session, "b", BBox(2, 2, 8, 8), 1)
        assert session.close()


@case("disk fills during a session (mask and journal), image switches, then space returns")
def disk_fills_mid_session(arena: Arena) -> None:
    editor = _editor()
    editor.open_project(arena.project)
    assert editor.show("b")
    with patched(os, "write", _raising(errno.ENOSPC)):
        arena.paint(editor.session, "b", BBox(2, 2, 10, 10), 1)
        assert editor.show("c") and editor.show("b")  # the failed save on leaving drops nothing
        assert (editor.document.labels[2:10, 2:10] == 1).any(), "edits gone after a switch"
        assert editor.show("c")
    assert editor.retry_saves(), "space came back but the edits were not saved"
    assert not editor.project.read_only
    editor.close_project()
    assert (read_mask(arena.project / "masks" / "b.png")[2:10, 2:10] == 1).all()


# ---- items 4 and 5: masks that do not fit ---------------------------------------------------
def _misfit(arena: Arena) -> None:
    cv2.imwrite(str(arena.project / "masks" / "b.png"), np.ones((48, 200), np.uint8))


def _sevens(arena: Arena) -> None:
    mask = np.zeros((32, 32), np.uint8)
    mask[:6, :6], mask[20:, 20:] = 7, 1
    cv2.imwrite(str(arena.project / "masks" / "b.png"), mask)


def _export(arena: Arena, *extra: str) -> int:
    return arena.cli("export", arena.project, "--format", "coco", "--include", "all",
                     "--split", "1,0,0", "--out", arena.root / "export", *extra)


def _train(arena: Arena) -> int:
    return arena.cli("train", arena.project, "--steps", "1", "--weights", "none", "--device",
                     "cpu", "--crop", "32", "--batch-size", "2",
                     "--out", arena.root / "m.safetensors")


@case("mask 200x48 for a 32x32 image: the editor refuses it, the next image opens")
def misfit_editor(arena: Arena) -> None:
    _misfit(arena)
    editor = _editor()
    editor.open_project(arena.project)
    assert not editor.show("b"), "a mask of another size was opened for editing"
    assert editor.show("c") and editor.show("a")
    editor.close_project()


@case("mask 200x48 for a 32x32 image: export names it, --skip-bad exports the rest")
def misfit_export(arena: Arena) -> None:
    _misfit(arena)
    assert _export(arena) != 0 and "200x48" in arena.cli_output[-1]
    assert _export(arena, "--skip-bad") == 0


@case("mask 200x48 for a 32x32 image: train skips it", slow=True)
def misfit_train(arena: Arena) -> None:
    _misfit(arena)
    assert _train(arena) == 0


@case("mask 200x48 for a 32x32 image: the background trainer goes on", slow=True)
def misfit_background_trainer(arena: Arena) -> None:
    from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine
    from resunet_gui.engine.settings import TrainConfig

    _misfit(arena)
    cv2.imwrite(str(arena.project / "masks" / "c.png"), np.eye(32, dtype=np.uint8))
    with Project.open(arena.project) as p:
        engine = ProjectEngine(p, EngineConfig(device="cpu", weights="none", train=TrainConfig(
            crop=32, batch_size=2, steps_per_chunk=1)))
        engine.notify_done(p.stems())
        status, _ = engine.train_chunk()
        assert status.step >= 1 and np.isfinite(status.loss)
        assert engine.status().done_images == 2


@case("mask value 7 in a 2-class project: export refuses by default, maps on request")
def sevens_export(arena: Arena) -> None:
    _sevens(arena)
    assert _export(arena) != 0 and "7" in arena.cli_output[-1]
    assert _export(arena, "--unknown-values", "ignore") == 0


@case("mask value 7 in a 2-class project: train treats it as ignore", slow=True)
def sevens_train(arena: Arena) -> None:
    _sevens(arena)
    assert _train(arena) == 0


# ---- item 6: damaged model versions -----------------------------------------------------------
_VERSIONS: dict[str, bytes] = {}


def _two_versions(arena: Arena) -> Project:
    """The arena's project with intact v001 and v002 (current); built once, then copied."""
    if not _VERSIONS:
        import torch
        from test_version_fallback import _meta

        from resunet_gui.engine.versions import VersionStore
        from resunet_gui.model.resunet import ResUNet

        torch.manual_seed(1)
        with Project.open(arena.project) as p:
            store = VersionStore(p.models_dir)
            for _ in range(2):
                store.save(ResUNet(2, decoder_channels=(16, 16, 16, 16, 16)), _meta())
            store.set_current("v002")
            _VERSIONS.update({f.name: f.read_bytes() for f in p.models_dir.iterdir()})
    models = arena.state_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    for name, data in _VERSIONS.items():
        (models / name).write_bytes(data)
    return Project.open(arena.project)


def _engine(project: Project):  # noqa: ANN202
    """The model service must start: an error here leaves the user without a model."""
    from resunet_gui.core.errors import ResunetError
    from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine
    from resunet_gui.engine.settings import TrainConfig

    try:
        return ProjectEngine(project, EngineConfig(device="cpu", weights="none",
                                                   train=TrainConfig(crop=32, batch_size=2)))
    except ResunetError as exc:
        raise CaseFailed(f"the model service did not start: {exc}") from None


def _damaged_version(how: str) -> Callable[[Arena], None]:
    def run(arena: Arena) -> None:
        from test_version_fallback import _damage

        with _two_versions(arena) as p:
            _damage(p, how)
            engine = _engine(p)
            assert engine.model_version() == "v001", engine.model_version()
            assert engine.rollback("v001").name == "v001"
            engine.close()

    return run


for _how in ("garbage", "truncated", "empty", "wrong_shape", "bad_metadata", "huge_sizes",
             "endless_sidecar"):
    case(f"model v002.safetensors {_how.replace('_', ' ')}: serve v001, rollback works",
         slow=True)(
        _damaged_version(_how))


def _bad_current(content: bytes | None) -> Callable[[Arena], None]:
    def run(arena: Arena) -> None:
        with _two_versions(arena) as p:
            current = p.models_dir / "current.json"
            if content is None:
                current.unlink()
            else:
                current.write_bytes(content)
            engine = _engine(p)
            assert engine.model_version() == "v002", engine.model_version()
            assert engine.rollback("v001").name == "v001"
            engine.close()

    return run


for _label, _content in (('naming "../../../victim" (outside models/)', b'{"current": "../../../victim"}'),
                         ("garbage", b"\x00garbage{"), ("missing", None)):
    case(f"models/current.json {_label}: serve the newest intact version", slow=True)(
        _bad_current(_content))


# ---- item 8: NaN / Inf float TIFF ---------------------------------------------------------------
def _nan_tiff(arena: Arena) -> None:
    data = np.linspace(0.0, 1000.0, 32 * 32, dtype=np.float32).reshape(32, 32)
    data[4:12, 4:12], data[20:28, 4:12], data[20:28, 20:28] = np.nan, np.inf, -np.inf
    tifffile.imwrite(arena.project / "images" / "0scan.tif", data)


@case("float TIFF with NaN and Inf pixels: model input finite, window opens it and paints")
def nan_tiff(arena: Arena) -> None:
    _nan_tiff(arena)
    image = read_image(arena.project / "images" / "0scan.tif")
    assert np.isfinite(image.model_input()).all()
    with window_for(arena) as window:
        open_image(window, arena.project, "0scan")
        panel = window.view_panel
        assert panel.level_low.value() < panel.level_high.value()
        mouse_stroke(arena, window, 2, 2, 30, 30)
        assert arena.painted, "the stroke on the NaN TIFF was refused"
