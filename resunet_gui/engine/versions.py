"""Model versions on disk and the keep-only-if-better rule.

``.resunet/models/vNNN.safetensors`` + ``vNNN.json`` (via model/checkpoint.py); the JSON's
``training`` block holds check-set metrics, parent version and data counts. The version
used for suggestions is named in ``models/current.json``. A candidate that does not beat
the current version on the check set is not written (it only appears in the log).
"""
from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from resunet_gui.core.errors import CheckpointError
from resunet_gui.core.storage import atomic_write_json
from resunet_gui.engine.metrics import ScoreAccumulator, SegmentationScores
from resunet_gui.model.checkpoint import (
    CheckpointMeta,
    load_checkpoint,
    read_meta,
    save_checkpoint,
    sidecar_path,
)
from resunet_gui.model.resunet import ResUNet

log = logging.getLogger(__name__)

_NAME = re.compile(r"^v(\d{3,})$")


@dataclass
class VersionInfo:
    """One saved version, as the model panel lists it."""

    name: str
    path: Path
    score: float | None = None
    dice: dict[str, float] = field(default_factory=dict)
    check_images: int = 0
    train_images: int = 0
    parent: str | None = None
    created: str = ""
    step: int = 0
    source: str = "trained"  # trained | imported
    scored_on: str = "check"  # check | train (no check image yet)

    @classmethod
    def from_meta(cls, path: Path, meta: CheckpointMeta) -> VersionInfo:
        t = meta.training or {}
        m = t.get("metrics") or {}
        score = m.get("score")
        return cls(name=meta.model_version, path=path,
                   score=None if score is None else float(score),
                   dice=dict(m.get("dice") or {}), check_images=int(t.get("check_images", 0)),
                   train_images=int(t.get("train_images", 0)), parent=meta.parent_version,
                   created=meta.created, step=int(t.get("step", 0)),
                   source=str(t.get("source", "trained")),
                   scored_on=str(t.get("scored_on", "check")))

    def status_line(self, previous: float | None = None) -> str:
        """E.g. "Model v7: Dice 0.84 on 6 check images, up from 0.79"."""
        if self.score is None:
            return f"Model {self.name} ({self.source}, not scored yet)"
        where = (f"{self.check_images} check image{'s' if self.check_images != 1 else ''}"
                 if self.scored_on == "check" else
                 f"its {self.train_images} training images (no check image yet)")
        line = f"Model {self.name}: Dice {self.score:.2f} on {where}"
        if previous is not None and self.score >= previous:
            line += f", up from {previous:.2f}"
        elif previous is not None:
            line += f" (was {previous:.2f}: within the check set's noise)"
        return line


@dataclass
class ServingChoice:
    """What ``VersionStore.load_serving`` found: the model to serve (None: none intact)."""

    model: ResUNet | None
    meta: CheckpointMeta | None
    name: str | None
    warnings: list[str] = field(default_factory=list)


