"""Cross-entropy + soft Dice with an ignore index.

CE alone learns thin structures (membranes) and small objects (polyps) slowly because
the background dominates the pixel count; the Dice term weighs each class by its own
size, which is what the check-set score measures.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resunet_gui.core.types import IGNORE_INDEX


class CEDiceLoss(nn.Module):
    """``ce_weight * CE + dice_weight * (1 - mean soft Dice)`` over labelled pixels.

    Dice is pooled over the batch per class and averaged over the classes present in the
    batch's truth, so an absent class does not pull the loss toward predicting nothing.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX,
                 class_weights: list[float] | torch.Tensor | None = None,
                 ce_weight: float = 1.0, dice_weight: float = 1.0, smooth: float = 1.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.ce_weight = ce_weight
        self.dice_weight = dice_weight
        self.smooth = smooth
        if class_weights is not None:
            w = torch.as_tensor(class_weights, dtype=torch.float32)
            if w.numel() != num_classes:
                raise ValueError(f"{w.numel()} class weights for {num_classes} classes")
            self.register_buffer("class_weights", w)
        else:
            self.class_weights = None
        self.ce_balance: torch.Tensor | None = None

    def set_ce_balance(self, weights: torch.Tensor | None) -> None:
        """Extra per-class weights for the CE term only (see ``balanced_weights``).

        Only CE: the Dice term already weighs each class by its own size.
        """
        self.ce_balance = None if weights is None else weights.float()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        target = target.long()
        ce_w = self.class_weights
        if self.ce_balance is not None:
            balance = self.ce_balance.to(logits.device)
            ce_w = balance if ce_w is None else ce_w * balance
        ce = F.cross_entropy(logits, target, weight=ce_w, ignore_index=self.ignore_index)
        if self.dice_weight == 0:
            return self.ce_weight * ce
        valid = (target != self.ignore_index).unsqueeze(1)  # N1HW
        safe_t = torch.where(valid.squeeze(1), target, torch.zeros_like(target))
        onehot = F.one_hot(safe_t, self.num_classes).permute(0, 3, 1, 2).float()
        probs = logits.softmax(dim=1)
        validf = valid.float()
        probs = probs * validf
        onehot = onehot * validf
        dims = (0, 2, 3)
        inter = (probs * onehot).sum(dims)
        card = probs.sum(dims) + onehot.sum(dims)
        dice = (2 * inter + self.smooth) / (card + self.smooth)
        present = onehot.sum(dims) > 0
        w = self.class_weights * present if self.class_weights is not None else present.float()
        dice_loss = logits.sum() * 0.0 if w.sum() <= 0 else 1.0 - (dice * w).sum() / w.sum()
        if ce.isnan():  # every pixel ignored
            ce = logits.sum() * 0.0
        return self.ce_weight * ce + self.dice_weight * dice_loss


def balanced_weights(counts: np.ndarray, power: float, max_ratio: float = 10.0) -> torch.Tensor:
    """Per-class weights proportional to ``frequency ** -power``, mean 1 over present classes.

    ``power`` 0.5 (square-root balancing) is a middle way: full inverse frequency (1.0)
    overshoots into false positives, none (0) lets the background dominate thin structures.
    Classes with no pixels get the largest weight of the others (they do not enter CE);
    no weight exceeds ``max_ratio`` times the smallest.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    if power <= 0 or present.sum() < 2:
        return torch.ones(len(counts))
    freq = counts / counts.sum()
    w = np.ones_like(freq)
    w[present] = freq[present] ** -power
    w[present] = np.minimum(w[present], w[present].min() * max_ratio)
    w[~present] = w[present].max()
    w /= w[present].mean()
    return torch.as_tensor(w, dtype=torch.float32)
