"""``resunet-gui bench``: one entry for the benchmarks, each in its own module.

Every module prints its figures and returns the names of the stated targets it missed;
``--check`` turns a miss into exit status 1 (without it, figures are only reported).
A module missing from a build is reported instead of failing at start-up.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType

log = logging.getLogger(__name__)

# flag -> (module under resunet_gui.bench, help); adding a benchmark is one line here
BENCHES: dict[str, tuple[str, str]] = {
    "json": ("model", "model forward speed vs the smp reference, as JSON (default)"),
    "brush": ("brush", "brush and undo cost vs image size"),
    "export": ("export", "export time of a dataset (a synthetic one unless --export-data)"),
    "ui": ("ui", "GUI start-up and responsiveness"),
    "project": ("project", "cost of one status change in a 10,000-image project"),
    "tiles": ("tiles", "per-pixel cost of a large image's tiled suggestion vs 512x512"),
    "export-memory": ("export_memory", "peak memory of a COCO export of 500 vs 2,000 masks"),
    "effort": ("effort", "refine / click-to-fix / click-to-suggestion latency"),
}
CHECK_FAILED = 1


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"resunet_gui.bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"resunet_gui.bench.{name}":
            raise
        return None


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(
        name, help="print benchmark figures",
        description="Benchmarks print figures; --json (model speed) is the default.")
    p.add_argument("--check", action="store_true",
                   help="exit with status 1 when a stated target is missed")
    which = p.add_mutually_exclusive_group()
    for flag, (_module_name, text) in BENCHES.items():
        which.add_argument(f"--{flag}", dest="bench", action="store_const", const=flag, help=text)
    for flag, (module_name, _text) in BENCHES.items():
        add = getattr(_module(module_name), "add_arguments", None)
        if add is None:
            continue
        group = p.add_argument_group(f"--{flag} options")
        try:
            add(group)
        except argparse.ArgumentError as exc:  # an option name clash between two modules
            log.debug("bench %s options not registered: %s", flag, exc)
    p.set_defaults(func=run, bench="json")


def run(args: argparse.Namespace) -> int:
    flag = getattr(args, "bench", None) or "json"
    module_name = BENCHES[flag][0]
    module = _module(module_name)
    if module is None:
        print(f"error: benchmark --{flag} is not available in this build "
              f"(module resunet_gui.bench.{module_name} is missing)", file=sys.stderr)
        return 1
    missed = list(module.run(args))
    if missed:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
    return CHECK_FAILED if missed and getattr(args, "check", False) else 0
