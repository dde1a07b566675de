"""Harness of the adversarial suite: a throw-away project, a victim outside it, a verdict.

A case is one function decorated with ``@case("name")`` in any ``cases_*.py`` module of this
folder: it receives an ``Arena`` (a small dataset project plus a victim file and folder outside
it), plants a hostile input and drives a public entry point (``Project`` API, ``EditSession``,
``arena.cli(...)``). It may assert on what it expects. The harness then classifies:

- ``clean``: the case returned, or raised a ``ResunetError`` (a message fit for users);
- ``crash``: any other exception, a failed expectation, a traceback or a non-"error:" line
  printed by the CLI, or a hang (more than ``CASE_TIMEOUT_S``);
- ``data lost``: the victim outside the project changed, a mask changed without the case
  painting it, or pixels the case painted are neither in the saved mask nor in the journal.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from resunet_gui.core.errors import ResunetError
from resunet_gui.core.types import BBox

CASE_TIMEOUT_S = 30
VICTIM_BYTES = b"thesis chapter 3 - do not overwrite\n"
VICTIM_MTIME = 1_000_000_000


class CaseFailed(Exception):
    """The app misbehaved in a way a user would see as a crash."""


@dataclass
class Case:
    name: str
    run: Callable[[Arena], None]
    slow: bool = False  # seconds, not milliseconds (torch): marked slow, still run by make test


CASES: list[Case] = []


def case(name: str, slow: bool = False
         ) -> Callable[[Callable[[Arena], None]], Callable[[Arena], None]]:
    """Register an adversarial case (one entry = one decorated function)."""

    def register(fn: Callable[[Arena], None]) -> Callable[[Arena], None]:
        CASES.append(Case(name, fn, slow))
        return fn

    return register


def all_cases() -> list[Case]:
    """Every case of every ``cases_*.py`` module beside this file, in file then source order."""
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        importlib.import_module(path.stem)
    return list(CASES)


@dataclass
class Painted:
    stem: str
    bbox: BBox
    value: int


@dataclass
class Arena:
    """``project``: images a, b, c (32x32) with a mask for a; ``victim``/``outside`` are not
    part of it and must never change."""

    root: Path
    project: Path = field(init=False)
    victim: Path = field(init=False)
    outside: Path = field(init=False)
    painted: list[Painted] = field(default_factory=list)
    cli_output: list[str] = field(default_factory=list)
    protected: dict[Path, bytes] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)  # message boxes the window showed

    def __post_init__(self) -> None:
        self.project = self.root / "proj"
        self.victim = self.root / "victim.txt"
        self.outside = self.root / "outside"
        images, masks = self.project / "images", self.project / "masks"
        images.mkdir(parents=True)
        masks.mkdir()
        self.outside.mkdir()
        rng = np.random.default_rng(0)
        for stem in "abc":
            cv2.imwrite(str(images / f"{stem}.png"), rng.integers(0, 255, (32, 32), np.uint8))
        mask = np.zeros((32, 32), np.uint8)
        mask[4:12, 4:12] = 1
        cv2.imwrite(str(masks / "a.png"), mask)
        self.victim.write_bytes(VICTIM_BYTES)
        os.utime(self.victim, (VICTIM_MTIME, VICTIM_MTIME))
        (self.outside / "keep.txt").write_bytes(VICTIM_BYTES)
        os.utime(self.outside, (VICTIM_MTIME, VICTIM_MTIME))  # any entry made or removed moves it
        self._masks_before = self._mask_bytes()

    @property
    def state_dir(self) -> Path:
        return self.project / ".resunet"

    def _mask_bytes(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((self.project / "masks").glob("*.png"))}

    # ---- driving the app ---------------------------------------------------------------
    def cli(self, *argv: str) -> int:
        """Run ``resunet-gui ARGV`` in-process; a traceback or a bad error line is a crash."""
        from resunet_gui.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in argv])
            except SystemExit as exc:  # argparse
                rc = int(exc.code or 0)
            except Exception:
                raise CaseFailed("exception escaped the CLI:\n" + traceback.format_exc()) from None
        text = err.getvalue()
        self.cli_output.append(text)
        if "Traceback" in text:
            raise CaseFailed("traceback printed:\n" + text)
        if rc != 0:
            lines = [ln for ln in text.splitlines() if ln.startswith("error:")]
            if len(lines) != 1:
                raise CaseFailed(f"exit {rc} without exactly one 'error:' line:\n{text}")
        return rc

    def paint(self, session, stem: str, bbox: BBox, value: int) -> None:  # noqa: ANN001
        """Paint ``bbox`` with ``value`` through the document API; must never be lost."""
        doc = session.document
        doc.begin_stroke()
        cy, cx = (bbox.y0 + bbox.y1) // 2, (bbox.x0 + bbox.x1) // 2
        doc.paint((cx, cy), (cx, cy), max(bbox.height, bbox.width), value)
        done = doc.end_stroke()
        assert done is not None and (doc.labels[done.slices] == value).any()
        self.painted.append(Painted(stem, done, value))

    def protect(self, folder: Path) -> None:
        """Files under ``folder`` (a user's own folder the case hands to the app) must survive."""
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.is_symlink():
                self.protected[p] = p.read_bytes()

    # ---- verdicts ----------------------------------------------------------------------
    def victim_damage(self) -> str | None:
        for path, data in self.protected.items():
            if not path.is_file() or path.read_bytes() != data:
                return f"the user's file {path.name} was deleted or changed"
        if not self.victim.is_file() or self.victim.is_symlink():
            return "the victim file was replaced or removed"
        if self.victim.read_bytes() != VICTIM_BYTES:
            return "the victim file's content changed"
        if int(self.victim.stat().st_mtime) != VICTIM_MTIME:
            return "the victim file was rewritten"
        names = sorted(p.name for p in self.outside.iterdir())
        if names != ["keep.txt"] or (self.outside / "keep.txt").read_bytes() != VICTIM_BYTES:
            return f"the folder outside the project changed: {names}"
        if int(self.outside.stat().st_mtime) != VICTIM_MTIME:
            return "a file was written (and removed) in the folder outside the project"
        return None

    def lost_pixels(self) -> str | None:
        """Painted pixels must be in the saved mask or the journal; others masks unchanged."""
        from resunet_gui.core.imageio import read_mask
        from resunet_gui.core.journal import Journal

        painted_stems = {p.stem for p in self.painted}
        now = self._mask_bytes()
        for name, data in self._masks_before.items():
            if Path(name).stem not in painted_stems and now.get(name) != data:
                return f"mask {name} changed although nothing painted it"
        for p in self.painted:
            path = self.project / "masks" / f"{p.stem}.png"
            mask = read_mask(path) if path.exists() else np.zeros((32, 32), np.uint8)
            Journal(self.state_dir / "journal", read_only=True).replay(p.stem, mask)
            if not (mask[p.bbox.slices] == p.value).any():
                return f"painted pixels of {p.stem} at {p.bbox} are lost"
        return None


@dataclass
class Verdict:
    name: str
    kind: str  # "ok", "clean error", "crash", "data lost"
    detail: str = ""


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Interrupt a hang (e.g. a blocking open of a FIFO) with CaseFailed."""

    def fire(_sig: int, _frame: object) -> None:
        raise CaseFailed(f"hung for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_case(c: Case, workdir: Path) -> Verdict:
    """Run one case in ``workdir`` (empty) and judge it."""
    arena = Arena(workdir)
    kind, detail = "ok", ""
    try:
        with _deadline(CASE_TIMEOUT_S):
            c.run(arena)
    except ResunetError as exc:
        kind, detail = "clean error", str(exc)
    except Exception as exc:  # noqa: BLE001 - anything else is what the suite hunts for
        kind, detail = "crash", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    damage = arena.victim_damage() or arena.lost_pixels()
    if damage is not None:
        kind, detail = "data lost", damage
    return Verdict(c.name, kind, detail)


def summarize(verdicts: list[Verdict]) -> str:
    """The report table: inputs tried / clean error / crash / data lost."""
    count = {k: sum(v.kind == k for v in verdicts) for k in ("ok", "clean error", "crash", "data lost")}
    lines = ["inputs tried | handled (ok) | clean error | crash | data lost",
             f"{len(verdicts)} | {count['ok']} | {count['clean error']} | {count['crash']} | "
             f"{count['data lost']}"]
    lines += [f"  {v.kind}: {v.name}" + (f" ({v.detail.splitlines()[0][:100]})" if v.detail else "")
              for v in verdicts if v.kind in ("crash", "data lost")]
    return "\n".join(lines)
