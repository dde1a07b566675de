"""Command-line conventions applied to every command, in one place.

``-v`` is accepted after the subcommand as well as before it; help and descriptions are
plain text (module docstrings written in reStructuredText lose their markup); a bare
``resunet-gui FOLDER`` means ``resunet-gui gui FOLDER`` (like ``labelme DIR``), and a bare
``resunet-gui`` started without a terminal (double-click, frozen app) opens the GUI.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

_LITERAL = re.compile(r"``(.+?)``")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def plain_text(text: str | None) -> str | None:
    """``code`` -> code and :role:`x` -> x, so --help shows no reStructuredText markup."""
    if text is None:
        return None
    return _ROLE.sub(r"\1", _LITERAL.sub(r"\1", text))


def subparsers_of(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.values()


def finish_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Plain-text help everywhere and ``-v`` on every subcommand."""
    for p in (parser, *subparsers_of(parser)):
        p.description = plain_text(p.description)
        p.epilog = plain_text(p.epilog)
        for action in p._actions:
            action.help = plain_text(action.help)
    for sub in subparsers_of(parser):
        if "-v" in sub._option_string_actions or "--verbose" in sub._option_string_actions:
            continue
        # SUPPRESS: without -v here the value given before the subcommand is kept
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log debug messages")
    return parser


def has_terminal() -> bool:
    """True when a person typed the command: stdin or stdout is a terminal."""
    return any(stream is not None and hasattr(stream, "isatty") and stream.isatty()
               for stream in (sys.stdin, sys.stdout))


def route_argv(argv: list[str], commands: Iterable[str], terminal: bool) -> list[str]:
    """``FOLDER ...`` -> ``gui FOLDER ...``; no arguments without a terminal -> ``gui``."""
    if not argv:
        return [] if terminal else ["gui"]
    first = argv[0]
    if first not in set(commands) and not first.startswith("-") and Path(first).is_dir():
        return ["gui", *argv]
    return argv
