"""One check for 'does this state dict fit that module', shared by weights and checkpoints."""
from __future__ import annotations

from collections.abc import Mapping

import torch


def state_mismatch(expected: Mapping[str, torch.Tensor], got: Mapping[str, torch.Tensor], *,
                   noun: str = "tensors", check_dtype: bool = False) -> str | None:
    """A one-line reason why ``got`` cannot load into a module with ``expected``, or None."""
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing or unexpected:
        return (f"{len(missing)} missing {noun} (e.g. {missing[:2]}), "
                f"{len(unexpected)} unexpected (e.g. {unexpected[:2]})")
    for key, ref in expected.items():
        value = got[key]
        if value.shape != ref.shape or (check_dtype and value.dtype != ref.dtype):
            kind = f" {value.dtype}" if check_dtype else ""
            want = f" {ref.dtype}" if check_dtype else ""
            return f"tensor {key} is {tuple(value.shape)}{kind}, expected {tuple(ref.shape)}{want}"
    return None
