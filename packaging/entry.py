"""PyInstaller entry point: the bundle's executable runs the same ``main`` as the pip script.

``--self-test`` is routed straight to the self-test here as well, so a bundle's smoke test
does not depend on which CLI version registered the flag (cli/__init__.py adds the same
top-level alias for pip installs).
"""
import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        import argparse

        from resunet_gui.cli.selftest import run

        raise SystemExit(run(argparse.Namespace()))
    from resunet_gui.cli import main

    raise SystemExit(main())
