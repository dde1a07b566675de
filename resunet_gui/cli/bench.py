"""``resunet-gui bench``: one entry for the benchmarks, each in its own module.

``--json`` (default) model speed (bench_model), ``--brush`` painting cost (bench_brush),
``--export`` export time (bench_export), ``--ui`` GUI responsiveness (bench_ui),
``--effort`` refine / click-to-fix / suggestion latency (bench_effort). Modules are
optional: a build without one says so instead of failing at start-up.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType

log = logging.getLogger(__name__)

# flag -> module under resunet_gui.cli
BENCHES: dict[str, str] = {
    "json": "bench_model",
    "brush": "bench_brush",
    "export": "bench_export",
    "ui": "bench_ui",
    "effort": "bench_effort",  # adds its own --effort flag
}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"resunet_gui.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"resunet_gui.cli.{name}":
            raise
        return None


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(
        name, help="print benchmark figures",
        description="Benchmarks print figures; --json (model speed) is the default.")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--json", dest="bench", action="store_const", const="json",
                       help="model forward speed vs the smp reference, as JSON (default)")
    which.add_argument("--brush", dest="bench", action="store_const", const="brush",
                       help="brush and undo cost vs image size")
    which.add_argument("--export", dest="bench", action="store_const", const="export",
                       help="export time on a real dataset")
    which.add_argument("--ui", dest="bench", action="store_const", const="ui",
                       help="GUI start-up and responsiveness")
    for flag, module_name in BENCHES.items():
        module = _module(module_name)
        add = getattr(module, "add_arguments", None)
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
    module_name = BENCHES[flag]
    module = _module(module_name)
    if module is None:
        print(f"error: benchmark --{flag} is not available in this build "
              f"(module resunet_gui.cli.{module_name} is missing)", file=sys.stderr)
        return 2
    return int(module.run(args) or 0)
