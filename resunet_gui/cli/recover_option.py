"""``--recover`` for the commands that open a project: rebuild a corrupt project.json.

The commands open projects read-only (a running app's lock is no obstacle), but recovery
writes (it moves the bad file aside), so it runs first, under the project's lock.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

RECOVER_HELP = ("if the project state (.resunet/project.json) is corrupt, move it aside (kept, "
                "timestamped) and rebuild it from the masks on disk; masks are not touched")


def add_recover_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recover", action="store_true", help=RECOVER_HELP)


def recover_if_asked(args: argparse.Namespace, folder: Path | None) -> None:
    """Run the recovery when ``--recover`` was given; say on stderr what it did."""
    if not getattr(args, "recover", False) or folder is None:
        return
    from resunet_gui.core.project import Project

    # a corrupt state in a project that cannot be written raises ProjectStateError here
    with Project.open(folder, recover=True) as project:
        moved = project.recovered_from
    if moved is None:
        print("recover: the project state is intact; nothing to do", file=sys.stderr)
    else:
        print(f"recover: the damaged project state was kept as {moved} and rebuilt from the "
              "masks on disk", file=sys.stderr)