class VersionStore:
    """Files under ``models_dir``; all writes are atomic (core.storage)."""

    def __init__(self, models_dir: str | Path) -> None:
        self.dir = Path(models_dir)

    def path_of(self, name: str) -> Path:
        if not _NAME.match(name):
            raise CheckpointError(f"{name!r} is not a model version name (expected e.g. v007)")
        return self.dir / f"{name}.safetensors"

    def list_versions(self) -> list[VersionInfo]:
        out: list[VersionInfo] = []
        if not self.dir.is_dir():
            return out
        for p in sorted(self.dir.glob("v*.safetensors")):
            if not _NAME.match(p.stem):
                continue
            try:
                out.append(VersionInfo.from_meta(p, read_meta(p)))
            except (CheckpointError, TypeError, ValueError, AttributeError) as exc:
                log.warning("skipping unreadable model version %s: %s", p.name, exc)
        return sorted(out, key=lambda v: int(v.name[1:]))

    def next_name(self) -> str:
        nums = [int(m.group(1)) for p in self.dir.glob("v*.safetensors")
                if (m := _NAME.match(p.stem))] if self.dir.is_dir() else []
        return f"v{(max(nums) + 1) if nums else 1:03d}"

    def save(self, model: ResUNet, meta: CheckpointMeta) -> VersionInfo:
        meta.model_version = self.next_name()
        self.dir.mkdir(parents=True, exist_ok=True)
        path = save_checkpoint(self.path_of(meta.model_version), model, meta)
        return VersionInfo.from_meta(path, meta)

    def load(self, name: str, map_location: str | torch.device = "cpu"
             ) -> tuple[ResUNet, CheckpointMeta]:
        return load_checkpoint(self.path_of(name), map_location)

    def info(self, name: str) -> VersionInfo:
        p = self.path_of(name)
        try:
            return VersionInfo.from_meta(p, read_meta(p))
        except (TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"metadata of {p.name} is invalid: {exc}") from None

    def current(self) -> str | None:
        return self.read_current()[0]

    def read_current(self) -> tuple[str | None, str | None]:
        """(version named by current.json, problem with it): the name is only ever a
        ``vNNN`` file that exists inside ``models/`` (never a path), else None with a reason."""
        f = self.dir / "current.json"
        try:
            with open(f, "rb") as fh:
                raw = fh.read(4096)  # a few bytes; a link to /dev/zero must not fill memory
            name = json.loads(raw.decode("utf-8")).get("current")
        except FileNotFoundError:
            return None, "models/current.json is missing" if self.version_names() else None
        except (OSError, ValueError, AttributeError):
            return None, "models/current.json is unreadable or not valid JSON"
        if not isinstance(name, str) or not _NAME.match(name):
            return None, (f"models/current.json names {str(name)[:40]!r}, which is not a model "
                          "version inside models/")
        if not self.path_of(name).is_file():
            return None, f"models/current.json names {name}, which does not exist"
        return name, None

    def version_names(self) -> list[str]:
        """Names of the version files on disk, oldest first (readable or not)."""
        if not self.dir.is_dir():
            return []
        names = [p.stem for p in self.dir.glob("v*.safetensors") if _NAME.match(p.stem)]
        return sorted(names, key=lambda n: int(n[1:]))

    def load_serving(self, map_location: str | torch.device = "cpu") -> ServingChoice:
        """The version to serve: current.json's if intact, else the newest intact one.

        A damaged version (garbage, truncated, wrong shape, bad metadata) is skipped, never
        fatal; every skip and the fallback are reported in ``warnings``.
        """
        named, problem = self.read_current()
        warnings = [problem] if problem else []
        order = ([named] if named else []) + [n for n in reversed(self.version_names())
                                              if n != named]
        for name in order:
            try:
                model, meta = self.load(name, map_location)
            except CheckpointError as exc:
                warnings.append(f"model version {name} is damaged and was skipped: {exc}")
                continue
            if warnings:
                warnings.append(f"using {name}, the newest intact model version")
            return ServingChoice(model, meta, name, warnings)
        if order:
            warnings.append("no intact model version left: starting from an untrained model")
        return ServingChoice(None, None, None, warnings)

    def set_current(self, name: str) -> None:
        self.path_of(name)  # validates the name
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.dir / "current.json", {"current": name})

    def export(self, name: str, dest: str | Path) -> Path:
        """Copy a version (tensors + JSON sidecar) to ``dest`` (a file path or a folder)."""
        src = self.path_of(name)
        if not src.is_file():
            raise CheckpointError(f"model version {name} does not exist")
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / src.name
        if dest.suffix != ".safetensors":
            dest = dest.with_suffix(".safetensors")
        try:
            shutil.copyfile(src, dest)
            shutil.copyfile(sidecar_path(src), sidecar_path(dest))
        except OSError as exc:
            raise CheckpointError(f"cannot export {name} to {dest}: {exc.strerror}") from exc
        return dest

    def import_checkpoint(self, path: str | Path, num_classes: int | None = None
                          ) -> tuple[ResUNet, VersionInfo]:
        """Load an external checkpoint and store it as a new version (not made current)."""
        model, meta = load_checkpoint(path)
        if num_classes is not None and meta.num_classes != num_classes:
            raise CheckpointError(f"{Path(path).name} predicts {meta.num_classes} classes; "
                                  f"this project has {num_classes}")
        meta.parent_version = None
        meta.training = dict(meta.training or {}, source="imported",
                             imported_from=str(Path(path).name))
        return model, self.save(model, meta)


def evaluate(predict: Callable[[np.ndarray], np.ndarray],
             pairs: Sequence[tuple[np.ndarray, np.ndarray]], num_classes: int
             ) -> SegmentationScores:
    """Pooled Dice/IoU of ``predict(image) -> mask`` over (image, truth) pairs."""
    acc = ScoreAccumulator(num_classes)
    for image, truth in pairs:
        acc.add(predict(image), truth)
    return acc.result()


