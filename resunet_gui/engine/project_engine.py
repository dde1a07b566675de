"""The engine the model service drives for a project: serving model + trainer + versions.

Two copies of the network live here, both owned by the service's worker thread: the
*serving* model answers suggestions and is only ever replaced by a version that beat it
on the check set (or by a rollback/import); the *training* model moves every step.
"""
from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.types import Normalization
from resunet_gui.engine.bootstrap import bootstrap_model, class_dicts, num_classes_of
from resunet_gui.engine.check_set import CheckSetMembership
from resunet_gui.engine.dataset import CropDataset, Sample, done_stems, load_sample
from resunet_gui.engine.device import resolve_device
from resunet_gui.engine.metrics import ScoreAccumulator, SegmentationScores
from resunet_gui.engine.predictor import Prediction, Predictor
from resunet_gui.engine.preempt import attach_stop_points
from resunet_gui.engine.refine import Strokes, refine_prediction
from resunet_gui.engine.service import TrainingStatus
from resunet_gui.engine.settings import EngineConfig
from resunet_gui.engine.tile_cache import TileCache
from resunet_gui.engine.trainer import Trainer, run_to_end
from resunet_gui.engine.versions import KeepBest, VersionInfo, VersionStore
from resunet_gui.model.checkpoint import CheckpointMeta
from resunet_gui.model.resunet import ResUNet

log = logging.getLogger(__name__)


