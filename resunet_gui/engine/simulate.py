"""Simulated annotator: the folder's masks play a perfect user, the real service learns.

Image by image over the train split: ask the service for a suggestion, record its Dice
against the truth and the fraction of pixels the user would have to change, "correct"
it (save the true mask, mark done, notify the service), let background training run for
``time_per_image`` seconds (training goes on while the next image is measured, as in the
app), or exactly ``steps_per_image`` optimiser steps with training stopped otherwise
(lock-step: the figures depend on the steps, not on the machine), and periodically score
the served model on the test split.
The source folder is never written: the simulated project lives under ``out/work``.
"""
from __future__ import annotations

import csv
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.imageio import read_image, read_mask
from resunet_gui.core.project import Project
from resunet_gui.core.types import ImageStatus
from resunet_gui.engine.effort import EffortConfig, EffortResult, effort_for_image
from resunet_gui.engine.metrics import ScoreAccumulator, corrected_fraction
from resunet_gui.engine.project_engine import ProjectEngine, num_classes_of
from resunet_gui.engine.refine import Strokes
from resunet_gui.engine.service import ModelService, SuggestionResult
from resunet_gui.engine.settings import SIM_ORDERS, EngineConfig, SimConfig, TrainConfig

log = logging.getLogger(__name__)


@dataclass
class SimRow:
    images_done: int
    stem: str
    elapsed_s: float
    suggestion_dice: float
    corrected_fraction: float
    model_version: str
    train_steps: int
    test_dice: float | None = None
    test_iou: float | None = None
    # effort model (engine/effort.py): suggestion with all tools, brush only, from scratch
    effort_actions: int | None = None
    effort_strokes: int | None = None
    effort_fills: int | None = None
    effort_clicks: int | None = None
    effort_refines: int | None = None
    effort_pixels: int | None = None
    effort_seconds: float | None = None
    effort_final_dice: float | None = None
    brush_actions: int | None = None
    brush_seconds: float | None = None
    scratch_actions: int | None = None
    scratch_seconds: float | None = None
    effort_reached: bool | None = None
    brush_reached: bool | None = None
    scratch_reached: bool | None = None
    effort_start: str | None = None  # "suggestion", or "empty" where declining it was cheaper
    brush_start: str | None = None
    extra: dict = field(default_factory=dict)

    def add_effort(self, results: dict[str, EffortResult], cap: int) -> None:
        """``*_actions`` count what reaching the target took, ``cap`` when it was not reached
        (``*_reached`` says which); the per-type counts are what was done."""
        e, b, s = results["effort"], results["brush"], results["scratch"]
        self.effort_actions, self.effort_pixels = e.effective(cap), e.pixels
        self.effort_reached, self.brush_reached, self.scratch_reached = (
            e.reached, b.reached, s.reached)
        self.effort_strokes, self.effort_fills, self.effort_clicks, self.effort_refines = (
            e.actions["stroke"], e.actions["fill"], e.actions["click"], e.actions["refine"])
        self.effort_seconds, self.effort_final_dice = e.seconds, e.dice[-1]
        self.effort_start, self.brush_start = e.start, b.start
        self.brush_actions, self.brush_seconds = b.effective(cap), b.seconds
        self.scratch_actions, self.scratch_seconds = s.effective(cap), s.seconds
        self.extra["effort"] = {k: {"actions": r.actions, "pixels": r.pixels, "start": r.start,
                                    "seconds": r.seconds, "dice": r.dice}
                                for k, r in results.items()}


def _stems(project: Project, split: str) -> list[str]:
    return [s for s in project.stems()
            if (project.split_of(s) or "train") == split and project.mask_path(s).exists()]


def _spread(items: list[str], n: int) -> list[str]:
    if len(items) <= n:
        return items
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in idx]


def choose_images(stems: list[str], n: int | None, order: str, seed: int) -> list[str]:
    """The ``n`` images the simulated user annotates, in list order (see ``SimConfig.order``)."""
    if order not in SIM_ORDERS:
        raise ValueError(f"order must be one of {SIM_ORDERS}, got {order!r}")
    if not n or n >= len(stems):
        return list(stems)
    if order == "first":
        return stems[:n]
    if order == "random":
        keep = set(np.random.default_rng(seed).choice(len(stems), n, replace=False).tolist())
        return [s for i, s in enumerate(stems) if i in keep]
    return _spread(stems, n)


