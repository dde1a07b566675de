"""``resunet-gui bench --effort``: latency of the region corrections and of suggestions.

- refine from strokes (``engine.refine``) at 512x512 and 1024x1024, CPU (target: median
  <= 1 s at 512), and, with ``--effort-folder`` (a labelled folder), its benefit: Dice of
  the suggestion vs the refined mask after three brush strokes of the effort model;
- click to fix (``MaskDocument.fix_region``) at 512 and 1024;
- click-to-suggestion through the model service on a 1024x1024 image (target <= 1.5 s,
  CPU) and, in the real window, for a prefetched next image (target <= 50 ms).
Figures are medians of several repeats; the model is random-init unless
``--effort-checkpoint`` names a saved version.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

TARGETS = {"refine_512_ms": 1000.0, "click_to_suggestion_1024_ms": 1500.0,
           "prefetched_next_image_ms": 50.0}  # at most (process CPU time, one torch thread)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--effort-checkpoint", type=Path, help="model version to time/score")
    group.add_argument("--effort-folder", type=Path,
                       help="labelled folder: also measure what refine gains in Dice")
    group.add_argument("--effort-repeats", type=int, default=5,
                       help="repeats per figure; the median is printed (%(default)s)")


def _median_ms(fn: Any, repeats: int) -> dict[str, float]:
    """Median wall and process-CPU milliseconds. On a shared, loaded machine the wall time
    measures the other processes; the CPU time (torch on one thread) is what a quiet
    machine's single core would take."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"wall_ms": round(float(np.median(wall)), 1),
            "cpu_ms": round(float(np.median(cpu)), 1)}