@dataclass
class Decision:
    accepted: bool
    candidate: SegmentationScores
    current_score: float | None
    info: VersionInfo | None
    message: str


class KeepBest:
    """Compares a candidate with the current version on the same check set.

    A check set of a few images is noisy (one image can swing the pooled Dice by 0.1), so
    with per-image scores for both versions the rule is a paired comparison: with fewer
    than ``min_paired`` check images the candidate (the trainer's weight average, trained
    on more data) is served unless its pooled Dice is lower by more than
    ``small_set_margin`` (0.05, the swing of one check image); from then on it is kept
    unless it is worse than the
    current version by more than one standard error of the per-image differences
    (mean(d) < -sd(d) / sqrt(n), d = candidate - current per check image). Measured noise,
    not a fixed margin, decides, and a newer model is the default: the old rule rejected
    better models by the noise of 1-4 check images and kept one version for many images.
    Without per-image scores the pooled score must improve, as before.

    The current version's score is cached per check set and recomputed when the check
    set changes (more done images), so both sides are always measured on the same images.
    A tie on Dice (typically both 0 on a check image unlike anything trained on yet) is
    broken by soft Dice; without that, the first version would be kept forever there.
    """

    def __init__(self, store: VersionStore, min_delta: float = 0.0, min_paired: int = 4,
                 small_set_margin: float = 0.05) -> None:
        self.store = store
        self.small_set_margin = small_set_margin
        self.min_delta = min_delta
        self.min_paired = min_paired
        self._current_per_image: list[float] = []
        self._current_key: tuple | None = None
        self._current_score: float | None = None
        self._current_soft: float | None = None
        self.log: list[dict] = []

    def invalidate(self) -> None:
        self._current_key = None

    def cached_score(self, key: tuple) -> float | None:
        """The current version's score on check set ``key``, if already measured."""
        return self._current_score if self._current_key == key else None

    def current_score(self, key: tuple,
                      score_current: Callable[[], float | SegmentationScores]) -> float:
        if self._current_key != key or self._current_score is None:
            measured = score_current()
            if isinstance(measured, SegmentationScores):
                self._current_score, self._current_soft = measured.score, measured.soft_score
                self._current_per_image = list(measured.per_image)
            else:
                self._current_score, self._current_soft = float(measured), None
                self._current_per_image = []
            self._current_key = key
        return self._current_score

    def _better(self, cand: SegmentationScores, cur: float) -> bool:
        paired = self._current_per_image
        if cand.per_image and len(cand.per_image) == len(paired):
            if len(paired) < self.min_paired:
                return cand.score >= cur - self.small_set_margin
            d = np.asarray(cand.per_image) - np.asarray(paired)
            return bool(d.mean() >= -d.std(ddof=1) / np.sqrt(d.size))
        if cand.score > cur + self.min_delta:
            return True
        return (cand.score == cur and cand.soft_score is not None
                and self._current_soft is not None and cand.soft_score > self._current_soft)

    def decide(self, key: tuple, candidate: SegmentationScores,
               score_current: Callable[[], float | SegmentationScores],
               save: Callable[[], VersionInfo]) -> Decision:
        cur = self.current_score(key, score_current)
        if self._better(candidate, cur):
            info = save()
            self.store.set_current(info.name)
            self._current_score, self._current_soft = candidate.score, candidate.soft_score
            self._current_per_image = list(candidate.per_image)
            msg = info.status_line(cur)
            self.log.append({"version": info.name, "score": candidate.score, "previous": cur,
                             "accepted": True})
            return Decision(True, candidate, cur, info, msg)
        self.log.append({"version": None, "score": candidate.score, "previous": cur,
                         "accepted": False})
        msg = (f"Candidate scored Dice {candidate.score:.2f} on the check set, not better "
               f"than {cur:.2f}; kept the current model")
        return Decision(False, candidate, cur, None, msg)

    def accepted(self, info: VersionInfo) -> None:
        """The user made ``info`` current (rollback/import): compare against it from now."""
        self._current_score = info.score if info.score is not None else None
        self._current_soft = None
        self._current_per_image = []
        if info.score is None:
            self._current_key = None
