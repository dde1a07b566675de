"""Masks for a folder of images, in one process or one share per torchrun rank.

The model comes from the one bootstrap (a checkpoint, else the project's current version,
else a seeded random model), so every rank serves identical weights; each rank predicts
a disjoint, deterministic share of the sorted file list (``distributed.shard``) and
writes its masks itself. The union of the shares' masks is the single-process output byte
for byte: each image is predicted alone, by the same weights, with the same tiling.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from resunet_gui.core.errors import ImageReadError, ResunetError
from resunet_gui.core.imageio import read_image
from resunet_gui.core.storage import atomic_write_png
from resunet_gui.engine import distributed as D
from resunet_gui.engine.bootstrap import ModelSetup, bootstrap_model, current_version
from resunet_gui.engine.device import resolve_device
from resunet_gui.engine.predictor import Predictor

log = logging.getLogger(__name__)


@dataclass
class PredictRequest:
    files: list[Path]  # sorted image files (one per stem)
    out: Path  # folder for <stem>.png masks
    models_dir: Path | None = None  # the project's versions, used without a checkpoint
    checkpoint: Path | None = None
    device: str = "auto"
    tile: int = 1024
    classes: int = 2  # of the random model used when there is no model at all
    names: dict[Path, str] = field(default_factory=dict)  # mask name per file (default: stem)


@dataclass
class PredictReport:
    written: int  # over all ranks
    skipped: list[str] = field(default_factory=list)  # this rank's: "name: reason"
    skipped_total: int = 0  # over all ranks
    device: str = "cpu"
    world_size: int = 1
    model: str = ""  # where the weights came from
    is_main: bool = True


def _model(req: PredictRequest, device: torch.device) -> ModelSetup:
    if req.checkpoint is not None:
        return bootstrap_model(checkpoint=req.checkpoint, device=device)
    loaded = current_version(req.models_dir) if req.models_dir is not None else None
    if loaded is not None:
        return bootstrap_model(loaded=loaded, device=device)
    if not 1 <= req.classes <= 255:
        raise ResunetError(f"--classes must be between 1 and 255, got {req.classes}")
    log.warning("no --checkpoint given and the folder has no model version: predicting with a "
                "randomly initialised %d-class model; the masks only show that the pipeline "
                "works", req.classes)
    # seeded: every rank (and every run) must serve the same weights
    return bootstrap_model(req.classes, weights="none", device=device, seed=0)


def predict_folder(req: PredictRequest,
                   progress: Callable[[int, int], None] | None = None) -> PredictReport:
    """Predict this process's share of ``req.files``; joins the torchrun group if launched
    by torchrun (gloo on CPU, nccl on GPU) and sums the counts over ranks."""
    ctx, device = D.init_distributed(resolve_device(req.device))
    try:
        setup = _model(req, device)
        log.info("model: %s", setup.init)
        predictor = Predictor(setup.model, setup.normalization, device=device, tile=req.tile)
        mine = D.shard(req.files, ctx)
        skipped: list[str] = []
        for i, path in enumerate(mine):
            try:
                image = read_image(path).model_array()
            except ImageReadError as exc:
                skipped.append(f"{path.name}: {exc}")
            else:
                name = req.names.get(path, path.stem)  # a stack's slice: <file>_z0003
                atomic_write_png(req.out / f"{name}.png", predictor.predict(image).mask)
            if progress is not None and ctx.is_main:  # rank 0's share stands for all
                progress(i + 1, len(mine))
        written = D.all_sum(len(mine) - len(skipped), ctx)
        skipped_total = D.all_sum(len(skipped), ctx)
        return PredictReport(written, skipped, skipped_total, str(predictor.device),
                             ctx.world_size, setup.init, ctx.is_main)
    finally:
        D.shutdown(ctx)