class ProjectEngine:
    """Implements ``service.Engine`` for a ``core.project.Project``."""

    def __init__(self, project, config: EngineConfig | None = None) -> None:
        self.project = project
        self.cfg = config or EngineConfig()
        torch.manual_seed(self.cfg.seed)
        self.device = resolve_device(self.cfg.device)
        self.store = VersionStore(project.models_dir)
        self.keep = KeepBest(self.store)
        self.membership = CheckSetMembership(Path(project.state_dir) / "check_set.json")
        self.num_classes = num_classes_of(project)
        choice = self.store.load_serving()
        # damaged versions / current.json never stop the service: shown by the GUI
        self.warnings: list[str] = choice.warnings
        for warning in self.warnings:
            log.warning("%s", warning)
        loaded = ((choice.model, choice.meta)
                  if choice.model is not None and choice.meta is not None else None)
        setup = bootstrap_model(self.num_classes, loaded=loaded, weights=self.cfg.weights,
                                device=self.device, mode=self.cfg.mode)
        self.normalization, self.pretrained = setup.normalization, setup.pretrained
        self.version: str | None = choice.name if loaded is not None else None
        self.weights_message = (f"continuing from saved model {choice.name}"
                                if loaded is not None else setup.init)
        self.mode_reason = setup.mode_reason
        # the engine's own copy: the caller's config is never changed
        self.cfg = replace(self.cfg, train=replace(self.cfg.train, mode=setup.mode))
        self.stop = threading.Event()  # set by interrupt(): running work ends at its next block
        self.tiles = TileCache()  # finished tiles of cancelled suggestions, per image + version
        self._install(setup.model, self.normalization)
        self._evaluation: Generator[None, None, VersionInfo | None] | None = None
        self._samples: dict[str, Sample] = {}
        self.data_warnings: dict[str, str] = {}  # stem -> why it was skipped or remapped
        self.train_stems: list[str] = []
        self.check_stems: list[str] = []
        self._check_key: tuple = ()
        self._steps_since_eval = 0
        self.last_loss: float | None = None
        self.last_check_dice: float | None = None
        self.message = "; ".join([*self.warnings[-1:], self.weights_message])

    def _install(self, model: ResUNet, normalization: Normalization,
                 dataset: CropDataset | None = None, step: int = 0) -> None:
        """Serve ``model`` and train a copy of it (fresh optimiser and average)."""
        self.normalization = normalization
        self.serving = model
        self.predictor = Predictor(model, normalization, self.device, tile=self.cfg.tile)
        self.trainer = Trainer(copy.deepcopy(model), self.cfg.train, self.device, normalization,
                               dataset=dataset)
        self.trainer.step_count = step
        self.scorer = Predictor(self.trainer.candidate, normalization, self.device,
                                tile=self.cfg.tile, fold_batch_norm=False)
        for net in {id(m): m for m in (model, self.trainer.model, self.trainer.candidate)}.values():
            attach_stop_points(net, self.stop)

    # -- Engine protocol ---------------------------------------------------------------------
    def predict(self, image: np.ndarray, should_cancel: Callable[[], bool], *,
                progress: Callable[[int, int], None] | None = None, key: str | None = None):
        """``key`` (the image) lets a cancelled large image resume from its finished tiles."""
        self.tiles.retain(lambda k: isinstance(k, tuple) and k[1] == self.version)
        return self.predictor.predict(image, should_cancel, progress=progress, cache=self.tiles,
                                      key=None if key is None else (key, self.version))

    def model_version(self) -> str | None:
        return self.version

    def refine(self, image: np.ndarray, strokes: Strokes, should_cancel: Callable[[], bool]
               ) -> Prediction:
        """Re-predict ``image`` from the user's strokes (see ``engine.refine``)."""
        return refine_prediction(self.serving, self.normalization, image, strokes, self.device,
                                 should_cancel)

    def can_train(self) -> bool:
        return self.trainer.dataset is not None

    def notify_done(self, stems: list[str]) -> None:
        """Reload the given stems (their masks may have changed) and rebuild train/check."""
        for s in stems:
            self._samples.pop(s, None)
            self.data_warnings.pop(s, None)
        done = [s for s in done_stems(self.project) if self._load_sample(s)]
        train, check = self.membership.split(self.project, done)
        self.train_stems, self.check_stems = train, check
        key = (tuple(check), tuple(sorted(stems)) if set(stems) & set(check) else ())
        if key != self._check_key:
            self._check_key = key
            self.keep.invalidate()
        if train:
            # the eval counter is not reset: images arriving faster than one evaluation
            # interval must not postpone the first version forever
            self.trainer.set_dataset(CropDataset([self._samples[s] for s in train],
                                                 self.cfg.train.augment, seed=len(done)))
        self.message = (f"{len(done)} done images: {len(train)} train, {len(check)} check")
        skipped = [m for m in self.data_warnings.values() if " skipped: " in m]
        if skipped:
            self.message += f"; {len(skipped)} skipped ({skipped[0]})"

    def _load_sample(self, stem: str) -> bool:
        """Cache ``stem``'s sample; False when its files cannot be used (a mask of another
        size, an unreadable file: kept in ``data_warnings``, and everything else trains)."""
        if stem in self._samples:
            return True
        notes: list[str] = []
        try:
            sample = load_sample(self.project, stem, notes)
        except ResunetError as exc:
            sample, notes = None, [f"{stem} skipped: {exc}"]
        if sample is None and not notes:
            notes = [f"{stem} skipped: it has no mask file"]
        if notes:
            self.data_warnings[stem] = notes[0]
            log.warning("%s", notes[0])
        if sample is not None:
            self._samples[stem] = sample
        return sample is not None

    def train_chunk(self) -> tuple[TrainingStatus, VersionInfo | None]:
        """A few optimiser steps, or one piece of a running evaluation.

        An evaluation (BN recalibration batches, then one check image at a time) is cut
        into pieces of about one chunk each, so a suggestion, a rollback or closing the
        window waits for one piece, never for a whole check set. Training does not step
        until it ends, so the candidate it scores stays fixed.
        """
        if self._evaluation is not None:
            try:
                next(self._evaluation)
            except StopIteration as stop:
                self._evaluation = None
                return self.status(), stop.value
            return self.status(), None
        report = self.trainer.run_chunk()
        self.last_loss = report.loss
        self._steps_since_eval += report.steps
        if report.message:
            self.message = report.message
        if self._steps_since_eval >= self._evaluation_interval():
            self._steps_since_eval = 0
            self._evaluation = self._evaluate_in_pieces()
        return self.status(), None

    def _evaluation_interval(self) -> int:
        """Steps between evaluations: one epoch-equivalent, so scoring stays a small share of
        the work. Until a first version exists it is ``min_eval_steps``, as in a new project:
        a folder opened with hundreds of labels is not left without suggestions for an epoch."""
        if self.version is None:
            return self.cfg.min_eval_steps
        return max(self.cfg.min_eval_steps, self.trainer.steps_per_epoch())

    def status(self) -> TrainingStatus:
        n = len(self.train_stems) + len(self.check_stems)
        state = "training" if self.can_train() else "waiting"
        message = self.message
        if self._evaluation is not None:
            kind, stems = (("check", self.check_stems) if self.check_stems
                           else ("training", self.train_stems))
            message = f"Scoring the latest weights on {len(stems)} {kind} images"
        return TrainingStatus(state, step=self.trainer.step_count, loss=self.last_loss,
                              epoch=self.trainer.epoch, batch_size=self.trainer.batch_size,
                              mode=self.trainer.config.mode, mode_reason=self.mode_reason,
                              message=message, done_images=n,
                              check_dice=self.last_check_dice, version=self.version)

    def close(self) -> None:
        self._samples.clear()

    def interrupt(self) -> None:
        """Any thread: abandon the running step, evaluation piece or suggestion at its next
        network block (closing the window); the engine is not used afterwards."""
        self.stop.set()

    # -- versions ----------------------------------------------------------------------------
    def _score_in_pieces(self, predictor: Predictor
                         ) -> Generator[None, None, SegmentationScores]:
        """Pooled scores on the check set, one image per piece; restarts if the set changes."""
        while True:
            key = self._check_key
            stems = list(self.check_stems or self.train_stems)
            acc = ScoreAccumulator(self.num_classes)
            for i, stem in enumerate(stems):
                if i:
                    yield
                if key != self._check_key:
                    break
                sample = self._samples[stem]
                pred = predictor.predict(sample.image.astype(np.float32))
                acc.add(pred.mask, sample.mask, pred.probs)
            if key == self._check_key:
                return acc.result()

    def _evaluate_in_pieces(self) -> Generator[None, None, VersionInfo | None]:
        """BN re-estimation, check-set score, keep only if better; returns the new version."""
        yield from self.trainer.recalibrate_bn_steps(model=self.trainer.candidate)
        yield
        cand = yield from self._score_in_pieces(self.scorer)
        self.last_check_dice = cand.score
        key = self._check_key
        current: float | SegmentationScores | None = self.keep.cached_score(key)
        if current is None:
            yield
            current = yield from self._score_in_pieces(self.predictor)
            if key != self._check_key:  # the check set changed while the candidate waited
                return None
        decision = self.keep.decide(key, cand, lambda: current, lambda: self._save(cand))
        self.message = decision.message
        if not decision.accepted:
            return None
        if decision.info is None:
            raise RuntimeError("an accepted model version came without its saved info")
        self.serving.load_state_dict(self.trainer.candidate.state_dict())
        self.version = decision.info.name
        return decision.info

    def evaluate_candidate(self) -> VersionInfo | None:
        """The whole evaluation at once (tests, headless use); returns the new version."""
        self._evaluation = None
        return run_to_end(self._evaluate_in_pieces())

    def _meta(self, scores: SegmentationScores | None, source: str) -> CheckpointMeta:
        names = [c.name for c in sorted(self.project.classes, key=lambda c: c.id)]
        training = {
            "source": source, "step": self.trainer.step_count, "mode": self.trainer.config.mode,
            "train_images": len(self.train_stems), "check_images": len(self.check_stems),
            "check_stems": list(self.check_stems),
            "scored_on": "check" if self.check_stems else "train",
            "pretrained_encoder": self.pretrained,
        }
        if scores is not None:
            training["metrics"] = scores.to_dict(names if len(names) == self.num_classes
                                                 else None)
        classes = class_dicts(self.project.classes, self.num_classes)
        return CheckpointMeta(classes=classes, normalization=self.normalization,
                              in_channels=self.trainer.model.in_channels,
                              num_classes=self.num_classes, parent_version=self.version,
                              training=training)

    def _save(self, scores: SegmentationScores) -> VersionInfo:
        return self.store.save(self.trainer.candidate, self._meta(scores, "trained"))

    def list_versions(self) -> list[VersionInfo]:
        return self.store.list_versions()

    def rollback(self, name: str) -> VersionInfo:
        """Serve (and continue training from) the exact saved weights of ``name``."""
        model, meta = self.store.load(name)
        self._evaluation = None  # it was scoring weights that are now gone
        # a new serving model, trainer and scorer, not weights copied into the old ones:
        # an imported checkpoint may have other decoder widths or another normalisation
        self._install(model, meta.normalization, self.trainer.dataset, self.trainer.step_count)
        self.store.set_current(name)
        self.keep.invalidate()
        self.version = name
        info = self.store.info(name)
        self.message = f"Rolled back to {info.status_line()}"
        return info

    def export_version(self, name: str, dest: str | Path) -> Path:
        return self.store.export(name, dest)

    def load_external(self, path: str | Path) -> VersionInfo:
        """Import a checkpoint as a new version and serve it."""
        _model, info = self.store.import_checkpoint(path, self.num_classes)
        return self.rollback(info.name)

    def set_mode(self, mode: str) -> None:
        self._evaluation = None  # its BN re-estimation assumed the old frozen stages
        self.trainer.set_mode(mode)
        self.mode_reason = f"training mode {mode!r} chosen by the user"

    def save_current_training(self, source: str = "trained") -> VersionInfo:
        """Save the training model unconditionally (headless `train --out`)."""
        self.trainer.recalibrate_bn(model=self.trainer.candidate)
        return self.store.save(self.trainer.candidate, self._meta(None, source))
