"""The lock pins every package the app and its tests pull in, at the version installed here."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _closure(roots: list[str]) -> set[str]:
    """Names of the installed distributions that ``roots`` need, transitively (this platform)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        req = Requirement(todo.pop())
        name = _canonical(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo.extend(metadata.requires(req.name) or [])
        except metadata.PackageNotFoundError:
            continue
    return seen


def test_lock_pins_every_dependency_of_the_app_and_its_tests() -> None:
    declared = [Requirement(r) for r in metadata.requires("resunet-gui") or []]
    roots = [
        r.name for r in declared
        if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in ("", "test"))
    ]
    missing = sorted(_closure(roots) - set(_locked()))
    assert not missing, f"not in requirements.lock (run `make lock`): {missing}"


def test_lock_agrees_with_the_torch_pins_in_constraints() -> None:
    pins = _locked()
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            assert pins[_canonical(match.group(1))] == match.group(2)
