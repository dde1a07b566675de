"""The adversarial suite: every registered hostile input must end in a clean outcome.

Cases live in ``cases_*.py`` beside this file (one ``@case`` function each); the harness
judges them (see adversarial_harness). ``python tests/adversarial/summary.py`` prints the
table "inputs tried / clean error / crash / data lost".
"""
from __future__ import annotations

import pytest
from adversarial_harness import Case, all_cases, run_case

CASES = all_cases()


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in CASES])
def test_hostile_input_is_handled_without_crash_or_loss(case: Case, tmp_path) -> None:
    verdict = run_case(case, tmp_path)
    assert verdict.kind in ("ok", "clean error"), f"{verdict.kind}: {verdict.detail}"
