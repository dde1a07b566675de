"""core.project on synthetic folders: layouts, lazy listing, warnings, lock, state, recovery."""
from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from resunet_gui.core import imageio, project_state
from resunet_gui.core.errors import ProjectError, StorageError
from resunet_gui.core.imageio import encode_png
from resunet_gui.core.project import Project
from resunet_gui.core.storage import StorageConflictError
from resunet_gui.core.types import BBox, ClassSpec, ImageStatus


def _img(h=12, w=16, v=100):
    return encode_png(np.full((h, w, 3), v, np.uint8))


def _plain(tmp_path, names=("a.png", "b.png", "c.png")):
    folder = tmp_path / "plain"
    folder.mkdir()
    for n in names:
        (folder / n).parent.mkdir(parents=True, exist_ok=True)
        (folder / n).write_bytes(_img())
    return folder


def _dataset(tmp_path, n=4, masks=(0, 1)):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        (root / "images" / f"s{i}.png").write_bytes(_img())
        if i in masks:
            (root / "masks" / f"s{i}.png").write_bytes(encode_png(np.full((12, 16), i, np.uint8)))
    (root / "classes.json").write_text(json.dumps({
        "classes": [{"id": 0, "name": "bg", "color": [0, 0, 0]},
                    {"id": 1, "name": "cell", "color": [0, 255, 0]}], "ignore_index": 255}))
    rows = "".join(f"s{i},{'train' if i % 2 else 'val'},g{i // 2}\n" for i in range(n))
    (root / "split.csv").write_text("stem,split,group\n" + rows)
    return root


def test_plain_folder_lists_images_and_round_trips_status_and_masks(tmp_path):
    folder = _plain(tmp_path)
    with Project.open(folder) as p:
        assert p.layout == "plain" and p.stems() == ["a", "b", "c"]
        assert [c.name for c in p.classes] == ["background", "foreground"]
        assert p.entry("a").status == ImageStatus.NEW and p.read_mask("a") is None
        mask = np.zeros((12, 16), np.uint8)
        mask[2:5, 3:9] = 1
        p.save_mask("a", mask)
        p.set_status("a", "done", model_version="v003", corrected_fraction=0.25)
        p.add_edits("a", 4)
    assert p.mask_path("a") == folder / "masks" / "a.png"
    doc = json.loads((folder / ".resunet" / "project.json").read_text())
    assert doc["schema_version"] == project_state.SCHEMA_VERSION
    with Project.open(folder) as p:
        e = p.entry("a")
        assert (e.status, e.model_version, e.corrected_fraction, e.edits) == (ImageStatus.DONE, "v003", 0.25, 4)
        assert e.updated >= e.created > 0
        np.testing.assert_array_equal(p.read_mask("a"), mask)
        assert p.stems_with_status("done") == ["a"] and p.stems() == ["a", "b", "c"]
        assert not (folder / ".resunet" / "lock").exists() or p._lock.held


def test_dataset_layout_imports_masks_classes_and_split(tmp_path):
    root = _dataset(tmp_path)
    with Project.open(root) as p:
        assert p.layout == "dataset" and p.stems() == ["s0", "s1", "s2", "s3"]
        assert p.stems_with_status(ImageStatus.DONE) == ["s0", "s1"]
        assert [c.name for c in p.classes] == ["bg", "cell"] and p.ignore_index == 255
        assert p.classes[1].key == "2"
        assert (p.split_of("s1"), p.group_of("s1")) == ("train", "g0")
        assert p.image_path("s2") == root / "images" / "s2.png"
        assert p.image_size("s2") == (12, 16)


@pytest.mark.parametrize("how", ["in_progress", "new"])
def test_existing_masks_can_be_imported_with_another_status(tmp_path, how):
    with Project.open(_dataset(tmp_path), import_masks_as=how) as p:
        assert p.entry("s0").status == ImageStatus(how)


