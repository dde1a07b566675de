"""One bad model version never disables the model: the engine serves the newest intact
version and says so, rollback works, current.json never names a path, and hostile metadata
sizes are refused before anything is allocated."""
from __future__ import annotations

import json
import os

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from safetensors.torch import load_file, save_file
from synthetic import make_blob_project

from resunet_gui.core.errors import CheckpointError
from resunet_gui.core.project import Project
from resunet_gui.engine.project_engine import EngineConfig, ProjectEngine
from resunet_gui.engine.settings import TrainConfig
from resunet_gui.engine.versions import VersionStore
from resunet_gui.model import checkpoint
from resunet_gui.model.checkpoint import CheckpointMeta, load_checkpoint, read_meta
from resunet_gui.model.resunet import ResUNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CFG = dict(device="cpu", weights="none",
           train=TrainConfig(crop=64, batch_size=2, steps_per_chunk=1))


def _meta() -> CheckpointMeta:
    return CheckpointMeta(classes=[{"id": 0, "name": "background", "color": [0, 0, 0]},
                                   {"id": 1, "name": "blob", "color": [255, 0, 0]}])


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """A project whose models/ holds v001 and v002 (current), both intact."""
    torch.manual_seed(1)
    folder = make_blob_project(tmp_path_factory.mktemp("versions") / "p")
    with Project.open(folder) as project:
        store = VersionStore(project.models_dir)
        for _ in range(2):
            model = ResUNet(2, decoder_channels=(16, 16, 16, 16, 16))
            store.save(model, _meta())
        store.set_current("v002")
    return folder


@pytest.fixture
def project(two_versions, tmp_path):
    import shutil

    folder = tmp_path / "p"
    shutil.copytree(two_versions, folder)
    with Project.open(folder) as p:
        yield p


def _v(project, name: str):
    return project.models_dir / f"{name}.safetensors"


def _damage(project, how: str) -> None:
    path = _v(project, "v002")
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(os.urandom(4096))
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "wrong_shape":
        tensors = load_file(str(path))
        tensors["head.conv.weight"] = torch.zeros(5, 16, 1, 1)
        raw = json.dumps(read_meta(path).to_dict())
        save_file(tensors, str(path), metadata={"resunet_gui": raw})
    elif how == "bad_metadata":
        tensors = load_file(str(path))
        save_file(tensors, str(path), metadata={"resunet_gui": "{not json"})
    elif how == "endless_sidecar":  # no embedded metadata; the sidecar never ends
        save_file(load_file(str(path)), str(path))
        path.with_suffix(".json").unlink()
        os.symlink("/dev/zero", path.with_suffix(".json"))
    elif how == "huge_sizes":
        tensors = load_file(str(path))
        meta = read_meta(path).to_dict()
        meta.update(num_classes=10**7, decoder_channels=[10**6] * 5)
        save_file(tensors, str(path), metadata={"resunet_gui": json.dumps(meta)})


def _same_weights(model, path) -> bool:
    ref = load_file(str(path))
    return all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("how", ["garbage", "truncated", "empty", "wrong_shape", "bad_metadata",
                                 "huge_sizes", "endless_sidecar"])
def test_damaged_current_version_falls_back_to_newest_intact_and_says_so(project, how):
    _damage(project, how)
    choice = VersionStore(project.models_dir).load_serving()
    assert choice.name == "v001"
    assert _same_weights(choice.model, _v(project, "v001"))
    text = " ".join(choice.warnings)
    assert "v002" in text and "using v001" in text


def test_engine_starts_on_the_intact_version_rollback_works_and_status_says_so(project):
    _damage(project, "truncated")
    engine = ProjectEngine(project, EngineConfig(**CFG))
    assert engine.model_version() == "v001"
    assert _same_weights(engine.serving, _v(project, "v001"))
    assert "v002" in " ".join(engine.warnings) and "v001" in engine.status().message
    assert engine.rollback("v001").name == "v001"
    with pytest.raises(CheckpointError):  # the damaged one fails cleanly, nothing changes
        engine.rollback("v002")
    assert engine.model_version() == "v001"
    assert _same_weights(engine.serving, _v(project, "v001"))


