"""ModelService: one worker thread owns the model, its optimiser and the device.

Callers (the Qt bridge, the simulator, tests) only submit requests and receive
callbacks; nothing else touches torch state, so there are no locks around the model.
Work is picked by priority: current-image suggestion > control (rollback, load, mode) >
prefetch > batch suggestion > a training chunk. Training is a sequence of short chunks,
so a suggestion waits for at most one chunk.

Callbacks run on the worker thread; the Qt bridge turns them into signals.

Thread capping: ``set_interactive(True)`` makes the worker call
``torch.set_num_threads(1)`` before its next piece of work, and restores the previous
count after ``set_interactive(False)``. torch's intra-op thread count is process-global,
so this also caps torch work started from any other thread while the user is painting;
that is the point (the GUI thread must keep its frames), but be aware of it.
"""
from __future__ import annotations

import functools
import heapq
import inspect
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from resunet_gui.core.errors import CheckpointError, ResunetError
from resunet_gui.engine.preempt import Preempted
from resunet_gui.engine.requests import (
    Engine,
    ImageSource,
    ImportedVersion,
    Priority,
    SuggestionResult,
    TrainingStatus,
    VersionListing,
    user_message,
)
from resunet_gui.engine.thread_cap import ThreadCap

__all__ = ["Engine", "ImageSource", "ModelService", "Priority", "SuggestionResult",
           "TrainingStatus"]

log = logging.getLogger(__name__)


@dataclass(order=True)
class _Item:
    priority: int
    seq: int
    kind: str = field(compare=False)  # "suggest" | "control"
    request_id: int = field(compare=False)
    image_key: str = field(compare=False, default="")
    generation: int = field(compare=False, default=0)
    source: Any = field(compare=False, default=None)
    batch_id: int | None = field(compare=False, default=None)
    stale: bool = field(compare=False, default=False)
    cancelled: bool = field(compare=False, default=False)


@dataclass
class _Batch:
    total: int
    done: int = 0
    cancelled: bool = False


