"""The ``bench`` command: one registry, stated targets, ``--check``, no dataset paths."""
from __future__ import annotations

import json
import sys
import types

import pytest

from resunet_gui.bench import command
from resunet_gui.cli import main


def test_bench_check_exits_1_when_a_stated_target_is_missed(monkeypatch, capsys):
    from resunet_gui.bench import project

    argv = ["bench", "--project", "--project-images", "20", "--project-changes", "2"]
    monkeypatch.setitem(project.TARGETS, "ms_per_status_change", 0.0)  # unreachable
    assert main(argv) == 0  # figures only: a miss is reported, not an error
    assert "targets missed: ms_per_status_change" in capsys.readouterr().err
    assert main(["bench", "--check", *argv[1:]]) == 1


def test_bench_check_exits_0_when_every_target_is_met(monkeypatch, capsys):
    from resunet_gui.bench import project

    monkeypatch.setitem(project.TARGETS, "ms_per_status_change", 1e9)
    assert main(["bench", "--check", "--project", "--project-images", "20",
                 "--project-changes", "2"]) == 0
    assert "targets missed" not in capsys.readouterr().err


def test_a_benchmark_is_added_by_one_registry_line(monkeypatch, capsys):
    fake = types.ModuleType("resunet_gui.bench.fake")
    fake.TARGETS = {"speed": 1.0}
    fake.run = lambda args: ["speed"] if args.fake_speed > 1.0 else []
    fake.add_arguments = lambda p: p.add_argument("--fake-speed", type=float, default=2.0)
    monkeypatch.setitem(sys.modules, "resunet_gui.bench.fake", fake)
    monkeypatch.setitem(command.BENCHES, "fake", ("fake", "a benchmark added for the test"))
    assert main(["bench", "--check", "--fake"]) == 1
    assert main(["bench", "--check", "--fake", "--fake-speed", "0.5"]) == 0


def test_bench_export_without_a_dataset_times_a_synthetic_one(capsys):
    assert main(["bench", "--export", "--export-images", "3"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["images"] == 3 and report["dataset"] == "synthetic"


def test_bench_export_of_a_missing_dataset_is_a_one_line_error(tmp_path, capsys):
    assert main(["bench", "--export", "--export-data", str(tmp_path / "nowhere")]) == 1
    assert "benchmark dataset not found" in capsys.readouterr().err


@pytest.mark.parametrize("flag", sorted(command.BENCHES))
def test_every_benchmark_states_its_targets(flag):
    module = command._module(command.BENCHES[flag][0])
    assert module is not None and isinstance(module.TARGETS, dict) and callable(module.run)


def test_bench_ui_report_names_each_missed_target(capsys):
    from resunet_gui.bench import ui

    stall = {"max_ms": 10.0, "p99_ms": 5.0}
    results = {"launch": {"window_s": 0.5, "rss_mib": 100.0, "torch_imported": False},
               "open": {"folder_10k_s": 0.1, "image_2048_ms": 500.0},  # over 100 ms
               "suggest_2048": {**stall, "suggest_s": 1.0}, "brush_8k": stall,
               "segment_undo_16k": {"segment_ms": 0.1, "undo_ms": 0.2}, "torch_threads": 2,
               "training": {"training_started": False}, "close": {"close_started": True,
                                                                "close_s": 0.1, "close_max_s": 0.2}}
    assert ui.report(results) == ["2048x2048 image shown", "background training started"]
    assert "OVER" in capsys.readouterr().out