def test_set_classes_updates_state_and_dataset_classes_json(tmp_path):
    root = _dataset(tmp_path)
    new = [ClassSpec(0, "bg", (0, 0, 0), "1"), ClassSpec(1, "cell", (0, 255, 0), "2"),
           ClassSpec(2, "nucleus", (0, 0, 255), "3")]
    with Project.open(root) as p:
        p.set_classes(new)
    assert [c["name"] for c in json.loads((root / "classes.json").read_text())["classes"]][-1] == "nucleus"
    with Project.open(root) as p:
        assert p.classes == new
    with Project.open(root) as p, pytest.raises(ProjectError, match="repeat"):
        p.set_classes([ClassSpec(0, "x", (0, 0, 0)), ClassSpec(0, "y", (1, 1, 1))])


def test_recursive_option_finds_subfolders_and_reports_collisions(tmp_path):
    folder = _plain(tmp_path, ["a.png", "a.jpg", "sub/b.png", "sub/deep/c.tif", "other/b.png",
                               "masks/a.png"])
    with Project.open(folder) as p:
        assert p.stems() == ["a"]
        assert any("same name" in w and "a.png" in w for w in p.warnings)
    with Project.open(folder, recursive=True) as p:
        assert p.stems() == ["a", "b", "c"]
        assert p.entry("c").relpath == "sub/deep/c.tif"
        assert any("other/b.png" in w for w in p.warnings)
        assert p.entry("a").status == ImageStatus.DONE  # masks/ is the mask folder, not images


def test_odd_names_work_and_unportable_ones_are_reported(tmp_path):
    folder = _plain(tmp_path, ["with space.png", "ünïcødé 細胞.png", "what?.png"])
    with Project.open(folder) as p:
        assert set(p.stems()) == {"with space", "ünïcødé 細胞", "what?"}
        assert any("what?.png" in w for w in p.warnings)
        p.save_mask("ünïcødé 細胞", np.ones((12, 16), np.uint8))
        p.set_status("ünïcødé 細胞", "done")
    with Project.open(folder) as p:
        assert p.entry("ünïcødé 細胞").status == ImageStatus.DONE


def test_broken_and_unreadable_files_are_reported_not_fatal(tmp_path):
    folder = _plain(tmp_path)
    (folder / "empty.png").write_bytes(b"")
    os.symlink(folder / "missing.png", folder / "dangling.png")
    with Project.open(folder) as p:
        assert "empty" in p.stems() and "dangling" not in p.stems()
        assert any("broken links" in w for w in p.warnings)
        with pytest.raises(imageio.ImageReadError, match="empty"):
            p.image_size("empty")


@pytest.mark.slow
def test_open_of_10000_files_never_decodes_an_image(tmp_path, monkeypatch):
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(10_000):
        os.close(os.open(folder / f"img_{i:05d}.png", os.O_CREAT | os.O_WRONLY, 0o644))  # empty: any decode attempt would fail loudly

    def no_decode(*_a, **_k):
        raise AssertionError("Project.open read an image")

    for name in ("read_image", "image_size", "read_mask", "_read_head", "_decode"):
        monkeypatch.setattr(imageio, name, no_decode)
    t0 = time.perf_counter()
    p = Project.open(folder)
    first = time.perf_counter() - t0
    p.close()
    t0 = time.perf_counter()
    p = Project.open(folder)
    again = time.perf_counter() - t0
    p.close()
    print(f"\nProject.open on 10,000 files: first {first * 1000:.0f} ms, reopen {again * 1000:.0f} ms")
    assert len(p.stems()) == 10_000


