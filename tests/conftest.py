"""Shared fixtures. Qt runs offscreen; real datasets are optional and copied before writing."""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skip when this machine does not have it."""
    if not (SHARED_DATA / "isbi2012-em" / "images").is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def dataset_copy(shared_data: Path, tmp_path: Path) -> Callable[[str], Path]:
    """Copy a shared dataset into tmp_path (the originals are read-only) and return the copy."""

    def copy(name: str) -> Path:
        src = shared_data / name
        if not src.is_dir():
            pytest.skip(f"dataset {name} not found at {src}")
        dst = tmp_path / name
        shutil.copytree(src, dst)
        for p in dst.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        dst.chmod(0o755)
        return dst

    return copy


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Keep torch to one thread (the suite shares 2 cores); restore the count afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


from qt_window import plain_window  # noqa: E402, F401  (GUI fixture shared by tests/test_qt_*.py)
