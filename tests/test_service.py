"""ModelService queue, pre-emption, staleness, pause and shutdown, with a fake engine.

The fake engine counts optimiser steps, so pre-emption is checked in steps, never seconds.
"""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from resunet_gui.engine.service import ModelService, Priority, TrainingStatus

WAIT = 20.0  # generous upper bound for waits; tests never assert durations


class FakeEngine:
    def __init__(self, steps_per_chunk: int = 3, chunk_s: float = 0.01) -> None:
        self.steps = 0
        self.steps_per_chunk = steps_per_chunk
        self.chunk_s = chunk_s
        self.done: list[str] = []
        self.events: list[tuple] = []
        self.block = threading.Event()
        self.block.set()
        self.started_predict = threading.Event()
        self.threads_seen: list[int] = []
        self.closed = False

    def predict(self, image, should_cancel):
        self.started_predict.set()
        self.threads_seen.append(torch.get_num_threads())
        self.events.append(("predict", float(image.flat[0]), self.steps))
        for _ in range(200):  # "tiles"
            if should_cancel():
                return None
            if self.block.wait(0.01):
                break
        if should_cancel():
            return None
        mask = (image[..., 0] > 0.5).astype(np.uint8)
        return SimpleNamespace(mask=mask, probs=None, uncertainty=0.25)

    def model_version(self):
        return "v000"

    def notify_done(self, stems):
        self.done.extend(stems)

    def can_train(self):
        return len(self.done) >= 1

    def train_chunk(self):
        for _ in range(self.steps_per_chunk):
            time.sleep(self.chunk_s / self.steps_per_chunk)
            self.steps += 1
        self.events.append(("chunk", self.steps))
        return TrainingStatus("training", step=self.steps), None

    def status(self):
        return TrainingStatus("training", step=self.steps, done_images=len(self.done))

    def close(self):
        self.closed = True


def wait_for(cond, timeout: float = WAIT) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


@pytest.fixture
def make_service():
    services = []

    def make(engine, **kw):
        results, errors = [], []
        kw.setdefault("debounce_s", 0.0)
        svc = ModelService(lambda: engine, on_result=results.append,
                           on_error=lambda rid, msg: errors.append((rid, msg)), **kw)
        svc.results, svc.errors = results, errors
        services.append(svc)
        assert svc.ready.wait(WAIT)
        return svc

    yield make
    for s in services:
        assert s.shutdown(WAIT)


def img(v: float) -> np.ndarray:
    return np.full((8, 8, 1), v, dtype=np.float32)


def test_suggestion_during_training_returns_within_one_chunk(make_service):
    eng = FakeEngine(steps_per_chunk=3)
    svc = make_service(eng, min_done=3)
    for s in ("a", "b", "c"):
        svc.notify_done(s)
    assert wait_for(lambda: eng.steps >= 9), "training did not start by itself"
    for trial in range(5):
        steps_at_submit = eng.steps
        rid = svc.request_suggestion(f"img{trial}", img(0.9), generation=trial)
        assert wait_for(lambda rid=rid: any(r.request_id == rid for r in svc.results))
        ev = [e for e in eng.events if e[0] == "predict"][-1]
        # the prediction started after at most the one chunk that was running
        assert ev[2] - steps_at_submit <= eng.steps_per_chunk
    r = svc.results[-1]
    assert r.priority == Priority.CURRENT and r.uncertainty == 0.25 and r.mask.all()


def test_training_waits_for_min_done_images(make_service):
    eng = FakeEngine()
    svc = make_service(eng, min_done=3)
    svc.notify_done("a")
    svc.notify_done("b")
    assert wait_for(lambda: len(eng.done) == 2)
    time.sleep(0.1)
    assert eng.steps == 0
    svc.notify_done("c")
    assert wait_for(lambda: eng.steps > 0)


def test_new_current_request_makes_older_requests_stale(make_service):
    eng = FakeEngine()
    eng.block.clear()
    svc = make_service(eng, auto_train=False)
    r_a = svc.request_suggestion("A", img(0.1), generation=1)
    assert eng.started_predict.wait(WAIT)
    r_b = svc.request_suggestion("B", img(0.2), generation=1, prefetch=True)
    r_c = svc.request_suggestion("C", img(0.3), generation=2)
    r_d = svc.request_suggestion("D", img(0.4), generation=2, prefetch=True)
    eng.block.set()
    assert wait_for(lambda: {r.request_id for r in svc.results} >= {r_c, r_d})
    time.sleep(0.05)
    got = {r.request_id for r in svc.results}
    assert r_a not in got, "the running request for another image was not cancelled"
    assert r_b not in got, "a stale prefetch ran"
    predicted = [e[1] for e in eng.events if e[0] == "predict"]
    assert pytest.approx(0.2) not in predicted  # dropped before running, not after
    assert [r.image_key for r in svc.results] == ["C", "D"]
    assert svc.results[0].generation == 2


def test_batch_runs_after_current_and_reports_progress(make_service):
    eng = FakeEngine()
    eng.block.clear()
    progress = []
    svc = make_service(eng, auto_train=False,
                       on_progress=lambda b, d, t: progress.append((b, d, t)))
    first = svc.request_suggestion("X", img(0.9))
    assert eng.started_predict.wait(WAIT)
    bid = svc.request_batch([(f"b{i}", img(0.6)) for i in range(3)])
    cur = svc.request_suggestion("Y", img(0.7))
    eng.block.set()
    assert wait_for(lambda: len(progress) == 3)
    keys = [r.image_key for r in svc.results]
    assert keys.index("Y") < keys.index("b0")
    assert progress[-1] == (bid, 3, 3)
    assert first and cur


