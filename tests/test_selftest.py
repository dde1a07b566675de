"""``resunet-gui --self-test``: the end-to-end check packagers run on the frozen bundle.

These run the real self-test (demo project, main window offscreen, model service, brush
stroke with mouse events, save) in process and once in a fresh interpreter, and check that
a broken install really makes it fail with one line.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from resunet_gui.cli import main
from resunet_gui.core.errors import StorageError, WeightsError


@pytest.fixture(autouse=True)
def _few_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_self_test_command_passes_and_leaves_the_painted_mask_on_disk(qapp, capsys) -> None:
    from resunet_gui.core.imageio import read_mask
    from resunet_gui.core.project import Project

    assert main(["self-test", "--keep"]) == 0
    out = capsys.readouterr().out
    assert "self-test passed" in out
    kept = Path(re.search(r"project kept at (.+)", out).group(1).strip())
    try:
        stem = re.search(r"image (\S+) \(", out).group(1)
        painted = int(re.search(r"class (\d+) painted", out).group(1))
        with Project.open(kept, read_only=True) as project:
            mask = read_mask(project.mask_path(stem))
        h, w = mask.shape
        # the stroke runs along the middle row from 25% to 75% of the width
        assert np.all(mask[h // 2, int(w * 0.3):int(w * 0.7)] == painted)
    finally:
        shutil.rmtree(kept.parent, ignore_errors=True)


def test_self_test_fails_with_one_line_when_the_model_cannot_load(qapp, capsys, monkeypatch) -> None:
    import resunet_gui.app as app_module

    real_build_window = app_module.build_window

    def no_weights(_project):
        def build():
            raise WeightsError("no encoder weights available offline")
        return build

    monkeypatch.setattr(app_module, "build_window",
                        lambda prefs=None: real_build_window(prefs, engine_factory_for=no_weights))
    assert main(["self-test", "--timeout", "60"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "load model" in err[0] and "no encoder weights available offline" in err[0]


def test_self_test_fails_when_the_mask_cannot_be_saved(qapp, capsys, monkeypatch) -> None:
    from resunet_gui.core.project import Project

    def disk_full(self, stem, mask):
        raise StorageError(f"no space left on device while saving {stem}")

    monkeypatch.setattr(Project, "save_mask", disk_full)
    assert main(["self-test"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "save and verify mask" in err[0] and "no space left" in err[0]


@pytest.mark.slow
def test_top_level_self_test_flag_passes_in_a_fresh_process(tmp_path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="2",
               HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    env.pop("DISPLAY", None)
    result = subprocess.run([sys.executable, "-m", "resunet_gui", "--self-test"],
                            capture_output=True, text=True, timeout=600, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "self-test passed" in result.stdout
    assert "Traceback" not in result.stderr
