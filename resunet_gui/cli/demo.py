"""``resunet-gui demo [FOLDER]``: create the synthetic demo project and print its path."""
from __future__ import annotations

import argparse
from pathlib import Path


def default_demo_folder() -> Path:
    """Where the app keeps its demo project: the user's data folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("resunet-gui")) / "demo-project"


def register(subparsers: argparse._SubParsersAction, name: str = "demo") -> None:
    p = subparsers.add_parser(name, help="create a small synthetic demo project and print its path")
    p.add_argument("folder", nargs="?", type=Path, default=None,
                   help="where to create it (default: the user data folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from resunet_gui.core.demo import make_demo_project

    folder = make_demo_project(args.folder if args.folder is not None else default_demo_folder())
    print(folder)
    return 0