class _Waiter:
    """Collects service callbacks by request id for the simulator's synchronous calls."""

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.results: dict[int, SuggestionResult] = {}
        self.errors: dict[int, str] = {}
        self.status = None

    def on_result(self, r: SuggestionResult) -> None:
        with self.cv:
            self.results[r.request_id] = r
            self.cv.notify_all()

    def on_error(self, rid: int, msg: str) -> None:
        with self.cv:
            self.errors[rid] = msg
            self.cv.notify_all()

    def on_status(self, s) -> None:
        self.status = s

    def wait_steps(self, step: int, timeout: float = 3600.0) -> None:
        """Block until the engine has trained ``step`` steps; a stall is an error, not a pass."""
        end = time.monotonic() + timeout
        while _step(self) < step:
            if self.status is not None and self.status.state in ("error", "paused"):
                raise ResunetError(f"training stopped: {self.status.message}")
            if time.monotonic() >= end:
                raise ResunetError(f"training reached step {_step(self)} of {step} "
                                   f"in {timeout:.0f} s")
            time.sleep(0.05)

    def wait(self, rid: int, timeout: float = 600.0) -> SuggestionResult:
        with self.cv:
            ok = self.cv.wait_for(lambda: rid in self.results or rid in self.errors, timeout)
            if rid in self.errors:
                raise ResunetError(f"suggestion failed: {self.errors[rid]}")
            if not ok:
                raise ResunetError("suggestion timed out")
            return self.results.pop(rid)


def _step(w: _Waiter) -> int:
    return w.status.step if w.status is not None else 0


def _fg_dice(pred: np.ndarray, truth: np.ndarray, k: int) -> float:
    acc = ScoreAccumulator(k)
    acc.add(pred, truth)
    return acc.result().score


@dataclass
class _Run:
    """A simulation's inputs: the images to annotate in order, the test set and the work copy."""

    train: list[str]
    paths: dict[str, tuple[Path, Path]]
    test_pairs: list[tuple[np.ndarray, np.ndarray]]
    num_classes: int
    project: Project


def _prepare(folder: Path, out: Path, cfg: SimConfig) -> _Run:
    """Copy the training images (no masks) into ``out/work``: the simulated user's project."""
    with Project.open(folder, read_only=True) as src:
        train = _stems(src, "train")
        test = _stems(src, "test") or _stems(src, "val")
        paths = {s: (src.image_path(s), src.mask_path(s)) for s in train + test}
        k = num_classes_of(src)
    if not train or not test:
        raise ResunetError(f"{folder} needs masks in a train and a test (or val) split")
    train = choose_images(train, cfg.max_images, cfg.order, cfg.seed)
    test = _spread(test, cfg.max_test)
    work = out / "work"
    if work.exists():
        shutil.rmtree(work)
    (work / "images").mkdir(parents=True)
    for s in train:
        shutil.copyfile(paths[s][0], work / "images" / paths[s][0].name)
    if (folder / "classes.json").is_file():
        shutil.copyfile(folder / "classes.json", work / "classes.json")
    test_pairs = [(read_image(paths[s][0]).model_input(), read_mask(paths[s][1])) for s in test]
    return _Run(train, paths, test_pairs, k, Project.open(work))


def _service(run: _Run, cfg: SimConfig, w: _Waiter) -> ModelService:
    ecfg = EngineConfig(device=cfg.device, weights=cfg.weights, seed=cfg.seed,
                        train=TrainConfig(crop=cfg.crop, batch_size=cfg.batch_size, lr=cfg.lr,
                                          ema_decay=cfg.ema_decay, class_balance=cfg.class_balance,
                                          seed=cfg.seed))
    return ModelService(lambda: ProjectEngine(run.project, ecfg), on_result=w.on_result,
                        on_error=w.on_error, on_training_status=w.on_status,
                        min_done=cfg.min_done, debounce_s=0.0)


