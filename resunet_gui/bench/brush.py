"""``resunet-gui bench --brush``: brush segment and undo cost vs image size, and memory.

Measures through the public MaskDocument stroke API (what the canvas calls) and the bare
tool (data only, comparable to a viewer's ``paint()``), on masks of several sizes. The
figure that matters is the ratio between sizes: the cost must follow the brush, not the image.
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from resunet_gui.annotation import tools
from resunet_gui.annotation.document import MaskDocument

DEFAULT_SIZES = (1024, 4096, 16384)
RADIUS = 30
SEGMENTS_PER_STROKE = 50
STEP_PX = 8.0  # distance between consecutive mouse samples
TARGET_SEGMENT_MS = 0.3
TARGET_UNDO_MS = 2.0
TARGET_SIZE_RATIO = 1.5
TARGETS = {"segment_ms": TARGET_SEGMENT_MS, "undo_ms": TARGET_UNDO_MS,  # at most
           "size_ratio": TARGET_SIZE_RATIO}


def rss_mib() -> float:
    """Resident set size of this process in MiB (psutil if present, else /proc)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _stroke_points(rng: np.random.Generator, size: int) -> list[tuple[float, float]]:
    """A smooth random walk of SEGMENTS_PER_STROKE steps, kept inside the image."""
    margin = RADIUS + SEGMENTS_PER_STROKE * STEP_PX
    lo, hi = min(margin, size / 2), max(size - margin, size / 2 + 1)
    x, y = rng.uniform(lo, hi, 2)
    angle = rng.uniform(0, 2 * np.pi)
    pts = [(float(x), float(y))]
    for _ in range(SEGMENTS_PER_STROKE):
        angle += rng.normal(0, 0.3)
        x, y = x + STEP_PX * np.cos(angle), y + STEP_PX * np.sin(angle)
        pts.append((float(x), float(y)))
    return pts


def _ms(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values) * 1e3
    return {"median_ms": float(np.median(arr)), "max_ms": float(arr.max()),
            "p95_ms": float(np.percentile(arr, 95))}


def bench_size(size: int, strokes: int, seed: int = 0) -> dict[str, Any]:
    """Time segments, end_stroke, undo and redo of 50-segment strokes on a size x size mask."""
    rng = np.random.default_rng(seed)
    labels = np.full((size, size), 0, np.uint8)  # resident, like a loaded mask
    doc = MaskDocument(labels)
    clock = time.perf_counter
    seg, end, compact, undo, redo, tool = [], [], [], [], [], []
    for i in range(strokes):
        pts = _stroke_points(rng, size)
        doc.begin_stroke()
        for p0, p1 in pairwise(pts):
            t0 = clock()
            doc.paint(p0, p1, RADIUS, 1 + i % 3)
            seg.append(clock() - t0)
        t0 = clock()
        doc.end_stroke()
        end.append(clock() - t0)
        t0 = clock()  # the GUI does this when idle, 16 tiles per event-loop tick
        doc.compact_history()
        compact.append(clock() - t0)
    for _ in range(strokes):
        t0 = clock()
        doc.undo()
        undo.append(clock() - t0)
    for _ in range(strokes):
        t0 = clock()
        doc.redo()
        redo.append(clock() - t0)
    for _ in range(strokes):
        pts = _stroke_points(rng, size)
        for p0, p1 in pairwise(pts):
            t0 = clock()
            tools.paint_segment(labels, p0, p1, RADIUS, 2)
            tool.append(clock() - t0)
    return {"size": size, "segments": len(seg), "strokes": strokes,
            "segment": _ms(seg), "tool_segment": _ms(tool), "end_stroke": _ms(end),
            "compact_after_stroke": _ms(compact),
            "undo": _ms(undo), "redo": _ms(redo)}


