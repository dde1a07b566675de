"""Training data: the project's done images in memory, sampled as augmented crops.

Images are kept as float16 (half the memory of float32, exact enough for 8-bit data) and
only crops are converted, so a batch costs crop-sized work however big the images are.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from resunet_gui.core.errors import MaskError, ResunetError
from resunet_gui.core.types import IGNORE_INDEX, ImageStatus, Normalization
from resunet_gui.engine.augment import augment_sample
from resunet_gui.engine.predictor import norm_vector, to_model_input
from resunet_gui.engine.settings import AugmentConfig

log = logging.getLogger(__name__)


@dataclass
class Sample:
    stem: str
    image: np.ndarray  # HxWxC float16 in [0, 1]
    mask: np.ndarray  # HxW uint8, 255 = ignore
    # pixels per class id 0..254, counted once so re-weighting the loss after each new
    # done image costs nothing however large the images are
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.bincount(self.mask.ravel(), minlength=256)[:IGNORE_INDEX]


def to_tensor(batch_hwc: Sequence[np.ndarray], normalization: Normalization,
              in_channels: int) -> torch.Tensor:
    """List of HxWxC [0,1] arrays -> normalised NCHW float32 tensor.

    Channel matching is ``Predictor``'s own ``to_model_input``, so training sees exactly
    what suggestions see.
    """
    arr = np.stack([to_model_input(b, in_channels) for b in batch_hwc])
    arr = (arr - norm_vector(normalization.mean, in_channels)) / norm_vector(
        normalization.std, in_channels)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))


class CropDataset:
    """Infinite source of augmented crops, images drawn in proportion to their area."""

    def __init__(self, samples: Sequence[Sample], augment: AugmentConfig | None = None,
                 seed: int = 0) -> None:
        if not samples:
            raise ValueError("no training images")
        self.samples = list(samples)
        self.augment = augment or AugmentConfig()
        self.rng = np.random.default_rng(seed)
        areas = np.array([s.mask.size for s in self.samples], dtype=np.float64)
        self._p = areas / areas.sum()

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def pixels(self) -> int:
        return int(sum(s.mask.size for s in self.samples))

    def class_counts(self, num_classes: int) -> np.ndarray:
        """Labelled pixels per class over all images (ignore excluded)."""
        return np.sum([s.counts[:num_classes] for s in self.samples], axis=0)

    def crops_per_epoch(self) -> int:
        """Crops needed to see about every labelled pixel once: an 'epoch-equivalent'."""
        return max(1, int(np.ceil(self.pixels / float(self.augment.crop ** 2))))

    def sample(self, batch_size: int) -> tuple[list[np.ndarray], np.ndarray]:
        images, masks = [], []
        for i in self.rng.choice(len(self.samples), size=batch_size, p=self._p):
            s = self.samples[int(i)]
            img, msk = augment_sample(s.image.astype(np.float32), s.mask, self.augment, self.rng)
            images.append(img)
            masks.append(msk)
        return images, np.stack(masks)

    def batch(self, batch_size: int, normalization: Normalization,
              in_channels: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = self.sample(batch_size)
        x = to_tensor(images, normalization, in_channels)
        y = torch.from_numpy(masks.astype(np.int64))
        return x, y


def make_sample(stem: str, image_hwc: np.ndarray, mask: np.ndarray) -> Sample:
    if image_hwc.ndim == 2:
        image_hwc = image_hwc[:, :, None]
    if image_hwc.shape[:2] != mask.shape:
        raise MaskError(f"{stem}: image {image_hwc.shape[:2]} and mask {mask.shape} differ")
    return Sample(stem, image_hwc.astype(np.float16), mask.astype(np.uint8))


def load_sample(project, stem: str, warnings: list[str] | None = None) -> Sample | None:
    """Image + mask checked by ``Project.read_mask_checked`` (values that are no class
    become ignore); None without a mask; ``ResunetError`` for files that cannot be used.

    Does not touch the project's bookkeeping of mask versions, so a worker thread may call it.
    """
    from resunet_gui.core.imageio import read_image

    mask = project.read_mask_checked(stem, unknown="ignore", warnings=warnings)
    if mask is None:
        return None
    return make_sample(stem, read_image(project.image_path(stem)).model_input(), mask)


def load_samples(project, stems: Sequence[str], warnings: list[str] | None = None
                 ) -> list[Sample]:
    """``load_sample`` of each stem; images without a mask are skipped, and so are images
    whose files cannot be used (the reason goes to ``warnings``, else to the log)."""
    out = []
    for stem in stems:
        try:
            sample = load_sample(project, stem, warnings)
        except ResunetError as exc:
            if warnings is None:
                log.warning("%s skipped: %s", stem, exc)
            else:
                warnings.append(f"{stem} skipped: {exc}")
            continue
        if sample is not None:
            out.append(sample)
    return out


def done_stems(project) -> list[str]:
    """Images the user marked done; in-progress and suggested images never train."""
    return sorted(project.stems_with_status(ImageStatus.DONE))


def labelled_stems(project, split: str | None = None) -> list[str]:
    """Stems with a mask file (headless commands use existing masks, not done status)."""
    out = []
    for stem in project.stems():
        if split is not None and (project.split_of(stem) or "train") != split:
            continue
        if project.mask_path(stem).exists():
            out.append(stem)
    return out


def ignore_fraction(mask: np.ndarray) -> float:
    return float((mask == IGNORE_INDEX).mean())
