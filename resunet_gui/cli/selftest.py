"""``resunet-gui self-test`` (alias ``resunet-gui --self-test``): prove this install works.

Offscreen, in a temporary folder: demo project -> main window -> suggestion -> brush stroke
-> save -> mask read back from disk. Exit 0 when every step passed; otherwise one line on
stderr naming the failed step and exit 1. Packaging runs it against the frozen bundle.
"""
from __future__ import annotations

import argparse
import logging
import sys

DEFAULT_TIMEOUT_S = 300.0


def register(subparsers: argparse._SubParsersAction, name: str) -> None:
    p = subparsers.add_parser(
        name, help="offscreen end-to-end check of this installation",
        description="Create the demo project in a temporary folder, open it in the main window "
                    "(offscreen), run a suggestion, paint a stroke, save and verify the mask. "
                    "Exit code 0 means the install works.")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                   help="seconds to wait for the model to load and for the suggestion "
                        f"(default {DEFAULT_TIMEOUT_S:.0f})")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary demo project and print where it is")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Works for the subcommand and for the top-level ``--self-test`` flag (no sub-options)."""
    from resunet_gui.selftest import SelfTestError, run_self_test

    timeout = float(getattr(args, "timeout", DEFAULT_TIMEOUT_S) or DEFAULT_TIMEOUT_S)
    keep = bool(getattr(args, "keep", False))
    try:
        report = run_self_test(timeout_s=timeout, keep=keep)
    except SelfTestError as exc:
        print(f"self-test FAILED: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 (an unexpected bug still gets one line, not a traceback)
        logging.getLogger(__name__).debug("self-test crashed", exc_info=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"self-test FAILED: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    shape = "x".join(str(n) for n in report.image_shape)
    print(f"self-test passed in {report.timings['total']:.1f} s: image {report.stem} ({shape}), "
          f"device {report.device or '?'}, class {report.painted_class} painted on "
          f"{report.painted_pixels} px and saved")
    if keep:
        print(f"self-test: project kept at {report.folder}")
    return 0
