"""Refine this image from my strokes: the model re-predicts the image using the user's labels.

Chosen approach (measured in ``cli/bench_effort.py``; see the issue 14 notes): a few quick
fine-tuning steps of a *copy of the segmentation head* on the pixels the user painted,
on decoder features computed once. Guidance maps (extra input channels fed with clicks,
as in RITM/DeepEdit) need the network retrained with simulated clicks before they help,
and every version the app trains would have to learn them too; the head copy needs no
change to the architecture or the training, and costs about one forward pass: the
steps run on sampled 3x3 feature patches, not the whole image.

The loss is cross-entropy on the painted pixels plus, on a sample of the other pixels,
a pull towards the model's own probabilities (so the untouched parts change only where
the strokes say so). The caller keeps the painted pixels (``MaskDocument.refine_unpainted``).

Measured (``bench --effort``, one CPU thread): 1.0 s at 512x512 (a suggestion is 0.6 s),
3.3 s at 1024x1024. Benefit on ISBI after three corrective strokes of the effort model
(3 images, a version after 3 images): -0.01 to +0.002 Dice depending on the step size;
on synthetic blobs a large gain. A linear head on fixed features cannot learn much from
thin-structure corrections; the simulated user therefore keeps a refine only when it
helps, and guidance-map training remains the option to measure next.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from resunet_gui.core.types import Normalization
from resunet_gui.engine.dataset import to_tensor
from resunet_gui.engine.predictor import Cancelled, Prediction
from resunet_gui.model.resunet import ResUNet, pad_to_multiple


@dataclass
class Strokes:
    """The user's labels and which pixels were painted (provenance CORRECTED or SCRATCH)."""

    labels: np.ndarray  # HxW uint8
    painted: np.ndarray  # HxW bool


@dataclass
class RefineConfig:
    steps: int = 20
    lr: float = 0.01
    max_samples: int = 8000  # per side: painted pixels, and other pixels
    keep_weight: float = 1.0  # pull towards the model's own output off the strokes
    # the refit is used within this many pixels of a stroke, the model's own answer beyond:
    # measured on ISBI, a head fitted to a few strokes helps near them and hurts far away
    local_px: int = 48
    seed: int = 0


def _patches(feats: torch.Tensor, ys: np.ndarray, xs: np.ndarray) -> torch.Tensor:
    """N x (C*9) 3x3 neighbourhoods of ``feats`` (1xCxHxW) in the head's weight order."""
    fp = F.pad(feats, (1, 1, 1, 1))[0]
    y, x = torch.from_numpy(ys), torch.from_numpy(xs)
    cols = [fp[:, y + dy, x + dx] for dy in range(3) for dx in range(3)]  # 9 x (C x N)
    return torch.stack(cols, 1).reshape(-1, len(ys)).T  # (C, 9, N) -> N x (C*9)


def _sample(mask: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(mask)
    if ys.size > n:
        keep = rng.choice(ys.size, n, replace=False)
        ys, xs = ys[keep], xs[keep]
    return ys, xs


def refine_prediction(model: ResUNet, normalization: Normalization, image: np.ndarray,
                      strokes: Strokes, device: torch.device | str = "cpu",
                      should_cancel: Callable[[], bool] | None = None,
                      config: RefineConfig | None = None) -> Prediction:
    """Re-predict ``image`` after fitting a copy of the head to the painted pixels."""
    cfg = config or RefineConfig()
    cancel = should_cancel or (lambda: False)
    model.eval()
    x = to_tensor([image], normalization, model.in_channels).to(device)
    with torch.inference_mode():  # the forward pass is most of the cost: as fast as predict
        xp, h, w = pad_to_multiple(x, model.encoder.reduction)
        xp = xp.contiguous(memory_format=torch.channels_last)
        feats = model.decoder(model.encoder(xp)).float()
        base = torch.softmax(model.head(feats)[..., :h, :w], 1).clone()
        feats = feats[..., :h, :w].contiguous().clone()
    if cancel():
        raise Cancelled()
    conv = model.head.conv
    k = conv.out_channels
    weight = conv.weight.detach().float().reshape(k, -1).clone().requires_grad_(True)
    if conv.bias is None:
        raise ValueError("refine needs a segmentation head with a bias")
    bias = conv.bias.detach().float().clone().requires_grad_(True)
    rng = np.random.default_rng(cfg.seed)
    painted = strokes.painted & (strokes.labels < k)
    py, px = _sample(painted, cfg.max_samples, rng)
    fy, fx = _sample(~painted, cfg.max_samples, rng)
    if py.size and fy.size:  # nothing painted, or nothing left to predict: no steps
        xs_p, xs_f = _patches(feats, py, px), _patches(feats, fy, fx)
        target = torch.from_numpy(strokes.labels[py, px].astype(np.int64)).to(device)
        keep = base[0][:, torch.from_numpy(fy), torch.from_numpy(fx)].T
        opt = torch.optim.Adam([weight, bias], lr=cfg.lr)
        for _ in range(cfg.steps):
            opt.zero_grad()
            loss = F.cross_entropy(xs_p @ weight.T + bias, target)
            log_p = F.log_softmax(xs_f @ weight.T + bias, 1)
            loss = loss - cfg.keep_weight * (keep * log_p).sum(1).mean()
            loss.backward()
            opt.step()
        if cancel():
            raise Cancelled()
    with torch.no_grad():
        logits = F.conv2d(feats, weight.reshape(conv.weight.shape), bias, padding=1)
        probs = torch.softmax(logits, 1)[0].cpu().numpy().astype(np.float32)
    if cfg.local_px > 0 and painted.any():
        far = cv2.distanceTransform((~painted).astype(np.uint8), cv2.DIST_L2, 3) > cfg.local_px
        probs = np.where(far[None], base[0].cpu().numpy(), probs).astype(np.float32)
    ent = -(probs * np.log(np.clip(probs, 1e-8, 1.0))).sum(0) / max(np.log(k), 1e-8)
    return Prediction(probs=probs, mask=probs.argmax(0).astype(np.uint8),
                      uncertainty=float(ent.mean()), entropy=ent.astype(np.float32),
                      device=str(device))
