"""``resunet-gui bench --json``: model forward speed vs the smp reference and the machine.

For each size and batch: ms/image, images/s and achieved GFLOP/s of our ResUNet (eval,
``inference_mode``, channels_last: what the Predictor runs) and of
``segmentation_models_pytorch.Unet("resnet18")`` as its users run it (eval, NCHW), timed
alternately in the same run so machine load hits both alike. FLOPs are counted once per size
with ``FlopCounterMode`` (2 per multiply-add). The machine's fp32 matmul GFLOP/s is the ceiling.
"""
from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_VS_REFERENCE = 1.0
TARGET_FRACTION_OF_MATMUL = 0.6
TARGETS = {"speed_vs_smp": TARGET_VS_REFERENCE,  # at least, at 512x512 batch 1
           "fraction_of_matmul": TARGET_FRACTION_OF_MATMUL}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda[:N] or mps")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], metavar="N",
                        help="square image sides to time")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8], metavar="B",
                        help="batch sizes to time")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="timed forwards per figure after one warm-up (median reported)")
    parser.add_argument("--matmul-repeats", type=int, default=5, metavar="N",
                        help="timed matmuls per size for the machine's ceiling")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--classes", type=int, default=2, help="output classes of the model")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip segmentation_models_pytorch even when installed")
    parser.add_argument("--json-out", type=Path, metavar="FILE", help="also write the JSON here")


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_once(fn: Callable[[], Any], device: Any) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def matmul_gflops(device: Any, dtype: Any = None, repeats: int = 5) -> float:
    """Best fp32 (or ``dtype``) square-matmul throughput over a few sizes."""
    import torch

    dtype = dtype or torch.float32
    sizes = (1024, 2048) if device.type == "cpu" else (4096, 8192)
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        out = torch.empty(n, n, device=device, dtype=dtype)
        torch.mm(a, b, out=out)
        for _ in range(repeats):
            t = _time_once(functools.partial(torch.mm, a, b, out=out), device)
            best = max(best, 2 * n**3 / t / 1e9)
    return best


