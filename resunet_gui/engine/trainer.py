"""Optimiser loop in short chunks: the model service interleaves them with suggestions.

No thread or Qt here: ``Trainer.run_chunk()`` does a few optimiser steps and returns;
whoever owns the model (the service's worker thread, the CLI, a torchrun rank) calls it.

BatchNorm cure (measured: the eval-mode Dice of one checkpoint swung by +-0.07
because running statistics lag weights that change fast): before a model is scored or
saved, ``recalibrate_bn`` re-estimates the running mean/var of every BatchNorm layer that
trains, as an exact average over fresh training crops with the current weights. Frozen
encoder stages keep their (pretrained) statistics.
"""
from __future__ import annotations

import copy
import logging
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

import torch
from torch import nn

from resunet_gui.core.types import Normalization
from resunet_gui.engine.dataset import CropDataset
from resunet_gui.engine.device import resolve_device
from resunet_gui.engine.losses import CEDiceLoss, balanced_weights
from resunet_gui.engine.settings import AugmentConfig, TrainConfig
from resunet_gui.model.resunet import ResUNet

log = logging.getLogger(__name__)
T = TypeVar("T")

MODES: tuple[str, ...] = ("decoder", "decoder+late", "all")
# "decoder+late" trains the two deepest encoder stages along with the decoder.
LATE_FROZEN: tuple[str, ...] = ("stem", "layer1", "layer2")


def default_mode(pretrained: bool) -> tuple[str, str]:
    """Mode plus the reason the GUI shows next to it."""
    if pretrained:
        return "decoder", ("encoder has pretrained weights: fine-tuning the decoder only "
                           "(faster, needs fewer images)")
    return "all", ("encoder has no pretrained weights: training the whole network "
                   "(a random frozen encoder stops improving early)")


def apply_mode(model: ResUNet, mode: str) -> None:
    """Freeze/unfreeze encoder stages for ``mode`` (one of ``MODES``)."""
    if mode not in MODES:
        raise ValueError(f"unknown training mode {mode!r}; expected one of {MODES}")
    model.unfreeze_encoder()
    if mode == "decoder":
        model.freeze_encoder()
    elif mode == "decoder+late":
        model.freeze_encoder(LATE_FROZEN)


@dataclass
class ChunkReport:
    step: int  # optimiser steps so far
    steps: int  # steps in this chunk
    loss: float
    batch_size: int
    epoch: float  # epoch-equivalents so far on the current data
    message: str = ""  # e.g. "out of GPU memory: batch halved to 2"


def run_to_end(pieces: Generator[None, None, T]) -> T:
    """Run a pre-emptible job (a generator of pieces) at once; returns its result."""
    while True:
        try:
            next(pieces)
        except StopIteration as stop:
            return stop.value


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc)


