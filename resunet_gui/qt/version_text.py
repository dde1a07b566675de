"""How the model panel and the status bar word a version's score: one formatter for both,
so the table and the status message never disagree, and scores measured on other data
(an imported checkpoint) are never compared with this project's."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

IN_USE = "in use"
NOT_COMPARABLE = ("measured on another project's images (an imported checkpoint): not "
                  "comparable with this project's scores")


def comparable(info: Any, foreign: Iterable[str] = ()) -> bool:
    """True when ``info``'s score was measured on this project's check images."""
    return getattr(info, "source", "trained") != "imported" and info.name not in set(foreign)


def score_text(info: Any, foreign: Iterable[str] = ()) -> str:
    """Table cell and status-line figure: three decimals, or a note that it cannot compare."""
    score = getattr(info, "score", None)
    if score is None:
        return "-"
    if not comparable(info, foreign):
        return f"{score:.3f} (other data)"
    return f"{score:.3f}"


def status_text(info: Any, previous: Any | None, foreign: Iterable[str] = ()) -> str:
    """E.g. "Model v007: Dice 0.843 on 6 check images, up from 0.791 (v006)"."""
    foreign = set(foreign)
    if getattr(info, "score", None) is None:
        return f"Model {info.name} ({getattr(info, 'source', 'trained')}, not scored yet)"
    if not comparable(info, foreign):
        return (f"Model {info.name} (imported): its Dice {score_text(info, foreign)} was "
                "measured on another project's images")
    n = int(getattr(info, "check_images", 0))
    where = (f"{n} check image{'s' if n != 1 else ''}"
             if getattr(info, "scored_on", "check") == "check" else
             f"its {getattr(info, 'train_images', 0)} training images (no check image yet)")
    line = f"Model {info.name}: Dice {score_text(info)} on {where}"
    if (previous is not None and previous.name != info.name and comparable(previous, foreign)
            and previous.score is not None and info.score > previous.score):
        line += f", up from {score_text(previous)} ({previous.name})"
    return line


def class_mismatch(checkpoint_names: list[str], project_names: list[str]) -> str | None:
    """A warning when a checkpoint predicts other classes than the project has, else None
    (also when its class names are unknown)."""
    if not checkpoint_names or [n.casefold() for n in checkpoint_names] == [n.casefold() for n in project_names]:
        return None
    return (f"This checkpoint was trained for the classes {', '.join(checkpoint_names)}; "
            f"this project has {', '.join(project_names)}. Its suggestions will use the "
            "project's class names for other things, and its old scores are not comparable "
            "with this project's.")
