"""Fault injection: a child edits and autosaves in a loop and is killed with SIGKILL.

A "zygote" subprocess imports the editing code once and forks one editing child per round
(so rounds start in milliseconds). Each child applies a deterministic action sequence (from
a seed) on top of the mask left by the previous round and appends ``document.version`` to a
progress file after every action. After the kill, the parent reopens the project and checks:
project.json parses, the mask PNG decodes, and the recovered mask equals the state after the
last reported version (or one more: the step being reported when the kill hit), recomputed by
replaying the same actions on a MaskDocument.
"""
from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from resunet_gui.annotation.document import MaskDocument

SIZE = 256
STEM = "img"
KILLS = int(os.environ.get("RESUNET_CRASH_KILLS", "50"))

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGKILL"),
                                reason="needs fork and SIGKILL (POSIX)")


def actions(seed: int):
    """Endless deterministic sequence of editing actions."""
    rng = np.random.default_rng(seed)
    while True:
        r = rng.random()
        if r < 0.7:
            n = int(rng.integers(2, 8))
            pts = [tuple(map(float, p)) for p in rng.uniform(-10, SIZE + 10, (n, 2))]
            yield ("stroke", pts, float(rng.integers(1, 14)), int(rng.integers(0, 4)))
        elif r < 0.8:
            yield ("fill", tuple(map(float, rng.uniform(0, SIZE, 2))), int(rng.integers(0, 4)))
        elif r < 0.9:
            yield ("undo",)
        else:
            yield ("redo",)


def apply(doc: MaskDocument, action: tuple) -> None:
    kind = action[0]
    if kind == "stroke":
        _, pts, radius, value = action
        doc.begin_stroke()
        for p0, p1 in pairwise(pts):
            doc.paint(p0, p1, radius, value)
        doc.end_stroke()
    elif kind == "fill":
        doc.fill(action[1], action[2])
    elif kind == "undo":
        doc.undo()
    else:
        doc.redo()


def _child(folder: str, seed: int, progress: str) -> None:
    from resunet_gui.annotation.session import EditSession
    from resunet_gui.core.project import Project

    rng = np.random.default_rng(seed + 1)
    project = Project.open(folder)
    session = EditSession(project, STEM, autosave_delay_s=float(rng.uniform(0.002, 0.03)))
    fd = os.open(progress, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    for action in actions(seed):
        apply(session.document, action)
        os.write(fd, struct.pack("<I", session.document.version))
        time.sleep(float(rng.uniform(0, 0.03)))  # human pacing lets the autosave fire


def zygote() -> None:
    """Read 'folder seed progress' lines; fork a child for each; report pid and exit status."""
    import resunet_gui.annotation.session  # noqa: F401 - import once, before forking
    import resunet_gui.core.project  # noqa: F401

    for line in sys.stdin:
        folder, seed, progress = line.split("\t")
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(folder, int(seed), progress.strip())
            except BaseException:  # noqa: BLE001 - report and leave without cleanup
                import traceback

                traceback.print_exc()
                code = 3
            finally:
                os._exit(code)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(status, flush=True)


def _last_version(progress: Path) -> int:
    data = progress.read_bytes() if progress.exists() else b""
    n = len(data) // 4
    return struct.unpack_from("<I", data, (n - 1) * 4)[0] if n else 0


def _expected_states(base: np.ndarray, seed: int, upto: int) -> dict[int, np.ndarray]:
    doc = MaskDocument(base.copy())
    states = {0: base.copy()}
    for action in actions(seed):
        if doc.version > upto:
            break
        apply(doc, action)
        states[doc.version] = doc.labels.copy()
    return states


@pytest.mark.slow
def test_sigkill_during_edit_and_autosave_loses_no_journalled_step(tmp_path):
    import cv2

    from resunet_gui.annotation.session import EditSession
    from resunet_gui.core.imageio import read_mask
    from resunet_gui.core.project import Project

    folder = tmp_path / "proj"
    folder.mkdir()
    cv2.imwrite(str(folder / f"{STEM}.png"), np.zeros((SIZE, SIZE, 3), np.uint8))
    zyg = subprocess.Popen([sys.executable, __file__, "--zygote"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, bufsize=1)
    rng = np.random.default_rng(12345)
    base = np.zeros((SIZE, SIZE), np.uint8)
    recovered_total = rounds_with_recovery = 0
    try:
        for round_ in range(KILLS):
            seed = 1000 + round_
            progress = tmp_path / f"progress{round_}.bin"
            zyg.stdin.write(f"{folder}\t{seed}\t{progress}\n")
            pid = int(zyg.stdout.readline())
            time.sleep(float(rng.uniform(0.02, 0.25)))
            os.kill(pid, signal.SIGKILL)
            status = int(zyg.stdout.readline())
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
                f"round {round_}: child ended by itself (status {status}) instead of being killed"
            k = _last_version(progress)

            state_file = folder / ".resunet" / "project.json"
            if state_file.exists():
                json.loads(state_file.read_text("utf-8"))  # not truncated
            mask_file = folder / "masks" / f"{STEM}.png"
            if mask_file.exists():
                assert read_mask(mask_file).shape == (SIZE, SIZE)  # decodes fully
            with Project.open(folder) as project:
                assert not project.read_only, project.warnings
                session = EditSession(project, STEM, autosave_delay_s=60)
                got = session.document.labels.copy()
                recovered_total += session.recovered_steps
                rounds_with_recovery += session.recovered_steps > 0
                states = _expected_states(base, seed, k + 1)
                matches = [v for v in (k, k + 1) if v in states and np.array_equal(got, states[v])]
                assert matches, f"round {round_}: recovered mask is not the state at version {k}"
                assert session.close()
                assert project.journal.count(STEM) == 0
            base = got
            if mask_file.exists():
                assert np.array_equal(read_mask(mask_file), base)
            else:  # killed before anything was saved or journalled
                assert not base.any()
    finally:
        zyg.stdin.close()
        try:
            zyg.wait(10)
        except subprocess.TimeoutExpired:
            zyg.kill()
            zyg.wait()
    assert recovered_total > 0  # some kills did hit unsaved, journalled work
    torn = len(list((folder / "masks").glob(".*.tmp")))  # kills during an atomic write
    print(f"{KILLS} kills: {rounds_with_recovery} rounds replayed {recovered_total} journalled "
          f"steps; {torn} temp files left by kills mid-write (real files intact)")


if __name__ == "__main__" and sys.argv[1:] == ["--zygote"]:
    zygote()
