"""CLI conventions (issue 17, items 11 and 12) through ``resunet_gui.cli.main``."""
from __future__ import annotations

import argparse
import io
import logging
import re
from pathlib import Path

import pytest
import tomllib
from test_export_formats import make_dataset

from resunet_gui.cli import build_parser, main
from resunet_gui.cli.conventions import subparsers_of
from resunet_gui.cli.progress import ProgressBar

ROOT = Path(__file__).resolve().parents[1]


def _all_actions():
    parser = build_parser()
    for p in (parser, *subparsers_of(parser)):
        for action in p._actions:
            yield p, action


def test_every_option_and_argument_has_help_text():
    missing = [f"{p.prog} {a.option_strings or a.dest}" for p, a in _all_actions()
               if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
               and not (a.help or "").strip()]
    assert missing == []


def test_help_shows_no_restructuredtext_markup(capsys):
    parser = build_parser()
    for sub in (parser, *subparsers_of(parser)):
        text = sub.format_help()
        assert not re.search(r"``|:[a-z]+:`", text), sub.prog


def test_verbose_is_accepted_after_the_subcommand(tmp_path, capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: seen.update(kw))
    assert main(["demo", str(tmp_path / "d"), "-v"]) == 0
    assert seen["level"] == logging.DEBUG
    assert main(["-v", "demo", str(tmp_path / "d2")]) == 0
    assert seen["level"] == logging.DEBUG
    assert main(["demo", str(tmp_path / "d3")]) == 0
    assert seen["level"] == logging.INFO


def test_run_time_failure_exits_1_and_usage_error_exits_2(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing"), "--format", "png",
                 "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    with pytest.raises(SystemExit) as usage:
        main(["export", str(tmp_path), "--format", "png", "--out", str(tmp_path / "o"),
              "--split", "x"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as unknown:
        main(["export", "--no-such-option"])
    assert unknown.value.code == 2


def test_format_names_are_case_insensitive(tmp_path, capsys):
    src = make_dataset(tmp_path / "src")
    assert main(["export", str(src), "--format", "PNG", "--out", str(tmp_path / "o"),
                 "--include", "all"]) == 0
    assert "as png" in capsys.readouterr().out


def test_not_empty_error_names_the_overwrite_option(tmp_path, capsys):
    src = make_dataset(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["export", str(src), "--format", "png", "--out", str(out), "--include", "all"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_writes_no_carriage_returns_when_not_a_terminal():
    log = _Stream(tty=False)
    bar = ProgressBar("export", stream=log, log_interval_s=0.0)
    for i in range(1, 6):
        bar(i, 5)
    text = log.getvalue()
    assert "\r" not in text and text.endswith("5/5 " + text.rsplit("5/5 ", 1)[1])
    assert text.splitlines()[-1].startswith("export 5/5")
    term = _Stream(tty=True)
    ProgressBar("export", stream=term)(5, 5)
    assert term.getvalue().startswith("\r")


def test_cli_export_progress_into_a_file_has_no_carriage_returns(tmp_path, capsys):
    src = make_dataset(tmp_path / "src")
    assert main(["export", str(src), "--format", "png", "--out", str(tmp_path / "o"),
                 "--include", "all"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "6/6" in err


def test_doctor_prints_the_log_location_and_every_runtime_dependency(capsys, monkeypatch,
                                                                      tmp_path):
    import platformdirs

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"log file: {Path(platformdirs.user_log_dir('resunet-gui', appauthor=False))}" in out
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.match(r"[A-Za-z0-9._-]+", dep).group(0)
        assert re.search(rf"^  {re.escape(name)}: \S+", out, re.M), name
