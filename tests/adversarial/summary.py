"""Print the adversarial table: ``python tests/adversarial/summary.py [-v]``.

Runs every case in a fresh temporary folder and prints inputs tried / handled / clean
error / crash / data lost (with -v: every case's outcome and message; ``--skip TEXT`` leaves
out cases whose name contains TEXT, e.g. /dev/zero on code that reads it until MemoryError;
``--only TEXT`` runs just the cases whose name contains it).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parents[1])]  # cases, test helpers, package

from adversarial_harness import all_cases, run_case, summarize  # noqa: E402


def main(argv: list[str]) -> int:
    skip = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--skip"]
    only = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--only"]
    verdicts = []
    for c in all_cases():
        if any(text in c.name for text in skip) or (only and not any(t in c.name for t in only)):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            verdicts.append(run_case(c, Path(tmp)))
        if "-v" in argv:
            v = verdicts[-1]
            print(f"{v.kind:12s} {v.name}: {v.detail.splitlines()[0][:140] if v.detail else ''}")
    print(summarize(verdicts))
    return 1 if any(v.kind in ("crash", "data lost") for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
