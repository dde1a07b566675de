"""``resunet-gui gui [FOLDER]``: open the desktop app (the demo project when no folder)."""
from __future__ import annotations

import argparse
from pathlib import Path

from resunet_gui.cli.recover_option import add_recover_flag, recover_if_asked


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(name, help="open the annotation app",
                              description="Open the annotation app on FOLDER (default: a demo "
                                          "project in the user data folder).")
    p.add_argument("folder", nargs="?", type=Path, help="folder of images (or a project)")
    add_recover_flag(p)
    p.set_defaults(func=run)


def demo_folder() -> Path:
    """The demo project in the user data dir (same place as ``resunet-gui demo``), created
    or completed on use."""
    from resunet_gui.cli.demo import default_demo_folder
    from resunet_gui.core.demo import make_demo_project

    return make_demo_project(default_demo_folder())


def run(args: argparse.Namespace) -> int:
    from resunet_gui.app import run as run_app

    folder = args.folder if args.folder is not None else demo_folder()
    recover_if_asked(args, folder)
    return run_app(folder)
