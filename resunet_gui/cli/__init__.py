"""Headless command line: ``resunet-gui COMMAND ...``.

Each command lives in its own module exposing ``register(subparsers)``; modules import
torch and Qt only inside their ``run`` so ``--help`` stays instant. Exit status: 0 success,
1 a failure at run time, 2 a usage error (argparse), 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from resunet_gui import __version__
from resunet_gui.cli.conventions import finish_parser, has_terminal, route_argv
from resunet_gui.core.errors import ResunetError

# command name -> module under resunet_gui.cli (a dotted name: elsewhere, e.g. the benchmarks)
COMMANDS: dict[str, str] = {
    "gui": "gui",
    "predict": "predict",
    "train": "train",
    "eval": "evaluate",
    "simulate": "simulate",
    "export": "export",
    "import": "import_labels",
    "bench": "resunet_gui.bench.command",
    "doctor": "doctor",
    "demo": "demo",
    "self-test": "selftest",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resunet-gui",
        description="Annotate images with ResNet18-UNet suggestions; headless commands below.",
    )
    parser.add_argument("--version", action="version", version=f"resunet-gui {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument(
        "--self-test", action="store_true",
        help="offscreen end-to-end check of this installation (same as the self-test command)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        qualified = module if "." in module else f"resunet_gui.cli.{module}"
        try:
            mod = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
            continue  # command not built in this installation
        mod.register(sub, name)
    return finish_parser(parser)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(route_argv(argv, COMMANDS, has_terminal()))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s: %(message)s",
    )
    if args.self_test and args.command is None:
        from resunet_gui.cli import selftest

        args.command, args.func = "self-test", selftest.run
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ResunetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        where = exc.filename or "no file named by the system"  # never an empty "()"
        print(f"error: {exc.strerror or exc} ({where})", file=sys.stderr)
        return 1