def count_gflop(model: Any, size: int, in_channels: int, device: Any) -> float:
    """GFLOP of one forward on a 1 x C x size x size input."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, in_channels, size, size, device=device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 1e9


def _figures(times: list[float], batch: int, gflop: float) -> dict[str, float]:
    t = statistics.median(times)
    return {"ms_per_image": round(t / batch * 1e3, 2), "images_per_s": round(batch / t, 3),
            "gflops": round(gflop * batch / t, 1), "runs": len(times)}


def _build_models(args: argparse.Namespace, device: Any) -> dict[str, tuple[Any, Any]]:
    """name -> (model, memory format of its input)."""
    import torch

    from resunet_gui.engine.bootstrap import bootstrap_model

    ours = bootstrap_model(args.classes, weights="none", device=device).model
    # torch stubs lack the to(device, memory_format=) form that Module.to accepts
    ours = ours.eval().to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    models = {"resunet": (ours, torch.channels_last)}
    if not args.no_reference:
        try:
            import segmentation_models_pytorch as smp
        except ImportError:
            return models
        # the same widths as ours, so the figures compare implementations, not networks
        ref = smp.Unet("resnet18", encoder_weights=None, classes=args.classes,
                       decoder_channels=list(ours.decoder_channels)).eval().to(device)
        models["smp_unet_resnet18"] = (ref, torch.contiguous_format)
    return models


def bench_forward(args: argparse.Namespace, device: Any) -> dict[str, Any]:
    import torch

    models = _build_models(args, device)
    out: dict[str, Any] = {name: {} for name in models}
    for size in args.sizes:
        gflop = count_gflop(models["resunet"][0], size, 3, device)
        for name in models:
            out[name][str(size)] = {"gflop_per_image": round(gflop, 2)}
        for batch in args.batches:
            inputs = {name: torch.rand(batch, 3, size, size, device=device)
                      .contiguous(memory_format=fmt) for name, (_, fmt) in models.items()}
            times: dict[str, list[float]] = {name: [] for name in models}
            with torch.inference_mode():
                for name, (model, _) in models.items():  # warm-up (allocations, kernels)
                    model(inputs[name])
                for _ in range(args.repeats):  # alternate so load changes hit all models
                    for name, (model, _) in models.items():
                        times[name].append(_time_once(
                            functools.partial(model, inputs[name]), device))
            for name in models:
                out[name][str(size)][f"batch{batch}"] = _figures(times[name], batch, gflop)
            print(f"bench: size {size} batch {batch}: " + ", ".join(
                f"{n} {out[n][str(size)][f'batch{batch}']['ms_per_image']} ms/image"
                for n in models), file=sys.stderr, flush=True)
    return out


def bench_gpu(args: argparse.Namespace, device: Any) -> dict[str, Any]:
    """bf16 throughput at 512 batch 32 and batch-1 latency at 1024 (CUDA only)."""
    import torch

    from resunet_gui.engine.bootstrap import bootstrap_model

    model = bootstrap_model(args.classes, weights="none", device=device).model
    model = model.eval().to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    result: dict[str, Any] = {"name": torch.cuda.get_device_name(device),
                              "bf16_matmul_gflops": round(matmul_gflops(device, torch.bfloat16), 1)}
    cases = {"bf16_512_batch32": (512, 32, torch.bfloat16),
             "bf16_1024_batch1": (1024, 1, torch.bfloat16),
             "fp32_1024_batch1": (1024, 1, None)}
    for key, (size, batch, dtype) in cases.items():
        x = torch.rand(batch, 3, size, size, device=device).contiguous(
            memory_format=torch.channels_last)
        times = []
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float32,
                                                     enabled=dtype is not None):
            for _ in range(3):
                model(x)
            for _ in range(max(args.repeats, 10)):
                times.append(_time_once(functools.partial(model, x), device))
        gflop = count_gflop(model, size, 3, device)
        result[key] = _figures(times, batch, gflop)
    return result


def run_model_bench(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from resunet_gui.engine.device import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    result: dict[str, Any] = {
        "device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
        "matmul_fp32_gflops": round(matmul_gflops(device, repeats=args.matmul_repeats), 1),
    }
    result["forward"] = bench_forward(args, device)
    # Measured again after the forwards (load on a shared machine drifts); the best of the
    # two is the ceiling, which makes the fraction of it a conservative figure.
    result["matmul_fp32_gflops"] = max(result["matmul_fp32_gflops"],
                                       round(matmul_gflops(device, repeats=args.matmul_repeats), 1))
    result["ratios"] = _ratios(result)
    if device.type == "cuda":
        result["gpu"] = bench_gpu(args, device)
    if "smp_unet_resnet18" not in result["forward"]:
        result["reference"] = ("segmentation_models_pytorch not measured (not installed or "
                               "--no-reference); install the bench extra: pip install -e .[bench]")
    return result


def _ratios(result: dict[str, Any]) -> dict[str, Any]:
    """Speed vs reference and fraction of matmul throughput, per size and batch."""
    ours = result["forward"]["resunet"]
    ref = result["forward"].get("smp_unet_resnet18")
    ratios: dict[str, Any] = {}
    for size, per_batch in ours.items():
        for key, fig in per_batch.items():
            if not key.startswith("batch"):
                continue
            entry = {"fraction_of_matmul": round(fig["gflops"] / result["matmul_fp32_gflops"], 3)}
            if ref is not None:
                entry["speed_vs_smp"] = round(fig["images_per_s"] / ref[size][key]["images_per_s"], 3)
            ratios[f"{size}_{key}"] = entry
    at512 = ratios.get("512_batch1")
    if at512 is not None:
        ratios["targets_512_batch1"] = {
            "speed_vs_smp": {"value": at512.get("speed_vs_smp"), "target": TARGET_VS_REFERENCE,
                             "ok": at512.get("speed_vs_smp", 0) >= TARGET_VS_REFERENCE},
            "fraction_of_matmul": {"value": at512["fraction_of_matmul"],
                                   "target": TARGET_FRACTION_OF_MATMUL,
                                   "ok": at512["fraction_of_matmul"] >= TARGET_FRACTION_OF_MATMUL},
        }
    return ratios


def run(args: argparse.Namespace) -> list[str]:
    result = run_model_bench(args)
    text = json.dumps(result, indent=1)
    print(text)
    if getattr(args, "json_out", None):
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    targets = result.get("ratios", {}).get("targets_512_batch1", {})
    return [f"512_batch1_{name}" for name, t in targets.items() if not t["ok"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resunet_gui.bench.model",
                                     description=__doc__)
    add_arguments(parser)
    return 1 if run(parser.parse_args(argv)) else 0


if __name__ == "__main__":
    raise SystemExit(main())