class Trainer:
    """Owns optimiser and loss for one model; steps on crops from a ``CropDataset``.

    ``forward_model`` may be a DistributedDataParallel wrapper of ``model``.

    With ``ema_decay > 0`` it also keeps ``ema``, an exponential moving average of the
    weights: with a few hundred steps on a handful of images the raw weights jump from
    step to step, and the average of the last ~1/(1-decay) steps is the better model to
    score and serve (``candidate``).
    """

    def __init__(self, model: ResUNet, config: TrainConfig, device: torch.device | str = "auto",
                 normalization: Normalization | None = None, dataset: CropDataset | None = None,
                 forward_model: nn.Module | None = None) -> None:
        self.model = model
        self.config = config
        self.device = resolve_device(device)  # a missing device is a DeviceError, not a crash later
        self.normalization = normalization or Normalization()
        self.forward_model = forward_model or model
        self.step_count = 0
        self.batch_size = config.batch_size
        self._crops_on_data = 0
        self.dataset: CropDataset | None = None
        apply_mode(model, config.mode)
        self.model.to(self.device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.loss_fn = CEDiceLoss(model.num_classes, class_weights=config.class_weights,
                                  dice_weight=config.dice_weight).to(self.device)
        self._use_amp = config.amp and self.device.type == "cuda"
        self._amp_dtype = (torch.bfloat16 if self._use_amp and torch.cuda.is_bf16_supported()
                           else torch.float16)
        self._scaler = torch.amp.GradScaler("cuda", enabled=self._use_amp
                                            and self._amp_dtype == torch.float16)
        self.optimizer = self._make_optimizer()
        self.ema: ResUNet | None = None
        if config.ema_decay > 0:
            self.ema = copy.deepcopy(self.model).requires_grad_(False)
        if dataset is not None:
            self.set_dataset(dataset)

    @property
    def candidate(self) -> ResUNet:
        """The weights to score, save and serve: the average when there is one."""
        return self.ema if self.ema is not None else self.model

    @torch.no_grad()
    def reset_ema(self) -> None:
        """Restart the average at the current weights (after they were replaced)."""
        if self.ema is not None:
            self.ema.load_state_dict(self.model.state_dict())

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema is None:
            return
        pairs = [(e, p) for e, p in zip(self.ema.parameters(), self.model.parameters(),
                                         strict=True) if p.requires_grad]
        if pairs:
            torch._foreach_lerp_([e for e, _ in pairs], [p.detach() for _, p in pairs],
                                 1.0 - self.config.ema_decay)

    # -- setup -------------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        params = [p for p in self.model.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.config.lr, weight_decay=self.config.weight_decay)

    def set_mode(self, mode: str) -> None:
        self.config.mode = mode
        apply_mode(self.model, mode)
        if self.ema is not None:  # same frozen stages, so BN recalibration treats both alike
            apply_mode(self.ema, mode)
            self.ema.requires_grad_(False)
            with torch.no_grad():  # a stage frozen from now on is no longer averaged: use
                for e, p in zip(self.ema.parameters(), self.model.parameters(), strict=True):
                    if not p.requires_grad:  # its final weights, not a lagging average
                        e.copy_(p)
        self.optimizer = self._make_optimizer()

    def set_dataset(self, dataset: CropDataset) -> None:
        """New data (more done images): the epoch count restarts on it."""
        # a copy: the augment config may be the caller's (or another trainer's)
        dataset.augment = replace(dataset.augment, crop=self.config.crop)
        self.dataset = dataset
        if self.config.class_balance > 0:
            counts = dataset.class_counts(self.loss_fn.num_classes)
            self.loss_fn.set_ce_balance(balanced_weights(counts, self.config.class_balance))
        self._crops_on_data = 0

    @property
    def epoch(self) -> float:
        if self.dataset is None:
            return 0.0
        return self._crops_on_data / self.dataset.crops_per_epoch()

    def steps_per_epoch(self) -> int:
        if self.dataset is None:
            return 0
        return max(1, math.ceil(self.dataset.crops_per_epoch() / self.batch_size))

    # -- stepping ----------------------------------------------------------------------------
    def _lr_factor(self) -> float:
        w, d = self.config.warmup_steps, self.config.decay_steps
        warm = min(1.0, (self.step_count + 1) / w) if w > 0 else 1.0
        return warm * ((1.0 + self.step_count / d) ** -0.5 if d > 0 else 1.0)

    def _batch(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.dataset is not None
        x, y = self.dataset.batch(batch_size, self.normalization, self.model.in_channels)
        x = x.to(self.device, non_blocking=True)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=True)

    def step(self) -> float:
        """One optimiser step; returns the loss."""
        if self.dataset is None:
            raise RuntimeError("no training data yet")
        for g in self.optimizer.param_groups:
            g["lr"] = self.config.lr * self._lr_factor()
        self.model.train()
        x, y = self._batch(self.batch_size)
        with torch.autocast(self.device.type, dtype=self._amp_dtype, enabled=self._use_amp):
            logits = self.forward_model(x)
        loss = self.loss_fn(logits.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        self._scaler.scale(loss).backward()
        self._scaler.step(self.optimizer)
        self._scaler.update()
        self._update_ema()
        self.step_count += 1
        self._crops_on_data += self.batch_size
        return float(loss.detach())

    def run_chunk(self, steps: int | None = None) -> ChunkReport:
        """A few steps; on CUDA out-of-memory the batch is halved and the step retried."""
        n = steps or self.config.steps_per_chunk
        losses: list[float] = []
        message = ""
        while len(losses) < n:
            try:
                losses.append(self.step())
            except RuntimeError as exc:
                if not is_oom(exc) or self.batch_size <= 1:
                    raise
                self.optimizer.zero_grad(set_to_none=True)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self.batch_size = max(1, self.batch_size // 2)
                message = f"out of GPU memory: training batch halved to {self.batch_size}"
                log.warning(message)
        return ChunkReport(self.step_count, n, sum(losses) / n, self.batch_size, self.epoch,
                           message)

    def chunks(self, max_steps: int | None = None) -> Iterator[ChunkReport]:
        """Generator of chunks; the caller checks its queue between them."""
        while max_steps is None or self.step_count < max_steps:
            left = None if max_steps is None else max_steps - self.step_count
            n = self.config.steps_per_chunk if left is None else min(left,
                                                                    self.config.steps_per_chunk)
            yield self.run_chunk(n)

    # -- BatchNorm cure ----------------------------------------------------------------------
    def recalibrate_bn(self, batches: int | None = None, model: nn.Module | None = None) -> int:
        """Exact running statistics for the trainable BN layers; returns layers updated."""
        return int(run_to_end(self.recalibrate_bn_steps(batches, model)))

    def recalibrate_bn_steps(self, batches: int | None = None, model: nn.Module | None = None
                             ) -> Generator[None, None, int]:
        """``recalibrate_bn`` one batch per ``next()``, so the service can pre-empt it.

        ``model`` defaults to the training model; pass ``candidate`` to calibrate the
        average. Nothing else may run ``model`` in train mode until the generator ends.
        """
        model = self.model if model is None else model
        if self.dataset is None:
            return 0
        n = self.config.bn_recalibration_batches if batches is None else batches
        model.train()  # frozen stages stay in eval (ResUNet.train override)
        bns = [m for m in model.modules()
               if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training]
        if not bns or n <= 0:
            model.eval()
            return 0
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
        aug = self.dataset.augment
        plain = AugmentConfig(crop=aug.crop, scale=(1.0, 1.0), flips=True, rot90=True,
                              brightness=0.0, contrast=0.0)
        try:
            for i in range(n):
                self.dataset.augment = plain
                try:
                    x, _y = self._batch(self.batch_size)
                finally:
                    self.dataset.augment = aug
                with torch.no_grad(), torch.autocast(self.device.type, dtype=self._amp_dtype,
                                                     enabled=self._use_amp):
                    model.train()
                    model(x)
                if i < n - 1:
                    yield
        finally:
            for m, mom in zip(bns, saved, strict=True):
                m.momentum = mom
            model.eval()
        return len(bns)
