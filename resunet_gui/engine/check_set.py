"""Which done images train and which are held out to score versions, decided once.

Membership follows the order in which images were completed: the 5th, 10th, ... image
done is a check image, the others train; a batch that arrives together (the done images
of a project opened for the first time) is taken in name order, which reproduces the old
"every 5th of the sorted done images" rule for existing projects. The decision is stored
in ``.resunet/check_set.json`` and never revisited, so an image that was trained on can
never become a check image (which would inflate the check score) when a newly done image
sorts before it. ``val`` images of ``split.csv`` still form the check set when any are done.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from resunet_gui.core.errors import StorageError
from resunet_gui.core.storage import atomic_write_json

log = logging.getLogger(__name__)

CHECK, TRAIN = "check", "train"


class CheckSetMembership:
    """Persistent stem -> "check" | "train" map (see the module docstring)."""

    def __init__(self, path: str | Path | None, every: int = 5) -> None:
        self.path = Path(path) if path is not None else None
        self.every = every
        self.members: dict[str, str] = self._load()

    def _load(self) -> dict[str, str]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            members = data.get("members", {})
            return {str(k): v for k, v in members.items() if v in (CHECK, TRAIN)}
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return {}

    def assign(self, stems: Sequence[str]) -> bool:
        """Give every new stem its membership, in the given order; True if any was new."""
        new = [s for s in stems if s not in self.members]
        for s in new:
            n = len(self.members) + 1
            self.members[s] = CHECK if n % self.every == 0 else TRAIN
        return bool(new)

    def save(self) -> None:
        if self.path is None:
            return
        try:
            atomic_write_json(self.path, {"every": self.every, "members": self.members})
        except StorageError as exc:  # a read-only project still trains, from memory
            log.warning("check-set membership not saved: %s", exc)

    def split(self, project, done: Sequence[str]) -> tuple[list[str], list[str]]:
        """(train, check) among ``done``; assigns and saves new stems first."""
        done = list(done)
        val = {s for s in done if project.split_of(s) == "val"}
        if val:
            return [s for s in done if s not in val], sorted(val)
        if self.assign(done) and not getattr(project, "read_only", False):
            self.save()
        return ([s for s in done if self.members[s] == TRAIN],
                [s for s in done if self.members[s] == CHECK])


KEEP_BEST_HELP = (
    "Which model serves suggestions: every 5th image you mark done (in the order you finish "
    "them, decided once and never changed) is a check image; the others train. A newly "
    "trained version replaces the current one unless it does worse on the check images. "
    "With fewer than 4 check images it is used unless its Dice is more than 0.05 lower "
    "(so few images cannot tell two versions apart, and the newer one has seen more data); "
    "from 4 on, both versions are compared image by image and the new one is kept unless it "
    "is worse by more than the spread of those differences allows (one standard error)."
)