class ModelService:
    """Priority queue + worker thread; see the module docstring."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        *,
        on_result: Callable[[SuggestionResult], None] | None = None,
        on_error: Callable[[int, str], None] | None = None,
        on_progress: Callable[[int, int, int], None] | None = None,
        on_training_status: Callable[[TrainingStatus], None] | None = None,
        on_model_changed: Callable[[Any], None] | None = None,
        on_suggestion_progress: Callable[[int, str, int, int], None] | None = None,
        auto_train: bool = True,
        min_done: int = 3,
        debounce_s: float = 2.0,
        name: str = "resunet-model-service",
    ) -> None:
        self._factory = engine_factory
        self.on_result = on_result or (lambda r: None)
        self.on_error = on_error or (lambda rid, msg: None)
        self.on_progress = on_progress or (lambda bid, done, total: None)
        self.on_training_status = on_training_status or (lambda s: None)
        self.on_model_changed = on_model_changed or (lambda v: None)
        # (request id, image key, tiles done, tiles total) while a suggestion runs
        self.on_suggestion_progress = on_suggestion_progress
        self.auto_train = auto_train
        self.min_done = min_done
        self.debounce_s = debounce_s
        self._cv = threading.Condition()
        self._queue: list[_Item] = []
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._batches: dict[int, _Batch] = {}
        self._running: _Item | None = None
        self._stop = False
        self._paused = False
        self._step_limit: int | None = None  # see train_until
        self._step = 0  # optimiser steps the engine reported last
        self._done_count = 0  # done images the engine holds (updated on the worker)
        self._pending_done: list[str] = []
        self._sync = True  # load the project's existing done images once, when idle
        self._last_done_t = 0.0
        self._threads = ThreadCap()
        self.engine: Engine | None = None
        self.chunks_run = 0
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- requests (any thread) --------------------------------------------------------------
    def request_suggestion(self, image_key: str, image: ImageSource, generation: int = 0,
                           *, prefetch: bool = False) -> int:
        """Current-image (or prefetch) suggestion; returns the request id.

        A new current-image request makes every older current/prefetch request stale; the
        one running is cancelled at its next tile unless it is for the same image.
        """
        prio = Priority.PREFETCH if prefetch else Priority.CURRENT
        with self._cv:
            rid = next(self._ids)
            if not prefetch:
                for it in self._queue:
                    if it.priority in (Priority.CURRENT, Priority.PREFETCH):
                        it.stale = True
                run = self._running
                if (run is not None and run.priority in (Priority.CURRENT, Priority.PREFETCH)
                        and run.image_key != image_key):
                    run.cancelled = True
            self._push(_Item(prio, next(self._seq), "suggest", rid, image_key, generation, image))
        return rid

    def request_refine(self, image_key: str, image: ImageSource, strokes: Any,
                       generation: int = 0) -> int:
        """Re-predict the current image from the user's strokes (``engine.refine``).

        Queued, answered (``on_result``) and superseded exactly like a current-image
        suggestion: a newer current request makes it stale or cancels it.
        """
        with self._cv:  # an RLock: the worker cannot take the item before it is marked
            rid = self.request_suggestion(image_key, image, generation)
            for it in self._queue:
                if it.request_id == rid:
                    it.kind, it.source = "refine", (image, strokes)
        return rid

    def request_batch(self, items: list[tuple[str, ImageSource]], generation: int = 0) -> int:
        """Suggestions for many images at low priority; progress via ``on_progress``."""
        with self._cv:
            bid = next(self._ids)
            self._batches[bid] = _Batch(total=len(items))
            for key, src in items:
                self._push(_Item(Priority.BATCH, next(self._seq), "suggest", next(self._ids),
                                 key, generation, src, batch_id=bid))
        return bid

    def cancel(self, request_or_batch_id: int) -> None:
        """Drop a queued request (or a whole batch); a running one stops at its next tile."""
        with self._cv:
            b = self._batches.get(request_or_batch_id)
            if b is not None:
                b.cancelled = True
            for it in self._queue:
                if request_or_batch_id in (it.request_id, it.batch_id):
                    it.stale = True
            run = self._running
            if run is not None and request_or_batch_id in (run.request_id, run.batch_id):
                run.cancelled = True

    def call(self, fn: Callable[[Engine], Any], on_done: Callable[[Any], None] | None = None
             ) -> int:
        """Run ``fn(engine)`` on the worker (rollback, load checkpoint, set mode...)."""
        with self._cv:
            rid = next(self._ids)
            self._push(_Item(Priority.CONTROL, next(self._seq), "control", rid,
                             source=(fn, on_done)))
        return rid

    def notify_done(self, stem: str) -> None:
        """An image was marked done; training (re)starts after ``debounce_s`` of quiet."""
        with self._cv:
            self._pending_done.append(stem)
            self._last_done_t = time.monotonic()
            self._cv.notify_all()

    def pause_training(self) -> None:
        """No training chunk starts after the one running; status "paused" is reported."""
        with self._cv:
            self._paused = True
        self.call(lambda e: self.on_training_status(_with_state(e.status(), "paused")))

    def resume_training(self) -> None:
        with self._cv:
            self._paused = False
            self._cv.notify_all()
        self.call(lambda e: self.on_training_status(e.status()))

    def train_until(self, step: int | None) -> None:
        """Run training chunks only while the engine's step count is below ``step`` (None: no
        limit). The simulated annotator trains in lock-step with it, so a run's figures
        depend on the steps it asks for, not on how fast the machine is."""
        with self._cv:
            self._step_limit = step
            self._cv.notify_all()

    # -- model management (run on the worker; results via on_done / on_model_changed) --------
    def rollback(self, version: str, on_done: Callable[[Any], None] | None = None) -> int:
        """Serve (and train on from) the exact weights of a saved version."""
        return self.call(lambda e: self._changed(e.rollback(version)), on_done)

    def load_checkpoint(self, path: str,
                        on_done: Callable[[ImportedVersion], None] | None = None) -> int:
        """Import an external checkpoint as a new version and serve it.

        ``on_done`` gets the checkpoint's class names and runs before ``on_model_changed``,
        so a caller can mark a version trained for other classes before it is announced."""
        def load(e: Engine) -> ImportedVersion:
            from resunet_gui.model.checkpoint import read_meta

            info = e.load_external(path)  # checks and installs the file first
            try:
                names = [str(c["name"]) for c in read_meta(path).classes]
            except CheckpointError:  # served already; only its class names are unknown
                names = []
            return ImportedVersion(info, names)

        def done(imported: ImportedVersion) -> None:
            if on_done is not None:
                self._emit(on_done, imported)
            self._emit(self.on_model_changed, imported.info)

        return self.call(load, done)

    def export_version(self, version: str, dest: str,
                       on_done: Callable[[Any], None] | None = None) -> int:
        return self.call(lambda e: e.export_version(version, dest), on_done)

    def list_versions(self, on_done: Callable[[VersionListing], None]) -> int:
        """The saved versions and the one in use, read in one worker step."""
        return self.call(lambda e: VersionListing(list(e.list_versions()), e.model_version()),
                         on_done)

    def set_mode(self, mode: str, on_done: Callable[[Any], None] | None = None) -> int:
        """Training mode: "decoder", "decoder+late" or "all"."""
        return self.call(lambda e: e.set_mode(mode), on_done)

    def _changed(self, info: Any) -> Any:
        self.on_model_changed(info)
        return info

    @property
    def paused(self) -> bool:
        return self._paused

    def set_interactive(self, interactive: bool) -> None:
        """True while the user paints: torch runs on one thread (process-wide)."""
        with self._cv:
            self._threads.interactive = interactive
            self._cv.notify_all()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop at the running work's next pre-emption point (``engine.interrupt()``, when
        the engine has one; else after the chunk/tile); True when the thread has ended."""
        with self._cv:
            self._stop = True
            if self._running is not None:
                self._running.cancelled = True
            self._cv.notify_all()
        interrupt = getattr(self.engine, "interrupt", None)
        if interrupt is not None:
            interrupt()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def pending(self) -> int:
        with self._cv:
            return sum(1 for it in self._queue if not it.stale)

    # -- worker ------------------------------------------------------------------------------
    def _push(self, item: _Item) -> None:
        heapq.heappush(self._queue, item)
        self._cv.notify_all()

    def _pop(self) -> _Item | None:
        while self._queue:
            it = heapq.heappop(self._queue)
            if not it.stale:
                return it
            if it.batch_id is not None:
                self._batch_step(it.batch_id, emit=False)
        return None

    def _training_due(self) -> bool:
        if self._paused or not self.auto_train or self.engine is None:
            return False
        if self._step_limit is not None and self._step >= self._step_limit:
            return False
        if self._done_count < self.min_done:
            return False
        return not (self._pending_done and time.monotonic() - self._last_done_t < self.debounce_s)

    def _run(self) -> None:
        try:
            self.engine = self._factory()
        except Exception as exc:  # noqa: BLE001 - reported, worker keeps serving errors
            log.exception("model service could not start")
            self._startup_error = user_message(exc)
            self.ready.set()
            self._serve_errors()
            return
        self._guard(self._read_step)
        self.ready.set()
        try:
            while True:
                with self._cv:
                    item = None
                    while not self._stop:
                        self._threads.apply()
                        item = self._pop()
                        if item is not None:
                            self._running = item
                            break
                        if (self._pending_done or self._sync) and not self._debouncing():
                            break
                        if self._training_due() and self.engine.can_train():
                            break
                        self._cv.wait(self._wait_timeout())
                    if self._stop:
                        return
                    new_done: list[str] | None = None
                    if (item is None and (self._pending_done or self._sync)
                            and not self._debouncing()):
                        new_done, self._pending_done, self._sync = self._pending_done, [], False
                if item is not None:
                    self._execute(item)
                    with self._cv:
                        self._running = None
                elif new_done is not None:
                    self._guard(functools.partial(self.engine.notify_done, new_done))
                    status = self.engine.status()
                    with self._cv:
                        self._done_count = status.done_images
                    if status.done_images < self.min_done:
                        status.state = "waiting"
                        status.message = (f"training starts after {self.min_done} done images "
                                          f"({status.done_images} so far)")
                    self._emit(self.on_training_status, status)
                else:
                    self._train_once()
        finally:
            self._threads.restore()
            if self.engine is not None:
                self._guard(self.engine.close)

    def _read_step(self) -> None:
        step = self._engine().status().step
        with self._cv:
            self._step = step

    def _engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("the model service's engine has not started")
        return self.engine

    def _debouncing(self) -> bool:
        return time.monotonic() - self._last_done_t < self.debounce_s

    def _wait_timeout(self) -> float | None:
        if self._pending_done:
            return max(0.01, self.debounce_s - (time.monotonic() - self._last_done_t))
        return None

    def _train_once(self) -> None:
        try:
            status, changed = self._engine().train_chunk()
        except Preempted:
            return  # shutting down: the chunk was abandoned on purpose
        except Exception as exc:  # noqa: BLE001
            log.exception("training chunk failed")
            with self._cv:
                self._paused = True
            self._emit(self.on_training_status, TrainingStatus("error", message=user_message(exc)))
            return
        self.chunks_run += 1
        with self._cv:
            self._step = status.step
        self._emit(self.on_training_status, status)
        if changed is not None:
            self._emit(self.on_model_changed, changed)

    def _execute(self, item: _Item) -> None:
        if item.kind == "control":
            fn, on_done = item.source
            try:
                out = fn(self.engine)
            except Exception as exc:  # noqa: BLE001
                if isinstance(exc, ResunetError):  # a refusal the user can act on
                    log.warning("control request refused: %s", exc)
                else:
                    log.exception("control request failed")
                self._emit(self.on_error, item.request_id, user_message(exc))
                return
            if on_done is not None:
                self._emit(on_done, out)
            return
        try:
            src, strokes = item.source if item.kind == "refine" else (item.source, None)
            image = src() if callable(src) else src
            engine = self._engine()
            cancel = lambda: item.cancelled or self._stop  # noqa: E731
            pred = (engine.refine(image, strokes, cancel) if item.kind == "refine"
                    else engine.predict(image, cancel, **self._tile_options(item)))
        except Exception as exc:  # noqa: BLE001
            if not item.cancelled:
                log.debug("suggestion failed", exc_info=True)
                self._emit(self.on_error, item.request_id, user_message(exc))
            pred = None
        if pred is not None and not item.cancelled:
            self._emit(self.on_result, SuggestionResult(item.request_id, item.image_key, item.generation,
                                            pred, self._engine().model_version(),
                                            Priority(item.priority), item.batch_id))
        if item.batch_id is not None:
            with self._cv:
                self._batch_step(item.batch_id, emit=True)

    def _tile_options(self, item: _Item) -> dict[str, Any]:
        """``progress``/``key`` for engines whose ``predict`` takes them (tiled images)."""
        params = inspect.signature(self._engine().predict).parameters
        if "key" not in params or "progress" not in params:
            return {}

        def progress(done: int, total: int) -> None:
            if self.on_suggestion_progress is not None:
                self._emit(self.on_suggestion_progress, item.request_id, item.image_key, done,
                           total)

        return {"progress": progress, "key": item.image_key or None}

    def _batch_step(self, bid: int, emit: bool) -> None:
        b = self._batches.get(bid)
        if b is None:
            return
        b.done += 1
        if emit or b.done == b.total:
            self._emit(self.on_progress, bid, b.done, b.total)
        if b.done >= b.total:
            self._batches.pop(bid, None)

    def _emit(self, callback: Callable[..., Any], *args: Any) -> None:
        """Call a user callback; its exception is logged and never kills the worker."""
        try:
            callback(*args)
        except Exception:  # noqa: BLE001
            log.exception("model service callback %r failed", callback)

    def _guard(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001
            log.exception("model service call failed")
            self._emit(self.on_training_status, TrainingStatus("error", message=user_message(exc)))

    def _serve_errors(self) -> None:
        """The engine never started: answer every request with the startup error."""
        while True:
            with self._cv:
                while not self._stop and not self._queue:
                    self._cv.wait()
                if self._stop:
                    return
                item = heapq.heappop(self._queue)
            if not item.stale:
                self._emit(self.on_error, item.request_id, self._startup_error)


def _with_state(status: TrainingStatus, state: str) -> TrainingStatus:
    status.state = state
    return status
