"""``resunet-gui predict`` / ``doctor`` / ``bench`` through ``resunet_gui.cli.main``."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from resunet_gui.cli import main
from resunet_gui.core.types import ClassSpec, Normalization
from resunet_gui.model.checkpoint import CheckpointMeta, save_checkpoint
from resunet_gui.model.resunet import ResUNet

torch.set_num_threads(2)


def _folder(root, sizes=((40, 60), (33, 47), (64, 64)), layout="images"):
    """A tiny dataset: RGB and grey PNGs of different sizes."""
    src = root / "images" if layout == "images" else root
    src.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        shape = (h, w) if i % 2 else (h, w, 3)
        cv2.imwrite(str(src / f"img{i}.png"), rng.integers(0, 256, shape, dtype=np.uint8))
    return root


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_predict_writes_one_mask_per_image_with_matching_size(tmp_path, capsys):
    folder = _folder(tmp_path / "data")
    out = tmp_path / "out"
    rc = main(["predict", str(folder), "--out", str(out), "--device", "cpu"])
    assert rc == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["img0.png", "img1.png", "img2.png"]
    for name, size in zip(written, ((40, 60), (33, 47), (64, 64)), strict=True):
        mask = _read(out / name)
        assert mask.dtype == np.uint8 and mask.shape == size and mask.max() <= 1
    err = capsys.readouterr().err
    assert "predict 3/3" in err and "\r" not in err and "wrote 3 masks" in err  # not a tty


def test_predict_without_checkpoint_warns_about_random_model(tmp_path, caplog):
    folder = _folder(tmp_path / "data", sizes=((32, 32),), layout="flat")
    assert main(["predict", str(folder), "--device", "cpu", "--classes", "3"]) == 0
    assert (folder / "predictions" / "img0.png").is_file()
    assert any("randomly initialised 3-class" in r.getMessage() for r in caplog.records)


def test_predict_with_checkpoint_uses_its_classes(tmp_path):
    folder = _folder(tmp_path / "data", sizes=((50, 70),))
    torch.manual_seed(0)
    model = ResUNet(num_classes=4)
    with torch.no_grad():  # bias the head so class 3 wins everywhere
        model.head.conv.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 100.0]))
    classes = [ClassSpec(i, f"c{i}", (i, i, i)) for i in range(4)]
    ckpt = tmp_path / "v001.safetensors"
    save_checkpoint(ckpt, model, CheckpointMeta(classes=classes, normalization=Normalization()))
    out = tmp_path / "out"
    assert main(["predict", str(folder), "--checkpoint", str(ckpt), "--out", str(out),
                 "--device", "cpu", "--tile", "48"]) == 0
    mask = _read(out / "img0.png")
    assert mask.shape == (50, 70) and (mask == 3).all()


def test_predict_skips_bad_images_and_exits_nonzero(tmp_path, capsys):
    folder = _folder(tmp_path / "data", sizes=((32, 32),))
    (folder / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "images" / "empty.jpg").write_bytes(b"")
    out = tmp_path / "out"
    rc = main(["predict", str(folder), "--out", str(out), "--device", "cpu"])
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["img0.png"]
    err = capsys.readouterr().err
    assert "skipped broken.png" in err and "skipped empty.jpg" in err
    assert "2 images skipped" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["predict", "{tmp}/missing"], "not a folder"),
    (["predict", "{tmp}/empty"], "no images found"),
    (["predict", "{tmp}/data", "--checkpoint", "{tmp}/nope.safetensors"], "checkpoint not found"),
    (["predict", "{tmp}/data", "--device", "cuda:7"], "cuda:7"),
    (["predict", "{tmp}/data", "--tile", "8"], "--tile"),
    (["predict", "{tmp}/data", "--out", "{tmp}/data/masks"], "overwrite"),
])
def test_predict_errors_are_one_line_and_exit_1(tmp_path, capsys, argv, message):
    _folder(tmp_path / "data", sizes=((32, 32),))
    (tmp_path / "empty").mkdir()
    (tmp_path / "data" / "masks").mkdir()
    cv2.imwrite(str(tmp_path / "data" / "masks" / "img0.png"), np.ones((32, 32), np.uint8))
    rc = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1].startswith("error:") and message in err[-1]
    assert _read(tmp_path / "data" / "masks" / "img0.png").max() == 1  # annotations untouched


@pytest.mark.slow
@pytest.mark.data
def test_predict_on_isbi_subset_writes_masks_of_matching_size(dataset_copy, tmp_path):
    data = dataset_copy("isbi2012-em")
    images = sorted((data / "images").iterdir())
    for extra in images[3:]:  # keep 3 of 30 images: the full set is a benchmark, not a test
        extra.unlink()
    out = tmp_path / "pred"
    assert main(["predict", str(data), "--out", str(out), "--device", "cpu"]) == 0
    for image in images[:3]:
        mask = _read(out / f"{image.stem}.png")
        assert mask is not None and mask.shape == _read(image).shape[:2]


def test_doctor_prints_versions_devices_and_weights(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"torch: {torch.__version__.split('+')[0]}" in out
    assert "torchvision:" in out and "PySide6-Essentials:" in out
    assert "device cpu:" in out and "device cuda:" in out
    assert "QT_QPA_PLATFORM: offscreen" in out
    assert "not cached" in out


def test_bench_json_prints_model_figures(capsys):
    rc = main(["bench", "--json", "--sizes", "64", "--batches", "1", "--repeats", "1",
               "--matmul-repeats", "1", "--device", "cpu", "--no-reference"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    fig = result["forward"]["resunet"]["64"]
    assert fig["gflop_per_image"] == pytest.approx(28.76 / 64, rel=0.02)  # scales with pixels
    assert fig["batch1"]["images_per_s"] > 0 and fig["batch1"]["gflops"] > 0
    assert result["matmul_fp32_gflops"] > 0
    assert result["ratios"]["64_batch1"]["fraction_of_matmul"] > 0


def test_bench_reports_missing_module(monkeypatch, capsys):
    from resunet_gui.bench import command

    monkeypatch.setitem(command.BENCHES, "ui", ("does_not_exist", "a benchmark not built"))
    assert main(["bench", "--ui"]) == 1
    assert "not available" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_bench_on_gpu_reports_bf16_figures(capsys):
    assert main(["bench", "--sizes", "64", "--batches", "1", "--repeats", "1", "--device",
                 "cuda", "--no-reference"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["gpu"]["bf16_512_batch32"]["images_per_s"] > 0


def test_doctor_download_weights_offline_is_a_one_line_error_and_leaves_no_file(
        capsys, monkeypatch, tmp_path):
    import urllib.request

    def offline(*_a, **_k):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["doctor", "--download-weights"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot download ImageNet weights")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_predict_reports_images_sharing_a_stem_instead_of_overwriting_a_mask(tmp_path, capsys):
    src = tmp_path / "imgs"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), np.zeros((16, 24, 3), np.uint8))
    cv2.imwrite(str(src / "a.jpg"), np.zeros((20, 20, 3), np.uint8))
    out = tmp_path / "pred"
    assert main(["predict", str(src), "--out", str(out), "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    assert _read(out / "a.png").shape == (20, 20)  # a.jpg comes first by name, as in a project
    assert "same name" in capsys.readouterr().err


def test_slices_of_two_stacks_get_masks_of_their_own(tmp_path) -> None:
    import tifffile

    folder = tmp_path / "stacks"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        tifffile.imwrite(folder / f"{name}.tif",
                         (rng.random((2, 48, 48)) * 255).astype(np.uint8))
    out = tmp_path / "out"
    assert main(["predict", str(folder), "--out", str(out), "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == [
        "a_z0000.png", "a_z0001.png", "b_z0000.png", "b_z0001.png"]