def test_second_open_in_same_process_is_read_only_and_refuses_writes(tmp_path):
    folder = _plain(tmp_path)
    first = Project.open(folder)
    second = Project.open(folder)
    try:
        assert not first.read_only and second.read_only
        assert f"in use by pid {os.getpid()} on {socket.gethostname()}" in second.warnings[0]
        with pytest.raises(StorageError, match="read-only"):
            second.save_mask("a", np.zeros((12, 16), np.uint8))
        with pytest.raises(StorageError, match="read-only"):
            second.set_status("a", "done")
        with pytest.raises(StorageError):
            second.journal.append("a", BBox(0, 0, 1, 1), np.zeros((1, 1), np.uint8))
    finally:
        second.close()
        first.close()
    with Project.open(folder) as third:
        assert not third.read_only


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    folder = _plain(tmp_path)
    (folder / ".resunet").mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (folder / ".resunet" / "lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    with Project.open(folder) as p:
        assert not p.read_only
        assert json.loads((folder / ".resunet" / "lock").read_text())["pid"] == os.getpid()


def test_lock_held_by_another_live_process_gives_read_only_until_it_dies(tmp_path):
    folder = _plain(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from resunet_gui.core.project import Project; "
         "p = Project.open(sys.argv[1]); print(p.read_only, flush=True); sys.stdin.read()", str(folder)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "False"
        with Project.open(folder) as p:
            assert p.read_only and f"pid {child.pid}" in p.read_only_reason
    finally:
        child.kill()  # SIGKILL: no cleanup, the lock file stays behind
        child.wait()
    with Project.open(folder) as p:
        assert not p.read_only


def test_lock_from_another_host_is_respected(tmp_path):
    folder = _plain(tmp_path)
    (folder / ".resunet").mkdir()
    (folder / ".resunet" / "lock").write_text(json.dumps({"pid": 1, "host": "elsewhere.example"}))
    with Project.open(folder) as p:
        assert p.read_only and "elsewhere.example" in p.read_only_reason


def test_read_only_folder_opens_read_only_with_message(tmp_path, monkeypatch):
    folder = _plain(tmp_path)
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # running as root: chmod does not bind, simulate EROFS
        real_mkdir, real_open = os.mkdir, os.open

        def refuse_mkdir(path, *a, **k):
            if str(path).startswith(str(folder)):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_mkdir(path, *a, **k)

        def refuse_open(path, flags, *a, **k):
            if str(path).startswith(str(folder)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_open(path, flags, *a, **k)

        monkeypatch.setattr(os, "mkdir", refuse_mkdir)
        monkeypatch.setattr(os, "open", refuse_open)
    try:
        with Project.open(folder) as p:
            assert p.read_only and "read-only" in p.read_only_reason
            assert p.stems() == ["a", "b", "c"]
            with pytest.raises(StorageError, match="read-only"):
                p.save_mask("a", np.zeros((12, 16), np.uint8))
    finally:
        monkeypatch.undo()
        folder.chmod(0o755)
    assert not (folder / ".resunet").exists() and not (folder / "masks").exists()


def test_explicit_read_only_open_writes_nothing(tmp_path):
    folder = _plain(tmp_path)
    with Project.open(folder, read_only=True) as p:
        assert p.read_only and p.stems() == ["a", "b", "c"]
    assert not (folder / ".resunet").exists()


def test_corrupt_project_json_raises_and_recover_moves_it_aside(tmp_path):
    folder = _plain(tmp_path)
    Project.open(folder).close()
    state = folder / ".resunet" / "project.json"
    state.write_bytes(b'{"schema_version": 1, "images": {"a": {"status": "weird"}}}')
    with pytest.raises(ProjectError, match="unknown status"):
        Project.open(folder)
    assert not (folder / ".resunet" / "lock").exists()  # the failed open released its lock
    with Project.open(folder, recover=True) as p:
        assert not p.read_only and p.stems() == ["a", "b", "c"]
        assert any("moved to project.json.corrupt-" in w for w in p.warnings)
    aside = list((folder / ".resunet").glob("project.json.corrupt-*"))
    assert len(aside) == 1 and b"weird" in aside[0].read_bytes()
    assert json.loads(state.read_text())["schema_version"] == project_state.SCHEMA_VERSION


def test_newer_schema_is_refused_and_old_schema_is_migrated(tmp_path, monkeypatch):
    folder = _plain(tmp_path)
    Project.open(folder).close()
    state = folder / ".resunet" / "project.json"
    doc = json.loads(state.read_text())
    doc["schema_version"] = project_state.SCHEMA_VERSION + 1
    state.write_text(json.dumps(doc))
    with pytest.raises(ProjectError, match="newer"):
        Project.open(folder)
    doc["schema_version"] = 1
    doc["images"]["a"]["state"] = "done"  # pretend v1 named the field "state"
    del doc["images"]["a"]["status"]
    state.write_text(json.dumps(doc))

    def v1_to_v2(d):
        for e in d["images"].values():
            if "state" in e:
                e["status"] = e.pop("state")
        return d

    monkeypatch.setattr(project_state, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(project_state.MIGRATIONS, 1, v1_to_v2)
    with Project.open(folder) as p:
        assert p.entry("a").status == ImageStatus.DONE
    assert json.loads(state.read_text())["schema_version"] == 2


def test_save_mask_refuses_to_overwrite_a_mask_changed_by_another_program(tmp_path):
    root = _dataset(tmp_path)
    with Project.open(root) as p:
        original = p.read_mask("s0")
        theirs = encode_png(np.full((12, 16), 7, np.uint8))
        p.mask_path("s0").write_bytes(theirs)
        with pytest.raises(StorageConflictError, match="changed on disk"):
            p.save_mask("s0", original)
        assert p.mask_path("s0").read_bytes() == theirs
        assert p.read_mask("s0")[0, 0] == 7
        p.save_mask("s0", original)  # after re-reading, saving is allowed again


def test_save_mask_on_full_disk_keeps_old_mask(tmp_path, monkeypatch):
    from resunet_gui.core import storage

    root = _dataset(tmp_path)
    with Project.open(root) as p:
        before = p.mask_path("s1").read_bytes()
        p.read_mask("s1")
        monkeypatch.setattr(storage.os, "fsync", lambda fd: (_ for _ in ()).throw(
            OSError(errno.ENOSPC, "No space left on device")))
        with pytest.raises(StorageError, match="disk full"):
            p.save_mask("s1", np.zeros((12, 16), np.uint8))
        monkeypatch.undo()
        assert p.mask_path("s1").read_bytes() == before


def _status_on_disk(folder, stem):
    """What a second (read-only) open sees: project.json plus the state log."""
    with Project.open(folder, read_only=True) as other:
        return other.entry(stem).status.value


def test_batch_defers_state_writes(tmp_path):
    folder = _plain(tmp_path)
    with Project.open(folder) as p:
        with p.batch():
            p.set_status("a", "suggested")
            p.set_status("b", "suggested")
            assert _status_on_disk(folder, "a") == "new"
        assert _status_on_disk(folder, "b") == "suggested"


def test_pending_journal_is_reported_on_open(tmp_path):
    folder = _plain(tmp_path)
    with Project.open(folder) as p:
        p.journal.append("b", BBox(0, 0, 2, 2), np.ones((2, 2), np.uint8))
    with Project.open(folder) as p:
        assert p.pending_recovery == ["b"]
        assert any("unsaved edits" in w for w in p.warnings)


def test_unknown_stem_is_a_project_error(tmp_path):
    with Project.open(_plain(tmp_path)) as p, pytest.raises(ProjectError, match="no image"):
        p.entry("zzz")


def test_state_of_images_that_vanished_is_kept(tmp_path):
    folder = _plain(tmp_path)
    with Project.open(folder) as p:
        p.set_status("c", "done")
    (folder / "c.png").rename(tmp_path / "c.png")
    with Project.open(folder) as p:
        assert p.stems() == ["a", "b"]
    (tmp_path / "c.png").rename(folder / "c.png")
    with Project.open(folder) as p:
        assert p.entry("c").status == ImageStatus.DONE


def test_open_removes_temp_files_left_by_a_killed_writer_but_keeps_masks(tmp_path):
    folder = _dataset(tmp_path)
    with Project.open(folder) as p:
        p.save_mask(p.stems()[0], np.ones((12, 16), np.uint8))
    stale = folder / "masks" / ".s0.png.0123456789ab.tmp"
    stale.write_bytes(b"half a png")
    other = folder / "masks" / "notes.tmp"
    other.write_bytes(b"user file")
    with Project.open(folder) as p:
        assert not stale.exists()
        assert other.exists()
        assert p.read_mask(p.stems()[0]).max() == 1


def test_read_only_open_leaves_temp_files_alone(tmp_path):
    folder = _dataset(tmp_path)
    (folder / ".resunet").mkdir(exist_ok=True)
    stale = folder / ".resunet" / ".project.json.0123456789ab.tmp"
    stale.write_bytes(b"{")
    with Project.open(folder, read_only=True):
        assert stale.exists()