def test_cancel_batch_drops_queued_items(make_service):
    eng = FakeEngine()
    eng.block.clear()
    progress = []
    svc = make_service(eng, auto_train=False,
                       on_progress=lambda b, d, t: progress.append((b, d, t)))
    bid = svc.request_batch([(f"b{i}", img(0.6)) for i in range(5)])
    assert eng.started_predict.wait(WAIT)
    svc.cancel(bid)
    eng.block.set()
    assert wait_for(lambda: progress and progress[-1][1] == 5)
    assert len(svc.results) == 0


def test_pause_and_resume_training(make_service):
    eng = FakeEngine()
    svc = make_service(eng, min_done=1)
    svc.notify_done("a")
    assert wait_for(lambda: eng.steps > 0)
    svc.pause_training()
    time.sleep(0.05)  # at most the chunk in flight finishes
    frozen = eng.steps
    time.sleep(0.2)
    assert eng.steps == frozen
    rid = svc.request_suggestion("p", img(0.9))  # suggestions still served while paused
    assert wait_for(lambda: any(r.request_id == rid for r in svc.results))
    svc.resume_training()
    assert wait_for(lambda: eng.steps > frozen)


def test_training_stops_at_the_step_limit_and_goes_on_when_it_is_raised(make_service):
    eng = FakeEngine(steps_per_chunk=1)
    svc = make_service(eng, min_done=1)
    svc.train_until(5)
    svc.notify_done("a")
    assert wait_for(lambda: eng.steps >= 5)
    time.sleep(0.2)
    assert eng.steps == 5
    rid = svc.request_suggestion("p", img(0.9))  # suggestions are still served
    assert wait_for(lambda: any(r.request_id == rid for r in svc.results))
    svc.train_until(8)
    assert wait_for(lambda: eng.steps >= 8)
    time.sleep(0.2)
    assert eng.steps == 8
    svc.train_until(None)
    assert wait_for(lambda: eng.steps > 8)


def test_interactive_caps_torch_threads_and_restores(make_service):
    before = torch.get_num_threads()
    eng = FakeEngine()
    svc = make_service(eng, auto_train=False)
    svc.set_interactive(True)
    rid = svc.request_suggestion("i", img(0.9))
    assert wait_for(lambda: any(r.request_id == rid for r in svc.results))
    assert eng.threads_seen[-1] == 1
    svc.set_interactive(False)
    rid = svc.request_suggestion("j", img(0.9))
    assert wait_for(lambda: any(r.request_id == rid for r in svc.results))
    assert eng.threads_seen[-1] == before
    assert torch.get_num_threads() == before


def test_errors_reach_on_error_not_the_caller(make_service):
    eng = FakeEngine()

    def boom(image, should_cancel):
        raise ValueError("bad pixels")

    eng.predict = boom
    svc = make_service(eng, auto_train=False)
    rid = svc.request_suggestion("e", img(0.5))
    assert wait_for(lambda: svc.errors)
    assert svc.errors[0][0] == rid and "bad pixels" in svc.errors[0][1]
    out = []
    svc.call(lambda e: e.model_version(), out.append)
    assert wait_for(lambda: out == ["v000"])


def test_shutdown_leaves_no_thread_running():
    eng = FakeEngine()
    svc = ModelService(lambda: eng, min_done=1, debounce_s=0.0, name="svc-under-test")
    svc.notify_done("a")
    assert wait_for(lambda: eng.steps > 0)
    assert svc.shutdown(WAIT)
    assert not svc.alive
    assert eng.closed
    assert not [t for t in threading.enumerate() if t.name == "svc-under-test"]


def test_engine_start_failure_is_reported_per_request():
    def factory():
        raise RuntimeError("no model")

    errors = []
    svc = ModelService(factory, on_error=lambda rid, m: errors.append((rid, m)))
    try:
        rid = svc.request_suggestion("x", img(0.1))
        assert wait_for(lambda: errors)
        assert errors[0][0] == rid and "no model" in errors[0][1]
    finally:
        assert svc.shutdown(WAIT)


def test_status_reports_waiting_then_paused(make_service):
    statuses = []
    eng = FakeEngine()
    svc = make_service(eng, min_done=2, on_training_status=statuses.append)
    svc.notify_done("a")
    assert wait_for(lambda: any(s.state == "waiting" and s.done_images == 1 for s in statuses))
    svc.pause_training()
    assert wait_for(lambda: statuses and statuses[-1].state == "paused")


def test_rollback_goes_through_the_worker_and_announces_the_model(make_service):
    changed, done = [], []
    eng = FakeEngine()
    eng.rollback = lambda name: {"name": name, "thread": threading.current_thread().name}
    svc = make_service(eng, auto_train=False, on_model_changed=changed.append)
    svc.rollback("v003", done.append)
    assert wait_for(lambda: done)
    assert changed == done and done[0]["name"] == "v003"
    assert done[0]["thread"] == "resunet-model-service"


def test_a_failing_callback_does_not_kill_the_worker():
    eng = FakeEngine()
    got = []

    def bad(result):
        got.append(result)
        raise RuntimeError("slot crashed")

    svc = ModelService(lambda: eng, on_result=bad, auto_train=False)
    try:
        svc.request_suggestion("a", img(0.9))
        svc.request_suggestion("b", img(0.9), prefetch=True)
        assert wait_for(lambda: len(got) == 2)
        assert svc.alive
    finally:
        assert svc.shutdown(WAIT)
