"""Tiled prediction: even tile layout, resume from a cancelled call's finished tiles, and the
bounded cache that keeps them (issue 17, item 7)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from resunet_gui.engine.predictor import Cancelled, Predictor, tile_layout
from resunet_gui.engine.tile_cache import PartialTiles, TileCache


class ContextNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.net = nn.Sequential(nn.Conv2d(3, 4, 5, padding=2), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))
        self.tiles = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.tiles += x.shape[0]
        return self.net(x)


@pytest.mark.parametrize("size", [1100, 2048, 6000, 6001])
def test_tile_layout_covers_the_image_with_the_overlap_and_little_waste(size):
    length, starts = tile_layout(size, 1024, 64)
    assert starts[0] == 0 and starts[-1] + length == size and length <= 1024
    assert all(b - a <= length - 64 for a, b in zip(starts, starts[1:], strict=False))
    assert len(starts) * length / size < 1.15  # was 1.19 for 6000 px (7 x 1024)


def test_cancelled_prediction_resumes_from_its_tiles_and_matches_an_uninterrupted_one():
    img = np.random.default_rng(0).random((150, 170, 3), dtype=np.float32)
    whole = Predictor(ContextNet(), device="cpu", tile=64, overlap=16).predict(img)
    net, cache, seen = ContextNet(), TileCache(), []
    predictor = Predictor(net, device="cpu", tile=64, overlap=16)
    with pytest.raises(Cancelled):
        predictor.predict(img, lambda: net.tiles >= 4, cache=cache, key="k",
                          progress=lambda d, t: seen.append((d, t)))
    assert "k" in cache and net.tiles == 4
    total = seen[-1][1]
    seen.clear()
    resumed = predictor.predict(img, cache=cache, key="k", progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (4, total) and seen[-1] == (total, total) and net.tiles == total
    assert "k" not in cache
    np.testing.assert_allclose(resumed.probs, whole.probs, atol=1e-6)


def _part(n: int) -> PartialTiles:
    return PartialTiles((n,), torch.zeros(2, n, n), 1)


def test_cache_is_bounded_least_recently_used_first_and_checks_the_layout():
    one = _part(32).nbytes
    cache = TileCache(max_bytes=2 * one)
    assert cache.put("a", _part(32)) and cache.put("b", _part(32)) and cache.put("c", _part(32))
    assert "a" not in cache and len(cache) == 2 and cache.nbytes <= 2 * one
    assert not cache.put("huge", _part(64))  # larger than the whole budget: not kept
    assert cache.take("b", (99,)) is None and "b" not in cache  # another layout: dropped
    cache.retain(lambda key: key != "c")
    assert len(cache) == 0
