"""Whole-image inference: normalise, tile with blended seams, AMP on CUDA, OOM fallback.

Images larger than ``tile`` are cut into overlapping tiles; each tile's class probabilities
are weighted by a linear ramp towards its edges and the weighted sum is normalised, so seams
do not show. Out of memory -> retry with half the tile -> on the CPU, each with a logged notice.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.types import Normalization
from resunet_gui.engine.device import resolve_device

log = logging.getLogger(__name__)


class Cancelled(Exception):  # noqa: N818 - a control-flow signal, not a failure
    """``should_cancel()`` returned True between two tiles."""


class PredictionError(ResunetError):
    """Inference failed even after falling back to smaller tiles and the CPU."""


@dataclass
class Prediction:
    probs: np.ndarray  # K x H x W float32, sums to 1 over K
    mask: np.ndarray  # H x W uint8 class index (argmax)
    uncertainty: float  # mean normalised entropy in [0, 1]
    entropy: np.ndarray | None = None  # H x W float32 normalised entropy
    tile: int = 0  # tile side actually used
    device: str = "cpu"


def to_model_input(image: np.ndarray, in_channels: int) -> np.ndarray:
    """HxW or HxWxC image (uint8/uint16/float in [0,1]) -> float32 HxWx``in_channels``."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"expected an HxW or HxWxC image, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    else:
        arr = arr.astype(np.float32, copy=False)
    c = arr.shape[2]
    if c == in_channels:
        return arr
    if in_channels == 3 and c in (1, 2):  # grey (+ alpha)
        return np.repeat(arr[..., :1], 3, axis=2)
    if in_channels == 3 and c >= 3:  # drop alpha / extra channels
        return arr[..., :3]
    if in_channels == 1 and c >= 3:
        return (arr[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    if in_channels == 1:
        return arr[..., :1]
    raise ValueError(f"cannot feed a {c}-channel image to a {in_channels}-channel model")


def _norm_vector(values: tuple[float, ...], in_channels: int) -> list[float]:
    if len(values) == in_channels:
        return list(values)
    if len(values) == 1:
        return list(values) * in_channels
    if in_channels == 1:
        return [float(np.mean(values))]
    raise ValueError(f"normalisation has {len(values)} values for {in_channels} channels")


def _starts(size: int, tile: int, stride: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, stride))
    return [*starts, size - tile]


def _ramp(n: int, overlap: int) -> torch.Tensor:
    w = torch.ones(n)
    o = min(overlap, n // 2)
    if o > 0:
        r = (torch.arange(o, dtype=torch.float32) + 1.0) / (o + 1.0)
        w[:o] = r
        w[n - o:] = torch.minimum(w[n - o:], r.flip(0))
    return w


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


class Predictor:
    """Runs a segmentation model on whole images of any size."""

    def __init__(
        self,
        model: nn.Module,
        normalization: Normalization | None = None,
        device: str | torch.device = "auto",
        tile: int = 1024,
        overlap: int = 64,
        amp: bool = True,
        batch_tiles: int = 1,
        min_tile: int = 128,
    ) -> None:
        if tile < 32:
            raise ValueError(f"tile must be >= 32, got {tile}")
        self.model = model
        self.normalization = normalization or Normalization()
        self.device = resolve_device(device)
        self.tile = int(tile)
        self.overlap = max(0, min(int(overlap), self.tile // 4))
        self.amp = amp
        self.batch_tiles = max(1, int(batch_tiles))
        self.min_tile = min_tile
        self.in_channels = int(getattr(model, "in_channels", 3))
        self.mean = _norm_vector(tuple(self.normalization.mean), self.in_channels)
        self.std = _norm_vector(tuple(self.normalization.std), self.in_channels)
        self.model.to(self.device, memory_format=torch.channels_last)
        self._cpu_copy: nn.Module | None = None

    # -- public ---------------------------------------------------------------------------------
    def predict(
        self, image: np.ndarray, should_cancel: Callable[[], bool] | None = None
    ) -> Prediction:
        """Class probabilities, argmax mask and entropy for one HxW(xC) image."""
        arr = to_model_input(image, self.in_channels)
        h, w = arr.shape[:2]
        tile, device, model = min(self.tile, max(h, w)), self.device, self.model
        while True:
            try:
                probs = self._run(model, torch.from_numpy(np.ascontiguousarray(arr)), tile,
                                  device, should_cancel)
                break
            except Cancelled:
                raise
            except Exception as exc:
                if not _is_oom(exc):
                    raise
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                if tile // 2 >= self.min_tile:
                    log.warning("out of memory on %s with %d px tiles; retrying with %d px tiles",
                                device, tile, tile // 2)
                    tile //= 2
                elif device.type != "cpu":
                    log.warning("out of memory on %s even with %d px tiles; predicting on the CPU",
                                device, tile)
                    device = torch.device("cpu")
                    model = self._cpu_model()
                    tile = min(self.tile, max(h, w))
                else:
                    raise PredictionError(
                        f"not enough memory to predict a {w}x{h} image, even with "
                        f"{tile} px tiles on the CPU") from exc
        return self._finish(probs, tile, device)

    # -- internals ------------------------------------------------------------------------------
    def _cpu_model(self) -> nn.Module:
        """The CPU copy used after an out-of-memory fallback: made once, then only given the
        current weights (the served model may have been updated since)."""
        if self._cpu_copy is None:
            self._cpu_copy = copy.deepcopy(self.model).to("cpu")
        else:
            self._cpu_copy.load_state_dict(self.model.state_dict())
        return self._cpu_copy

    def _finish(self, probs: torch.Tensor, tile: int, device: torch.device) -> Prediction:
        k = probs.shape[0]
        if k > 1:
            plogp = probs * torch.log(probs.clamp_min(1e-12))
            entropy = (-plogp.sum(0) / math.log(k)).clamp_(0.0, 1.0)
        else:
            entropy = torch.zeros(probs.shape[1:])
        mask = probs.argmax(0).to(torch.uint8)
        return Prediction(probs=probs.numpy(), mask=mask.numpy(),
                          uncertainty=float(entropy.mean()), entropy=entropy.numpy(),
                          tile=tile, device=str(device))

    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.amp and device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def _forward(self, model: nn.Module, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        """N x h x w x C float tensor (CPU) -> N x K x h x w float32 probabilities (CPU)."""
        x = batch.to(device, non_blocking=True).permute(0, 3, 1, 2)  # NHWC memory = channels_last
        mean = torch.tensor(self.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=device).view(1, -1, 1, 1)
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        with self._autocast(device):
            logits = model(x)
        return logits.float().softmax(1).cpu()

    def _tiles(self, h: int, w: int, tile: int) -> Iterator[tuple[int, int, int, int]]:
        th, tw = min(tile, h), min(tile, w)
        stride = max(1, tile - self.overlap)
        for y in _starts(h, th, stride):
            for x in _starts(w, tw, stride):
                yield y, x, th, tw

    def _run(self, model: nn.Module, img: torch.Tensor, tile: int, device: torch.device,
             should_cancel: Callable[[], bool] | None) -> torch.Tensor:
        h, w = img.shape[:2]
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                if h <= tile and w <= tile:
                    if should_cancel is not None and should_cancel():
                        raise Cancelled()
                    return self._forward(model, img[None], device)[0]
                return self._run_tiled(model, img, tile, device, should_cancel)
        finally:
            model.train(was_training)

    def _run_tiled(self, model: nn.Module, img: torch.Tensor, tile: int, device: torch.device,
                   should_cancel: Callable[[], bool] | None) -> torch.Tensor:
        h, w = img.shape[:2]
        boxes = list(self._tiles(h, w, tile))
        th, tw = boxes[0][2], boxes[0][3]
        weight = _ramp(th, self.overlap)[:, None] * _ramp(tw, self.overlap)[None, :]
        acc: torch.Tensor | None = None
        wsum = torch.zeros(h, w)
        for i in range(0, len(boxes), self.batch_tiles):
            if should_cancel is not None and should_cancel():
                raise Cancelled()
            group = boxes[i:i + self.batch_tiles]
            batch = torch.stack([img[y:y + th, x:x + tw] for y, x, _, _ in group])
            probs = self._forward(model, batch, device)
            if acc is None:
                acc = torch.zeros(probs.shape[1], h, w)
            for (y, x, _, _), p in zip(group, probs, strict=True):
                acc[:, y:y + th, x:x + tw] += p * weight
                wsum[y:y + th, x:x + tw] += weight
        assert acc is not None
        return acc.div_(wsum)