def _write_current(project, content: bytes | None) -> None:
    current = project.models_dir / "current.json"
    (project.folder.parent / "x.safetensors").write_bytes(b"not a model")
    if content is None:
        current.unlink()
    else:
        current.write_bytes(content)


@pytest.mark.parametrize("content", [b'{"current": "../../x"}', b"\x00garbage{",
                                     b'{"current": "v009"}', b'["v002"]', None])
def test_bad_or_missing_current_json_serves_the_newest_intact_version(project, content):
    _write_current(project, content)
    choice = VersionStore(project.models_dir).load_serving()
    assert choice.name == "v002"  # not an untrained model
    assert _same_weights(choice.model, _v(project, "v002"))
    assert "current.json" in " ".join(choice.warnings)


def test_engine_without_current_json_continues_from_the_newest_version(project):
    _write_current(project, None)
    engine = ProjectEngine(project, EngineConfig(**CFG))
    assert engine.model_version() == "v002"
    assert "current.json is missing" in engine.warnings[0]
    assert engine.rollback("v001").name == "v001"
    assert VersionStore(project.models_dir).current() == "v001"


def test_current_json_cannot_name_a_file_outside_models(project):
    (project.models_dir / "current.json").write_text('{"current": "../../x"}')
    store = VersionStore(project.models_dir)
    assert store.current() is None
    name, problem = store.read_current()
    assert name is None and "not a model version inside models/" in problem


def test_no_intact_version_starts_untrained_and_says_so(project):
    for name in ("v001", "v002"):
        _v(project, name).write_bytes(b"garbage")
    choice = VersionStore(project.models_dir).load_serving()
    assert choice.model is None and "untrained" in choice.warnings[-1]


@pytest.mark.parametrize("field,value", [("num_classes", 10**7), ("decoder_channels", [10**6] * 5),
                                         ("in_channels", 4096), ("decoder_channels", [16] * 400),
                                         ("num_classes", "3"), ("training", [1, 2])])
def test_hostile_metadata_sizes_are_refused_before_any_model_is_built(project, monkeypatch,
                                                                      field, value):
    path = _v(project, "v002")
    tensors = load_file(str(path))
    meta = read_meta(path).to_dict()
    meta[field] = value
    save_file(tensors, str(path), metadata={"resunet_gui": json.dumps(meta)})
    built = []
    monkeypatch.setattr(checkpoint, "ResUNet", lambda *a, **k: built.append(a) or ResUNet(*a, **k))
    with pytest.raises(CheckpointError, match="metadata"):
        load_checkpoint(path)
    assert built == []


def test_window_shows_which_version_was_skipped_and_serves_the_intact_one(project, qtbot,
                                                                          tmp_path):
    from resunet_gui.app import build_window
    from resunet_gui.qt.preferences import Preferences

    _damage(project, "garbage")
    folder = project.folder
    project.close()

    def factory_for(p):  # noqa: ANN001, ANN202
        return lambda: ProjectEngine(p, EngineConfig(**CFG))

    window = build_window(Preferences(tmp_path / "prefs.ini"), engine_factory_for=factory_for)
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    try:
        window.bridge.pause_training(True)
        with qtbot.waitSignal(window.bridge.engineReady, timeout=60_000) as ready:
            assert window.open_folder(folder)
        assert ready.args[1] == "v001"
        qtbot.waitUntil(lambda: window.model_banner.isVisible(), timeout=10_000)
        text = window.model_banner.text.text()
        assert "v002" in text and "using v001" in text
        c = window.centralWidget().grab().toImage().pixelColor(3, 3)
        assert (c.red(), c.green(), c.blue()) == (0xFF, 0xD8, 0x66)
        QTest.mouseClick(window.model_banner.button, Qt.MouseButton.LeftButton)  # Dismiss
        assert not window.model_banner.isVisible()
    finally:
        window.close()
