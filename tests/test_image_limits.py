"""Images that would hang or exhaust memory: FIFOs, the pixel budget, big inputs to the model."""
from __future__ import annotations

import os
import signal
import tracemalloc

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from resunet_gui.core.errors import ImageReadError
from resunet_gui.core.imageio import image_size, read_image
from resunet_gui.engine.predictor import Predictor


@pytest.fixture
def no_hang():
    def fire(*_):  # noqa: ANN002, ANN202
        raise TimeoutError("hung")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_fifo_named_like_an_image_is_refused_not_waited_on(tmp_path, no_hang):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    for read in (read_image, image_size):
        with pytest.raises(ImageReadError, match="not a regular file"):
            read(fifo)


def test_the_pixel_budget_refuses_from_the_header_naming_image_and_limit(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), np.zeros((1000, 1500), np.uint8))
    monkeypatch.setenv("RESUNET_MAX_MEGAPIXELS", "1")
    for read in (read_image, image_size):
        with pytest.raises(ImageReadError, match=r"wide\.png.*1\.5? ?megapixels|wide\.png.*over the 1-megapixel"):
            read(path)
    monkeypatch.setenv("RESUNET_MAX_MEGAPIXELS", "2")
    assert read_image(path).shape == (1000, 1500)


def test_a_five_channel_tiff_is_reported_as_five_channels(tmp_path):
    import tifffile

    path = tmp_path / "five.tif"
    tifffile.imwrite(path, np.zeros((5, 16, 64), np.uint8), photometric="minisblack",
                     planarconfig="separate")
    with pytest.raises(ImageReadError, match="5 channels"):
        read_image(path)


class _PerPixel(nn.Module):
    in_channels = 3

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_a_big_8bit_image_is_never_copied_whole_as_float(tmp_path):
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (768, 768), np.uint8))
    image = read_image(path)
    predictor = Predictor(_PerPixel(), device="cpu", tile=256)
    arr = image.model_array()
    assert arr.dtype == np.uint8 and np.shares_memory(arr, image.raw)
    tracemalloc.start()
    try:
        result = predictor.predict(arr)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    full_float = 768 * 768 * 3 * 4  # what one float copy of the model input would take
    assert peak < full_float / 4, f"numpy peak {peak / 2**20:.1f} MiB"
    expected = predictor.predict(image.model_input())
    np.testing.assert_allclose(result.probs, expected.probs, atol=1e-5)
