"""All engine, training and simulation settings as plain data, in one place: no torch or cv2,
so the CLI builds its parsers (and reads their defaults from here) without loading either.

No config changes another or its caller's: a derived value is a copy (``dataclasses.replace``)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass
class AugmentConfig:
    crop: int = 256
    scale: tuple[float, float] = (0.8, 1.25)
    flips: bool = True
    rot90: bool = True
    brightness: float = 0.1
    contrast: float = 0.15


@dataclass
class TrainConfig:
    mode: str = "all"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    batch_size: int = 4
    crop: int = 256
    steps_per_chunk: int = 1  # a suggestion waits for at most this many steps (~1.3 s on CPU)
    warmup_steps: int = 10
    # lr * (1 + step / decay_steps) ** -0.5 after warm-up: an open-ended stream of images has
    # no end to anneal towards, so the decay is slow and never reaches zero (0 = constant)
    decay_steps: int = 0
    amp: bool = True
    class_weights: list[float] | None = None
    # CE re-weighted by (class frequency in the done masks) ** -class_balance; see
    # ``losses.balanced_weights`` (0 = plain CE). 0.5 measured +0.009 membrane Dice on
    # ISBI val after 220 steps (thin membranes were under-segmented on unseen slices)
    class_balance: float = 0.5
    dice_weight: float = 1.0
    bn_recalibration_batches: int = 4
    # Weight average that suggestions are served from (0 = the raw weights); see ``Trainer``
    ema_decay: float = 0.95
    channels_last: bool = True
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        # the crop is set in one place (here); the caller's AugmentConfig stays as given
        if self.augment.crop != self.crop:
            self.augment = replace(self.augment, crop=self.crop)


@dataclass
class EngineConfig:
    """How ``ProjectEngine`` builds and trains a project's model."""

    device: str = "auto"
    weights: str = "imagenet"  # "imagenet" (from the cache only), "none", or a file path
    mode: str | None = None  # None: decoder if the encoder is pretrained, else all
    train: TrainConfig = field(default_factory=TrainConfig)
    # evaluate every max(this, one epoch-equivalent) steps; before a first version, every this many
    min_eval_steps: int = 20
    tile: int = 1024
    seed: int = 0


SIM_ORDERS: tuple[str, ...] = ("spread", "first", "random")


@dataclass
class SimConfig:
    time_per_image: float = 45.0
    steps_per_image: int | None = None  # instead of seconds: N steps, in lock-step
    max_images: int | None = None
    # which ``max_images`` of the train images the user annotates, in list order: "spread"
    # (evenly over the list: a folder of video frames gives frames of many videos, as a
    # person sampling a folder would pick them), "first" (the first N), "random" (seeded)
    order: str = "spread"
    device: str = "cpu"
    weights: str = "none"  # the headline figure is from a random-init encoder
    min_done: int = 1
    eval_every: int = 1  # images between test evaluations (always at 5, 10, 20 and the end)
    max_test: int = 30  # evenly spaced subset of a large test split
    crop: int = TrainConfig.crop
    batch_size: int = TrainConfig.batch_size
    lr: float = TrainConfig.lr
    ema_decay: float = TrainConfig.ema_decay
    class_balance: float = TrainConfig.class_balance
    seed: int = TrainConfig.seed
    effort: bool = True  # run the effort model (engine/effort.py) on every suggestion
    target_dice: float = 0.90  # the simulated user stops at this Dice per foreground class
    max_actions: int = 100  # ... or after this many strokes and clicks
    effort_refine: bool = True  # "refine from my strokes" is in the simulated user's tools
