"""``resunet-gui bench --ui``: GUI responsiveness figures (offscreen Qt).

Prints: launch-to-window time and memory (in a fresh subprocess, no torch before the window),
10,000-image folder listed, 2048x2048 image shown, event-loop stalls (5 ms timer ticks) while a
suggestion runs on a 2048x2048 image and while a brush is dragged over an 8192x8192 image, and
a brush segment / undo of a 50-segment stroke on 16384x16384 including the canvas repaint,
and the time closing the window takes while a training step runs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGETS = {"window_s": 1.0, "folder_10k_s": 0.5, "image_2048_ms": 100.0, "rss_mib": 250.0,
           "stall_max_ms": 50.0, "stall_p99_ms": 17.0, "segment_ms": 5.0, "undo_ms": 5.0,
           "close_s": 1.0}

_LAUNCH_CHILD = r"""
import os, sys, time, json
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
app = QApplication(sys.argv[:1])
from resunet_gui.app import build_window
from resunet_gui.qt.preferences import Preferences
w = build_window(Preferences(sys.argv[1]))
w.show()
def ready():
    import psutil
    out = {"window_in_child_s": time.perf_counter() - t0,
           "rss_mib": psutil.Process().memory_info().rss / 2**20,
           "torch_imported": "torch" in sys.modules}
    print("READY " + json.dumps(out), flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""


def measure_launch(tmp: Path) -> dict[str, Any]:
    """Wall time from process start to a shown window, in a fresh interpreter (median of 3)."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    runs = []
    for i in range(3):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _LAUNCH_CHILD, str(tmp / f"l{i}.ini")],
                              capture_output=True, text=True, env=env, timeout=120)
        wall = time.perf_counter() - t
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("READY ")), None)
        if line is None:
            raise RuntimeError(f"launch child failed: {proc.stderr[-2000:]}")
        info = json.loads(line[6:])
        info["window_s"] = wall
        runs.append(info)
    runs.sort(key=lambda r: r["window_s"])
    return runs[1]


def make_folder(root: Path, n: int, size: int) -> Path:
    import cv2

    folder = root / f"f{n}x{size}"
    if folder.is_dir():
        return folder
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (size, size), np.uint8), (0, 0), 3)
    data = cv2.imencode(".png", img)[1].tobytes()
    for i in range(n):
        (folder / "images" / f"img_{i:05d}.png").write_bytes(data)
    return folder


def make_labelled_folder(root: Path, n: int = 4, size: int = 512) -> Path:
    """A dataset-layout folder whose masks make every image "done", so training starts."""
    import cv2

    folder = root / f"labelled{n}x{size}"
    if folder.is_dir():
        import shutil

        shutil.rmtree(folder)  # fresh: no model versions left from an earlier run
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 255, (size, size), np.uint8), (0, 0), 4)
        cv2.imwrite(str(folder / "images" / f"t{i}.png"), img)
        cv2.imwrite(str(folder / "masks" / f"t{i}.png"), (img > 127).astype(np.uint8))
    return folder


def _line(name: str, value: float, unit: str, target_key: str, missed: list[str]) -> str:
    target = TARGETS[target_key]
    ok = "ok" if value <= target else "OVER"
    if value > target:
        missed.append(name)
    return f"{name:<48} {value:9.2f} {unit:<4} (target <= {target:g} {unit}: {ok})"


def measure(tmp: Path) -> dict[str, Any]:
    """Every figure, measured in this process (a QApplication) and a launch subprocess."""
    from PySide6.QtWidgets import QApplication

    from resunet_gui.bench import ui_measures as qb

    results: dict[str, Any] = {"launch": measure_launch(tmp)}
    big, one = make_folder(tmp, 10_000, 32), make_folder(tmp, 2, 2048)
    app = QApplication.instance() or QApplication([])
    results["open"] = qb.measure_open(app, tmp, big, one)
    results["segment_undo_16k"] = qb.measure_segment_undo(app)
    results["brush_8k"] = qb.measure_brush_stall(app, tmp)
    import torch

    results["torch_threads"] = torch.get_num_threads()
    from resunet_gui.engine.inference_engine import InferenceEngine

    results["suggest_2048"] = qb.measure_suggest_stall(
        app, tmp, one, lambda: InferenceEngine(version="bench", tile=1024))
    from resunet_gui.app import default_engine_factory

    results["training"] = qb.measure_training_stall(app, tmp, make_labelled_folder(tmp),
                                                    default_engine_factory)
    from resunet_gui.bench.ui_close import measure_close_while_training

    results["close"] = measure_close_while_training(app, tmp, make_labelled_folder(tmp),
                                                    default_engine_factory)
    return results


def report(results: dict[str, Any]) -> list[str]:
    """Print the figures against their targets; the names of those missed."""
    missed: list[str] = []
    la, op = results["launch"], results["open"]
    su, br, seg = results["suggest_2048"], results["brush_8k"], results["segment_undo_16k"]
    print(_line("launch to usable window (subprocess)", la["window_s"], "s", "window_s", missed))
    print(f"{'  torch imported before window':<48} {la['torch_imported']}")
    print(_line("memory at window-ready", la["rss_mib"], "MiB", "rss_mib", missed))
    print(_line("10,000-image folder listed", op["folder_10k_s"], "s", "folder_10k_s", missed))
    print(_line("2048x2048 image shown", op["image_2048_ms"], "ms", "image_2048_ms", missed))
    print(_line("suggestion 2048^2 CPU: longest stall", su["max_ms"], "ms", "stall_max_ms",
                missed))
    print(_line("suggestion 2048^2 CPU: p99 tick gap", su["p99_ms"], "ms", "stall_p99_ms",
                missed))
    print(f"{'  suggestion took':<48} {su['suggest_s']:9.2f} s    "
          f"(torch threads {results['torch_threads']})")
    print(_line("brush drag 8192^2: longest stall", br["max_ms"], "ms", "stall_max_ms", missed))
    print(_line("brush drag 8192^2: p99 tick gap", br["p99_ms"], "ms", "stall_p99_ms", missed))
    print(_line("16384^2 brush segment + repaint (median)", seg["segment_ms"], "ms",
                "segment_ms", missed))
    print(_line("16384^2 undo of 50-segment stroke + repaint", seg["undo_ms"], "ms", "undo_ms",
                missed))
    _report_training(results, missed)
    return missed


def _report_training(results: dict[str, Any], missed: list[str]) -> None:
    tr = results["training"]
    if tr.get("training_started"):
        print(_line("background training, idle: longest stall", tr["idle_max_ms"], "ms",
                    "stall_max_ms", missed))
        print(_line("background training, brush drag: longest stall", tr["drag_max_ms"], "ms",
                    "stall_max_ms", missed))
        print(_line("background training, brush drag: p99 tick gap", tr["drag_p99_ms"], "ms",
                    "stall_p99_ms", missed))
    else:
        print("background training: did not start in time (no figure)")
        missed.append("background training started")
    cl = results["close"]
    if cl.get("close_started"):
        print(_line("close window while training (median of 3)", cl["close_s"], "s", "close_s",
                    missed))
        print(f"{'  worst close':<48} {cl['close_max_s']:9.2f} s")
    else:
        print("close while training: training did not start in time (no figure)")
        missed.append("close while training measured")


def run(args: argparse.Namespace | None = None) -> list[str]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(os.environ.get("RESUNET_BENCH_DIR", Path(tempfile.gettempdir()) / "resunet-bench-ui"))
    tmp.mkdir(parents=True, exist_ok=True)
    return report(measure(tmp))
