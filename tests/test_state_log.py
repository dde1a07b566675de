"""core.state_log and Project status changes: cheap, durable, replayed, compacted."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np

from resunet_gui.cli import main
from resunet_gui.core import state_log
from resunet_gui.core.project import Project
from resunet_gui.core.storage import FileStamp


def _plain(tmp_path, n=4):
    folder = tmp_path / "p"
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"im{i}.png"), np.zeros((8, 8), np.uint8))
    return folder


def test_a_status_change_does_not_rewrite_project_json(tmp_path):
    folder = _plain(tmp_path)
    with Project.open(folder) as p:
        before = FileStamp.of(p.state_path)
        p.set_status("im1", "done")
        assert FileStamp.of(p.state_path) == before
        assert (p.state_dir / "state.log").stat().st_size > 0
    with Project.open(folder, read_only=True) as p:
        assert p.entry("im1").status.value == "done"
    assert json.loads((folder / ".resunet" / "project.json").read_text())["images"]["im1"][
        "status"] == "done"  # close folded the log in
    assert not (folder / ".resunet" / "state.log").exists()


def test_a_status_change_survives_a_kill_before_close(tmp_path):
    folder = _plain(tmp_path)
    Project.open(folder).close()
    code = textwrap.dedent(f"""
        import os
        from resunet_gui.core.project import Project
        p = Project.open({str(folder)!r})
        p.set_status("im2", "done")
        p.set_status("im3", "in_progress")
        os._exit(0)  # no close, no save: like kill -9
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    with Project.open(folder) as p:
        assert p.entry("im2").status.value == "done"
        assert p.entry("im3").status.value == "in_progress"


def test_a_torn_last_record_is_ignored_and_later_changes_stay_reachable(tmp_path):
    folder = _plain(tmp_path)
    with Project.open(folder) as p:
        p.set_status("im0", "done")
        p._write_full = lambda: None  # killed: close() does not fold the log in
    log_path = folder / ".resunet" / "state.log"
    log_path.write_bytes(log_path.read_bytes() + b"\x50\x00\x00\x00torn")
    # a kill left the log un-folded and torn; this open folds it in and starts clean
    with Project.open(folder) as p:
        assert p.entry("im0").status.value == "done"
        p.set_status("im1", "done")
    with Project.open(folder, read_only=True) as p:
        assert p.entry("im1").status.value == "done"


def test_the_log_is_folded_into_project_json_every_so_many_records(tmp_path, monkeypatch):
    monkeypatch.setattr(state_log, "COMPACT_EVERY", 3)
    monkeypatch.setattr("resunet_gui.core.project.COMPACT_EVERY", 3)
    folder = _plain(tmp_path)
    with Project.open(folder) as p:
        before = FileStamp.of(p.state_path)
        for status in ("done", "new", "done"):
            p.set_status("im0", status)
        assert FileStamp.of(p.state_path) == before
        p.set_status("im0", "in_progress")
        assert FileStamp.of(p.state_path) != before and p._log.records == 0


def test_bench_project_prints_the_cost_of_one_status_change(capsys):
    assert main(["bench", "--project", "--project-images", "30", "--project-changes", "3"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["bench"] == "project" and report["images"] == 30
    assert report["ms_per_status_change"] > 0

