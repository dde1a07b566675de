"""``resunet-gui bench --tiles``: per-pixel cost of a large image's suggestion against a
512x512 one (tile overlap and stitching overhead; target at most 1.3x).

Both run the app's predictor (random-init ResUNet, CPU, the app's 1024 px tiles and 64 px
overlap). The 512x512 time is the median of several runs taken before and after the large
one, so a machine whose load drifts during the long run biases neither side.
"""
from __future__ import annotations

import argparse
import json
import time

TARGET_RATIO = 1.3
TARGETS = {"per_pixel_ratio": TARGET_RATIO}  # at most


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tiles-size", type=int, default=6000, metavar="N",
                        help="side of the large square image (default 6000)")
    parser.add_argument("--tiles-tile", type=int, default=1024, metavar="N",
                        help="tile side, as in the app (default 1024)")
    parser.add_argument("--tiles-repeats", type=int, default=3, metavar="N",
                        help="512x512 runs before and after the large one (default 3)")


def _timed(predictor, image) -> float:  # noqa: ANN001
    t = time.perf_counter()
    predictor.predict(image)
    return time.perf_counter() - t


def measure(size: int, tile: int, repeats: int) -> dict[str, float]:
    import numpy as np
    import torch

    from resunet_gui.engine.bootstrap import bootstrap_model
    from resunet_gui.engine.predictor import Predictor, tile_layout

    setup = bootstrap_model(2, weights="none", device="cpu", seed=0)
    predictor = Predictor(setup.model.eval(), device="cpu", tile=tile, overlap=64, amp=False)
    rng = np.random.default_rng(0)
    small = rng.random((512, 512, 3), dtype=np.float32)
    large = rng.random((size, size, 3), dtype=np.float32)
    _timed(predictor, small)  # warm-up
    before = [_timed(predictor, small) for _ in range(repeats)]
    large_s = _timed(predictor, large)
    after = [_timed(predictor, small) for _ in range(repeats)]
    small_s = float(np.median(before + after))
    length, starts = tile_layout(size, tile, 64)
    ratio = (large_s / size**2) / (small_s / 512**2)
    return {"size": size, "tile": length, "tiles": len(starts) ** 2,
            "tiled_area_ratio": (len(starts) * length / size) ** 2,
            "small_512_s": small_s, "large_s": large_s,
            "small_us_per_px": small_s / 512**2 * 1e6, "large_us_per_px": large_s / size**2 * 1e6,
            "per_pixel_ratio": ratio, "torch_threads": torch.get_num_threads()}


def run(args: argparse.Namespace) -> list[str]:
    r = measure(args.tiles_size, args.tiles_tile, args.tiles_repeats)
    ok = "ok" if r["per_pixel_ratio"] <= TARGET_RATIO else "OVER"
    print(f"512x512: {r['small_512_s']:.2f} s ({r['small_us_per_px']:.3f} us/px); "
          f"{r['size']}x{r['size']}: {r['large_s']:.1f} s ({r['large_us_per_px']:.3f} us/px) "
          f"in {r['tiles']} tiles of {r['tile']} px (tiled area {r['tiled_area_ratio']:.2f}x)")
    print(f"per-pixel cost ratio {r['per_pixel_ratio']:.2f}x (target <= {TARGET_RATIO}: {ok})")
    print(json.dumps(r))
    return [] if r["per_pixel_ratio"] <= TARGET_RATIO else ["per_pixel_ratio"]
