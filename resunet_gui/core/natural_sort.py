"""Natural order of file names: ``img2`` before ``img10``, as file managers show them."""
from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key splitting ``name`` into text and numbers (case-insensitive text).

    Each part is tagged so a number never compares with text; ties between names that
    differ only in case or leading zeros fall back to the plain name.
    """
    parts: list[tuple[int, int | str]] = []
    for i, chunk in enumerate(_DIGITS.split(name)):
        if i % 2:
            parts.append((0, int(chunk)))
        elif chunk:
            parts.append((1, chunk.casefold()))
    parts.append((2, name))
    return tuple(parts)
