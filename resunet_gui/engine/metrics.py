"""Segmentation scores from an accumulated confusion matrix (numpy only, no torch).

Scores are pooled over all pixels of a set of images (not averaged per image), so a
small image with one stray pixel cannot swing the check-set score that decides which
model version is kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from resunet_gui.core.types import IGNORE_INDEX


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """KxK counts, rows = truth, columns = prediction; ``ignore_index`` pixels skipped."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and truth {target.shape} differ in shape")
    t = target.reshape(-1).astype(np.int64)
    p = pred.reshape(-1).astype(np.int64)
    valid = (t != ignore_index) & (t < num_classes) & (p < num_classes)
    idx = t[valid] * num_classes + p[valid]
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@dataclass
class SegmentationScores:
    """Dice and IoU per class plus summaries; ``score`` is what keep-best compares."""

    dice: list[float]
    iou: list[float]
    present: list[bool]
    pixels: int
    images: int = 0
    confusion: list[list[int]] = field(default_factory=list)
    # Foreground soft Dice from class probabilities (None when not measured): it moves
    # while the argmax does not, so it can tell two models apart that tie on ``score``
    soft_score: float | None = None
    # ``score`` of each image alone, in order: keep-best compares two versions image by image
    per_image: list[float] = field(default_factory=list)

    @property
    def mean_dice(self) -> float:
        vals = [d for d, p in zip(self.dice, self.present, strict=True) if p]
        return float(np.mean(vals)) if vals else 0.0

    @property
    def mean_iou(self) -> float:
        vals = [d for d, p in zip(self.iou, self.present, strict=True) if p]
        return float(np.mean(vals)) if vals else 0.0

    @property
    def score(self) -> float:
        """Mean Dice over the foreground classes present (class 0 is background).

        Background Dice is near 1 for most tasks and would hide a model that misses the
        objects; with a single class the score is that class's Dice.
        """
        fg = [d for i, (d, p) in enumerate(zip(self.dice, self.present, strict=True))
              if p and i > 0]
        if fg:
            return float(np.mean(fg))
        return self.mean_dice

    def to_dict(self, names: list[str] | None = None) -> dict:
        names = names or [str(i) for i in range(len(self.dice))]
        return {
            "dice": {n: round(d, 6) for n, d in zip(names, self.dice, strict=False)},
            "iou": {n: round(v, 6) for n, v in zip(names, self.iou, strict=False)},
            "mean_dice": round(self.mean_dice, 6),
            "mean_iou": round(self.mean_iou, 6),
            "score": round(self.score, 6),
            "images": self.images,
            "pixels": self.pixels,
            **({"soft_score": round(self.soft_score, 6)} if self.soft_score is not None else {}),
        }


def scores_from_confusion(cm: np.ndarray, images: int = 0) -> SegmentationScores:
    """Dice = 2TP/(2TP+FP+FN); a class absent from truth and prediction is marked absent."""
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom_d = 2 * tp + fp + fn
    denom_i = tp + fp + fn
    present = denom_d > 0
    dice = np.where(present, 2 * tp / np.maximum(denom_d, 1), 0.0)
    iou = np.where(present, tp / np.maximum(denom_i, 1), 0.0)
    return SegmentationScores(
        dice=[float(x) for x in dice], iou=[float(x) for x in iou],
        present=[bool(x) for x in present], pixels=int(cm.sum()), images=images,
        confusion=cm.tolist(),
    )


class ScoreAccumulator:
    """Adds images one at a time; ``result()`` gives the pooled scores."""

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.cm = np.zeros((num_classes, num_classes), dtype=np.int64)
        self.images = 0
        self._soft = np.zeros((3, num_classes), dtype=np.float64)  # p*t, p, t per class
        self._soft_images = 0
        self.per_image: list[float] = []

    def add(self, pred: np.ndarray, target: np.ndarray, probs: np.ndarray | None = None
            ) -> None:
        """``probs`` (KxHxW class probabilities), when given, feeds ``soft_score``."""
        cm = confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        self.cm += cm
        self.images += 1
        self.per_image.append(scores_from_confusion(cm, 1).score)
        if probs is None or probs.shape[0] != self.num_classes:
            return
        valid = target != self.ignore_index
        t = target[valid]
        for k in range(self.num_classes):
            p = probs[k][valid].astype(np.float64)
            hit = t == k
            self._soft[:, k] += (p[hit].sum(), p.sum(), hit.sum())
        self._soft_images += 1

    def result(self) -> SegmentationScores:
        out = scores_from_confusion(self.cm, self.images)
        out.per_image = list(self.per_image)
        if self.images and self._soft_images == self.images:
            inter, psum, tsum = self._soft
            fg = [k for k in range(1 if self.num_classes > 1 else 0, self.num_classes)
                  if tsum[k] > 0]
            if fg:
                out.soft_score = float(np.mean([2 * inter[k] / (psum[k] + tsum[k])
                                                for k in fg]))
        return out


def corrected_fraction(suggestion: np.ndarray, truth: np.ndarray,
                       ignore_index: int = IGNORE_INDEX) -> float:
    """Fraction of labelled pixels a user must change to turn the suggestion into the truth."""
    valid = truth != ignore_index
    n = int(valid.sum())
    if n == 0:
        return 0.0
    return float(((suggestion != truth) & valid).sum() / n)