def bench_memory(size: int = 16384, strokes: int = 200, seed: int = 1) -> dict[str, Any]:
    """RSS of a size^2 document (labels + suggestion + provenance) with ``strokes`` in history."""
    gc.collect()
    base = rss_mib()
    rng = np.random.default_rng(seed)
    suggestion = np.zeros((size, size), np.uint8)
    step = max(1, size // 64)
    for _ in range(200):  # blobby synthetic suggestion
        cy, cx = rng.integers(0, size, 2)
        suggestion[max(0, cy - step):cy + step, max(0, cx - step):cx + step] = rng.integers(1, 4)
    doc = MaskDocument(np.full((size, size), 0, np.uint8), suggestion=suggestion)
    t0 = time.perf_counter()
    doc.accept_suggestion()
    accept_s = time.perf_counter() - t0
    after_doc = rss_mib()
    for i in range(strokes):
        pts = _stroke_points(rng, size)
        doc.begin_stroke()
        for p0, p1 in pairwise(pts):
            doc.paint(p0, p1, RADIUS, 1 + i % 3)
        doc.end_stroke()
    after = rss_mib()
    layers_mib = 3 * size * size / 2**20
    return {"size": size, "strokes": strokes, "rss_base_mib": base,
            "rss_document_mib": after_doc, "rss_with_history_mib": after,
            "document_increase_mib": after - base, "layers_mib": layers_mib,
            "history_mib": doc.history.nbytes / 2**20, "history_steps": len(doc.history),
            "accept_suggestion_s": accept_s}


def run_brush_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run all brush measurements; returns a JSON-ready dict with pass/fail per target."""
    sizes = tuple(getattr(args, "brush_sizes", None) or DEFAULT_SIZES)
    strokes = int(getattr(args, "brush_strokes", None) or 20)
    rows = []
    for size in sizes:
        rows.append(bench_size(size, strokes))
        gc.collect()
    mem_size = int(getattr(args, "brush_memory_size", None) or 16384)
    mem_strokes = int(getattr(args, "brush_memory_strokes", None) or 200)
    memory = bench_memory(mem_size, mem_strokes) if mem_size > 0 else None
    first, last = rows[0], rows[-1]
    seg_ratio = last["segment"]["median_ms"] / first["segment"]["median_ms"]
    undo_ratio = last["undo"]["median_ms"] / first["undo"]["median_ms"]
    targets = {
        "segment_median_le_0.3ms": all(r["segment"]["median_ms"] <= TARGET_SEGMENT_MS for r in rows),
        "undo_le_2ms": all(r["undo"]["median_ms"] <= TARGET_UNDO_MS for r in rows),
        "largest_within_1.5x_of_smallest": max(seg_ratio, undo_ratio) <= TARGET_SIZE_RATIO,
    }
    return {"radius": RADIUS, "segments_per_stroke": SEGMENTS_PER_STROKE, "step_px": STEP_PX,
            "sizes": rows, "memory": memory, "segment_ratio": seg_ratio,
            "undo_ratio": undo_ratio, "targets": targets}


def print_report(result: dict[str, Any], out: Any = None) -> None:
    out = sys.stdout if out is None else out  # looked up late: stdout may be redirected
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"Brush bench: radius {result['radius']} px, strokes of {result['segments_per_stroke']} "
      f"segments, {result['step_px']:.0f} px apart (times in ms: median / max)")
    p(f"{'mask':>12} | {'segment (doc)':>15} | {'segment (tool)':>15} | {'end_stroke':>15} | "
      f"{'undo 50-seg':>15} | {'redo':>15}")
    for r in result["sizes"]:
        cells = [f"{r[k]['median_ms']:6.3f} / {r[k]['max_ms']:6.2f}"
                 for k in ("segment", "tool_segment", "end_stroke", "undo", "redo")]
        p(f"{r['size']:>5}x{r['size']:<6} | " + " | ".join(f"{c:>15}" for c in cells))
    p(f"largest/smallest size ratio: segment {result['segment_ratio']:.2f}x, "
      f"undo {result['undo_ratio']:.2f}x")
    mem = result["memory"]
    if mem:
        p(f"memory, {mem['size']}^2 document (labels+suggestion+provenance = "
          f"{mem['layers_mib']:.0f} MiB) with {mem['history_steps']} steps "
          f"(from {mem['strokes']} strokes + accept; no-op strokes add none): RSS {mem['rss_with_history_mib']:.0f} MiB "
          f"(+{mem['document_increase_mib']:.0f} MiB over {mem['rss_base_mib']:.0f} MiB base; "
          f"after load+accept {mem['rss_document_mib']:.0f} MiB); history "
          f"{mem['history_mib']:.1f} MiB counted against the undo budget (the accept step shares "
          f"the suggestion array and counts it in full); accept_suggestion "
          f"{mem['accept_suggestion_s']:.2f} s")
    for name, ok in result["targets"].items():
        p(f"target {name}: {'PASS' if ok else 'FAIL'}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--brush-sizes", type=int, nargs="+", metavar="N",
                        help="mask sides to test (default 1024 4096 16384)")
    parser.add_argument("--brush-strokes", type=int, metavar="N",
                        help="50-segment strokes per size (default 20)")
    parser.add_argument("--brush-memory-size", type=int, metavar="N",
                        help="side of the memory test document (default 16384, 0 skips)")
    parser.add_argument("--brush-memory-strokes", type=int, metavar="N",
                        help="strokes in the memory test document's history (default 200)")
    parser.add_argument("--brush-json", metavar="FILE",
                        help="also write the figures as JSON to FILE ('-' for stdout)")


def run(args: argparse.Namespace) -> list[str]:
    result = run_brush_bench(args)
    missed = [name for name, ok in result["targets"].items() if not ok]
    target = getattr(args, "brush_json", None)
    if target == "-":
        json.dump(result, sys.stdout, indent=1)
        print()
        return missed
    print_report(result)
    if target:
        Path(target).write_text(json.dumps(result, indent=1))
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resunet_gui.bench.brush",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return 1 if run(parser.parse_args(argv)) else 0


if __name__ == "__main__":
    raise SystemExit(main())