def _scene(size: int) -> tuple[np.ndarray, np.ndarray, Any]:
    """An image, a fake suggestion's probabilities and strokes painted on a third of it."""
    from resunet_gui.engine.refine import Strokes

    rng = np.random.default_rng(0)
    image = rng.random((size, size, 3), np.float32)
    fg = np.full((size, size), 0.1, np.float32)
    fg[size // 4:size // 2, size // 4:size // 2] = 0.9
    labels = (fg > 0.5).astype(np.uint8)
    painted = np.zeros((size, size), bool)
    painted[size // 3:size // 3 + 12, :] = True
    return image, np.stack([1 - fg, fg]), Strokes(labels, painted)


def _model(checkpoint: Path | None) -> tuple[Any, Any]:
    from resunet_gui.core.types import Normalization
    from resunet_gui.model.checkpoint import load_checkpoint
    from resunet_gui.model.resunet import ResUNet

    if checkpoint is not None:
        model, meta = load_checkpoint(checkpoint)
        return model.eval(), meta.normalization
    return ResUNet(2).eval(), Normalization()


def bench_corrections(checkpoint: Path | None, repeats: int) -> dict:
    from resunet_gui.annotation.document import MaskDocument
    from resunet_gui.engine.refine import refine_prediction

    model, norm = _model(checkpoint)
    out: dict[str, Any] = {}
    for size in (512, 1024):
        image, probs, strokes = _scene(size)
        refine_prediction(model, norm, image, strokes)  # warm-up
        out[f"refine_{size}"] = _median_ms(
            lambda image=image, strokes=strokes: refine_prediction(model, norm, image, strokes),
            repeats)
        doc = MaskDocument(strokes.labels.copy())
        pt = (size * 3 / 8, size * 3 / 8)
        out[f"click_to_fix_{size}"] = _median_ms(
            lambda doc=doc, probs=probs, pt=pt: (doc.fix_region(pt, 1, probs), doc.undo()),
            repeats * 4)
    out["refine_target_ms_512"] = 1000
    return out


def bench_refine_benefit(folder: Path, checkpoint: Path | None, images: int = 5) -> dict:
    """Dice before/after refine with the effort model's first three brush strokes."""
    from resunet_gui.core.imageio import read_image, read_mask
    from resunet_gui.core.project import Project
    from resunet_gui.engine.effort import EffortConfig, EffortSimulator, class_dice
    from resunet_gui.engine.predictor import Predictor
    from resunet_gui.engine.refine import Strokes, refine_prediction

    model, norm = _model(checkpoint)
    predictor = Predictor(model, norm, device="cpu")
    with Project.open(folder, read_only=True) as project:
        stems = [s for s in project.stems() if project.mask_path(s).exists()][-images:]
        pairs = [(read_image(project.image_path(s)).model_input(),
                  read_mask(project.mask_path(s))) for s in stems]
    k = model.num_classes
    before, after = [], []
    for image, truth in pairs:
        pred = predictor.predict(image)
        sim = EffortSimulator(truth, k, ("stroke",), None, EffortConfig(max_actions=3))
        doc = sim.document(pred.mask)
        sim.run_on(doc)
        painted = doc.provenance >= 2
        refined = refine_prediction(model, norm, image, Strokes(doc.labels.copy(), painted))
        mask = np.where(painted, doc.labels, refined.mask)
        before.append(min(class_dice(doc.labels, truth, k)))
        after.append(min(class_dice(mask, truth, k)))
    return {"refine_dice_after_3_strokes": round(float(np.mean(before)), 4),
            "refine_dice_after_3_strokes_and_refine": round(float(np.mean(after)), 4),
            "refine_images": len(pairs)}


def bench_suggestion_latency(checkpoint: Path | None, repeats: int) -> dict:
    """Service round trip on a 1024x1024 image, and the window showing a prefetched one."""
    import cv2

    from resunet_gui.engine.inference_engine import InferenceEngine
    from resunet_gui.engine.requests import Engine
    from resunet_gui.engine.service import ModelService

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(2):
            cv2.imwrite(str(folder / f"im{i}.png"), (rng.random((1024, 1024)) * 255).astype(
                np.uint8))
        from resunet_gui.core.imageio import read_image

        results: dict[int, Any] = {}
        def engine() -> Engine:  # serves suggestions only; no versions are asked of it
            return cast("Engine", InferenceEngine(checkpoint, tile=1024))

        svc = ModelService(engine,
                           on_result=lambda r: results.__setitem__(r.request_id, r),
                           auto_train=False)
        svc.ready.wait(120)

        def round_trip() -> None:
            rid = svc.request_suggestion(
                "im0", lambda: read_image(folder / "im0.png").model_input())
            while rid not in results:
                time.sleep(0.002)

        round_trip()  # warm-up
        cold = _median_ms(round_trip, max(3, repeats // 2))
        svc.shutdown(60)
        from resunet_gui.bench.effort_prefetch import prefetched_open_ms

        prefetched = prefetched_open_ms(Path(tmp), repeats, _median_ms)
    return {"click_to_suggestion_1024": cold, "target_ms": 1500,
            "prefetched_next_image_1024": prefetched, "prefetched_target_ms": 50}


def run(args: argparse.Namespace) -> list[str]:
    import torch

    torch.set_num_threads(1)  # CPU time then predicts one quiet core (see _median_ms)
    ckpt = getattr(args, "effort_checkpoint", None)
    repeats = getattr(args, "effort_repeats", 5)
    out = {"threads": torch.get_num_threads(), **bench_corrections(ckpt, repeats),
           **bench_suggestion_latency(ckpt, repeats)}
    folder = getattr(args, "effort_folder", None)
    if folder is not None:
        out.update(bench_refine_benefit(folder, ckpt))
    print(json.dumps(out, indent=2))
    return _missed(out)


def _missed(out: dict[str, Any]) -> list[str]:
    """Names of the stated targets this run missed (CPU time, as the figures explain)."""
    measured = {"refine_512_ms": out.get("refine_512", {}).get("cpu_ms"),
                "click_to_suggestion_1024_ms": out["click_to_suggestion_1024"]["cpu_ms"],
                "prefetched_next_image_ms": out["prefetched_next_image_1024"]["cpu_ms"]}
    return [name for name, limit in TARGETS.items()
            if measured[name] is not None and measured[name] > limit]
