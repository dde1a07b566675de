"""Whole-image inference: normalise, tile with blended seams, AMP on CUDA, OOM fallback.

Images larger than ``tile`` are cut into overlapping tiles; each tile's class probabilities
are weighted by a linear ramp towards its edges and the weighted sum is normalised, so seams
do not show. Out of memory -> retry with half the tile -> on the CPU, each with a logged notice.
The image is converted to the model's float input one tile at a time (a uint8 20000x20000
image is never copied whole as float), and the weight sum is kept as two 1-D profiles.
The tiles are spread evenly and shrunk to the smallest size (a multiple of 32) that covers
the image with at least ``overlap`` between neighbours, so a large image costs little more
per pixel than one tile (6000 px with 1024 px tiles: 7 tiles of 928 px, not 7 of 1024).
``progress(done, total)`` is called per tile batch; with a ``TileCache`` and a ``key``, a
cancelled prediction leaves its finished tiles there and the next call resumes from them.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.types import Normalization
from resunet_gui.engine.device import resolve_device
from resunet_gui.engine.tile_cache import PartialTiles, TileCache
from resunet_gui.model.batchnorm_fold import WeightsStamp, folded_copy

log = logging.getLogger(__name__)
_FINISH_ROWS = 256  # rows per band when turning probabilities into mask and entropy


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


def norm_vector(values: Sequence[float], in_channels: int) -> np.ndarray:
    """Mean/std per model channel: one value is repeated, several are averaged for a
    one-channel model. Training (``dataset.to_tensor``) and prediction both use this."""
    v = [float(x) for x in values]
    if len(v) == in_channels:
        return np.asarray(v, dtype=np.float32)
    if len(v) == 1:
        return np.asarray(v * in_channels, dtype=np.float32)
    if in_channels == 1:
        return np.asarray([float(np.mean(v))], dtype=np.float32)
    raise ValueError(f"normalisation has {len(v)} values for {in_channels} channels")


def tile_layout(size: int, tile: int, overlap: int) -> tuple[int, list[int]]:
    """(tile length, starts) along one side: the fewest tiles of at most ``tile`` with at
    least ``overlap`` between neighbours, shrunk to a multiple of 32 and spread evenly."""
    if size <= tile:
        return size, [0]
    n = math.ceil((size - overlap) / (tile - overlap))
    length = min(tile, math.ceil((size + (n - 1) * overlap) / n / 32) * 32)
    return length, [round(i * (size - length) / (n - 1)) for i in range(n)]


def _ramp(n: int, overlap: int) -> torch.Tensor:
    w = torch.ones(n)
    o = min(overlap, n // 2)
    if o > 0:
        r = (torch.arange(o, dtype=torch.float32) + 1.0) / (o + 1.0)
        w[:o] = r
        w[n - o:] = torch.minimum(w[n - o:], r.flip(0))
    return w


def _argmax_classes(probs: torch.Tensor) -> torch.Tensor:
    """``probs.argmax(0)`` for K x H x W, class by class: torch reduces over the leading
    dimension of a row band about 40 times slower (44 ms for 2 x 256 x 1024 on a CPU)."""
    best, index = probs[0].clone(), torch.zeros(probs.shape[1:], dtype=torch.uint8)
    for c in range(1, probs.shape[0]):
        higher = probs[c] > best
        index.masked_fill_(higher, c)
        best = torch.maximum(best, probs[c])
    return index


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
        fold_batch_norm: bool = True,
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
        self.mean = norm_vector(self.normalization.mean, self.in_channels)
        self.std = norm_vector(self.normalization.std, self.in_channels)
        # torch stubs lack the to(device, memory_format=) form that Module.to accepts
        self.model.to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._cpu_copy: nn.Module | None = None
        # prediction runs a copy with batch norm folded into the convolutions (a fifth
        # faster on a CPU), rebuilt when the served weights change; off for a model whose
        # weights change every step (the trainer's candidate), where rebuilding would cost more
        has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        self._stamp = WeightsStamp(model) if fold_batch_norm and has_bn else None
        self._folded: nn.Module | None = None

    # -- public ---------------------------------------------------------------------------------
    def predict(
        self, image: np.ndarray, should_cancel: Callable[[], bool] | None = None, *,
        progress: Callable[[int, int], None] | None = None,
        cache: TileCache | None = None, key: object = None,
    ) -> Prediction:
        """Class probabilities, argmax mask and entropy for one HxW(xC) image.

        ``image`` may be uint8/uint16 (scaled by the dtype's maximum) or float in [0, 1];
        it is converted tile by tile, so pass the smallest dtype you have.
        """
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = arr[..., None]
        to_model_input(arr[:1, :1], self.in_channels)  # validates shape and channels, cheaply
        h, w = arr.shape[:2]
        tile, device, model = min(self.tile, max(h, w)), self.device, self._inference_model()
        while True:
            try:
                probs = self._run(model, arr, tile, device,
                                  _Job(should_cancel, progress, cache, key))
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
    def _inference_model(self) -> nn.Module:
        """The served model, or its batch-norm-folded copy (rebuilt when its weights changed)."""
        if self._stamp is None:
            return self.model
        if self._stamp.changed() or self._folded is None:
            self._folded = folded_copy(self.model)
        return self._folded

    def _cpu_model(self) -> nn.Module:
        """The CPU copy used after an out-of-memory fallback: made once, then only given the
        current weights (the served model may have been updated since)."""
        if self._cpu_copy is None:
            self._cpu_copy = copy.deepcopy(self.model).to("cpu")
        else:
            self._cpu_copy.load_state_dict(self.model.state_dict())
        return self._cpu_copy

    def _finish(self, probs: torch.Tensor, tile: int, device: torch.device) -> Prediction:
        k, h = probs.shape[0], probs.shape[1]
        entropy = torch.zeros(probs.shape[1:])
        mask = torch.empty(probs.shape[1:], dtype=torch.uint8)
        for r in range(0, h, _FINISH_ROWS):  # by row bands: temporaries stay band-sized
            band = probs[:, r:r + _FINISH_ROWS]
            mask[r:r + _FINISH_ROWS] = _argmax_classes(band)
            for c in range(k if k > 1 else 0):
                entropy[r:r + _FINISH_ROWS].sub_(torch.special.xlogy(band[c], band[c]))
        if k > 1:
            entropy.div_(math.log(k)).clamp_(0.0, 1.0)
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
        th, ys = tile_layout(h, tile, self.overlap)
        tw, xs = tile_layout(w, tile, self.overlap)
        for y in ys:
            for x in xs:
                yield y, x, th, tw

    def _tensor(self, piece: np.ndarray) -> torch.Tensor:
        """One tile (HxWxC, any dtype) as the model's float32 input."""
        return torch.from_numpy(np.ascontiguousarray(to_model_input(piece, self.in_channels)))

    def _run(self, model: nn.Module, img: np.ndarray, tile: int, device: torch.device,
             job: _Job) -> torch.Tensor:
        h, w = img.shape[:2]
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                if h <= tile and w <= tile:
                    job.check()
                    out = self._forward(model, self._tensor(img)[None], device)[0]
                    job.report(1, 1)
                    return out
                return self._run_tiled(model, img, tile, device, job)
        finally:
            model.train(was_training)

    def _run_tiled(self, model: nn.Module, img: np.ndarray, tile: int, device: torch.device,
                   job: _Job) -> torch.Tensor:
        h, w = img.shape[:2]
        boxes = list(self._tiles(h, w, tile))
        th, tw = boxes[0][2], boxes[0][3]
        ramp_y, ramp_x = _ramp(th, self.overlap), _ramp(tw, self.overlap)
        weight = ramp_y[:, None] * ramp_x[None, :]
        # the tiles form a full grid and the weight is separable, so the sum of weights
        # over the image is the outer product of two 1-D sums: no HxW weight buffer
        wsum_y, wsum_x = torch.zeros(h), torch.zeros(w)
        for y in {b[0] for b in boxes}:
            wsum_y[y:y + th] += ramp_y
        for x in {b[1] for b in boxes}:
            wsum_x[x:x + tw] += ramp_x
        part = job.resume((h, w, th, tw, len(boxes)))
        job.report(part.done, len(boxes))
        try:
            for i in range(part.done, len(boxes), self.batch_tiles):
                job.check()
                group = boxes[i:i + self.batch_tiles]
                batch = torch.stack([self._tensor(img[y:y + th, x:x + tw]) for y, x, _, _ in group])
                probs = self._forward(model, batch, device)
                if part.acc is None:
                    part.acc = torch.zeros(probs.shape[1], h, w)
                for (y, x, _, _), p in zip(group, probs, strict=True):
                    part.acc[:, y:y + th, x:x + tw].addcmul_(p, weight)
                part.done = i + len(group)
                job.report(part.done, len(boxes))
        except Cancelled:
            job.keep(part)
            raise
        assert part.acc is not None
        return part.acc.div_(wsum_y.view(1, -1, 1)).div_(wsum_x.view(1, 1, -1))


@dataclass
class _Job:
    """What one ``predict`` call was given besides the image: cancel, progress, resume."""

    should_cancel: Callable[[], bool] | None = None
    progress: Callable[[int, int], None] | None = None
    cache: TileCache | None = None
    key: object = None

    def check(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled()

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def resume(self, geometry: tuple[int, ...]) -> PartialTiles:
        """The finished tiles a cancelled call left for this key and layout, or none."""
        if self.cache is not None and self.key is not None:
            part = self.cache.take(self.key, geometry)
            if part is not None:
                return part
        return PartialTiles(geometry, None, 0)

    def keep(self, part: PartialTiles) -> None:
        if self.cache is not None and self.key is not None and part.acc is not None:
            self.cache.put(self.key, part)