def _annotate(run: _Run, cfg: SimConfig, svc: ModelService, w: _Waiter, i: int,
              stem: str) -> SimRow:
    """Image ``i``: its suggestion, the effort to correct it, then done with the true mask."""
    image = read_image(run.paths[stem][0]).model_input()
    truth = read_mask(run.paths[stem][1])
    k = run.num_classes
    res = w.wait(svc.request_suggestion(stem, image, generation=i))
    row = SimRow(i, stem, 0.0, _fg_dice(res.mask, truth, k),
                 corrected_fraction(res.mask, truth), res.model_version or "init", 0)
    if cfg.effort:
        def refine(labels, painted):  # noqa: ANN001, ANN202
            rid = svc.request_refine(stem, image, Strokes(labels, painted), i)
            return w.wait(rid).mask  # the real path: the service, like the GUI

        row.add_effort(effort_for_image(
            res.mask, res.prediction.probs, truth, k,
            EffortConfig(target_dice=cfg.target_dice, max_actions=cfg.max_actions),
            refine if cfg.effort_refine else None), cfg.max_actions)
    run.project.save_mask(stem, truth)
    run.project.set_status(stem, ImageStatus.DONE, model_version=res.model_version,
                           corrected_fraction=row.corrected_fraction)
    svc.notify_done(stem)
    return row


def _score_test(run: _Run, svc: ModelService, w: _Waiter, row: SimRow) -> None:
    """Test Dice/IoU of the version served now (prefetch priority: none goes stale)."""
    ids = [svc.request_suggestion(f"test:{j}", im, prefetch=True)
           for j, (im, _t) in enumerate(run.test_pairs)]
    acc = ScoreAccumulator(run.num_classes)
    for rid, (_im, t) in zip(ids, run.test_pairs, strict=True):
        acc.add(w.wait(rid).mask, t)
    sc = acc.result()
    row.test_dice = sc.score
    row.test_iou = sc.iou[1] if run.num_classes == 2 else sc.mean_iou


def simulate(folder: str | Path, out: str | Path, cfg: SimConfig,
             progress: Callable[[SimRow], None] | None = None) -> list[SimRow]:
    folder, out = Path(folder), Path(out)
    run = _prepare(folder, out, cfg)
    w = _Waiter()
    svc = _service(run, cfg, w)
    rows: list[SimRow] = []
    t0 = time.monotonic()
    # a budget in steps trains in lock-step: only while the simulator waits, never while it
    # measures effort or scores the test set, so the figures are the same on any machine
    steps = 0
    if cfg.steps_per_image:
        svc.train_until(steps)
    try:
        for i, stem in enumerate(run.train, start=1):
            row = _annotate(run, cfg, svc, w, i, stem)
            if cfg.steps_per_image and i >= cfg.min_done:
                steps += cfg.steps_per_image
                svc.train_until(steps)
                w.wait_steps(steps)
            elif not cfg.steps_per_image:
                time.sleep(cfg.time_per_image)
            if i % cfg.eval_every == 0 or i in (5, 10, 20) or i == len(run.train):
                _score_test(run, svc, w, row)
            st = w.status
            row.train_steps = st.step if st is not None else 0
            row.elapsed_s = round(time.monotonic() - t0, 1)
            row.extra["message"] = getattr(st, "message", "")
            rows.append(row)
            write_csv(out / "simulate.csv", rows)  # a long run keeps what it measured so far
            if progress:
                progress(row)
    finally:
        svc.shutdown(60)
        run.project.close()
    write_csv(out / "simulate.csv", rows)
    if cfg.effort:
        write_effort_traces(out / "effort.jsonl", rows)
    return rows


def write_effort_traces(path: Path, rows: list[SimRow]) -> None:
    """One JSON line per image: actions by type, pixels, seconds, Dice after each action."""
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"images_done": r.images_done, "stem": r.stem,
                                 **r.extra.get("effort", {})}) + "\n")


def write_csv(path: Path, rows: list[SimRow]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [c for c in asdict(rows[0]) if c != "extra"] if rows else []
    with open(path, "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(cols)
        for r in rows:
            d = asdict(r)
            wr.writerow(["" if d[c] is None else (round(d[c], 4) if isinstance(d[c], float)
                                                   else d[c]) for c in cols])
