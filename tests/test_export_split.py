"""Selection and split: reproducible, group-preserving, proportional, stratified."""
from __future__ import annotations

import numpy as np
import pytest

from resunet_gui.core.errors import ExportError
from resunet_gui.export.split import (
    SplitRecord,
    assign_splits,
    parse_fractions,
    select,
    split_counts,
)


def records(n: int = 200, group_size: int = 1, rare_every: int = 0) -> list[SplitRecord]:
    out = []
    for i in range(n):
        classes = (0, 1, 2) if rare_every and i % rare_every == 0 else (0, 1)
        group = f"grp{i // group_size}" if group_size > 1 else None
        out.append(SplitRecord(f"img{i:04d}", "done", group, classes))
    return out


def test_same_inputs_and_seed_give_identical_split_whatever_the_input_order() -> None:
    recs = records(300, group_size=3, rare_every=7)
    a = assign_splits(recs, (0.7, 0.2, 0.1), seed=5)
    shuffled = [recs[i] for i in np.random.default_rng(1).permutation(len(recs))]
    b = assign_splits(shuffled, (0.7, 0.2, 0.1), seed=5)
    assert sorted(a.items()) == sorted(b.items())
    assert repr(sorted(a.items())).encode() == repr(sorted(b.items())).encode()


def test_a_different_seed_gives_a_different_split() -> None:
    recs = records(100)
    assert assign_splits(recs, (0.8, 0.1, 0.1), 0) != assign_splits(recs, (0.8, 0.1, 0.1), 1)


def test_whole_groups_stay_in_one_split() -> None:
    recs = records(240, group_size=8, rare_every=5)
    a = assign_splits(recs, (0.8, 0.1, 0.1), seed=3)
    by_group: dict[str, set[str]] = {}
    for r in recs:
        by_group.setdefault(r.group, set()).add(a[r.stem])
    assert all(len(s) == 1 for s in by_group.values())
    counts = split_counts(a)
    assert counts["val"] > 0 and counts["test"] > 0  # small splits are not starved


def test_uneven_groups_fill_the_big_split_with_the_big_group() -> None:
    # ISBI's layout: one block of 20 slices and two of 5
    recs = [SplitRecord(f"s{i:02d}", "done", "block0" if i < 20 else f"block{1 + (i - 20) // 5}", (0, 1))
            for i in range(30)]
    assert split_counts(assign_splits(recs, (0.8, 0.1, 0.1), 0)) == {"train": 20, "val": 5, "test": 5}


def test_fractions_are_respected_to_within_one_image() -> None:
    counts = split_counts(assign_splits(records(200), (0.8, 0.1, 0.1), seed=0))
    assert abs(counts["train"] - 160) <= 1 and abs(counts["val"] - 20) <= 1


def test_rare_class_is_spread_over_splits_in_proportion() -> None:
    recs = records(200, rare_every=10)  # 20 images hold class 2
    a = assign_splits(recs, (0.8, 0.1, 0.1), seed=2)
    rare = [a[r.stem] for r in recs if 2 in r.classes]
    assert (rare.count("train"), rare.count("val"), rare.count("test")) == (16, 2, 2)


def test_only_done_images_are_selected_by_default() -> None:
    recs = [SplitRecord("b", "done"), SplitRecord("a", "in_progress"), SplitRecord("c", "done")]
    assert [r.stem for r in select(recs, "done")] == ["b", "c"]
    assert [r.stem for r in select(recs, "all")] == ["a", "b", "c"]


@pytest.mark.parametrize("text", ["0.8,0.1", "a,b,c", "0.5,0.5,0.5", "-0.1,0.6,0.5", "1,0,0,0"])
def test_bad_split_fractions_raise_export_error(text: str) -> None:
    with pytest.raises(ExportError):
        parse_fractions(text)


def test_two_fractions_mean_no_test_split() -> None:
    assert parse_fractions("0.9,0.1") == (0.9, 0.1, 0.0)
