"""The effort model on a synthetic image: the simulated user's strokes and clicks."""
from __future__ import annotations

import cv2
import numpy as np

from resunet_gui.engine.effort import EffortConfig, EffortSimulator, effort_for_image


def _object(mask: np.ndarray, centre: tuple[int, int]) -> None:
    """A round body with a thin curved tail: wide and narrow parts, like real objects."""
    cv2.circle(mask, centre, 10, 1, -1)
    cv2.ellipse(mask, centre, (22, 16), 0, 0, 180, 1, 3)


def _scene():
    """Six objects; the model finds three, half sees two, misses one, adds two false blobs."""
    truth = np.zeros((160, 160), np.uint8)
    centres = [(30, 25), (80, 25), (130, 25), (30, 80), (80, 80), (130, 80)]
    for c in centres:
        _object(truth, c)
    fg = np.where(truth == 1, 0.9, 0.05).astype(np.float32)
    for c in centres[3:]:
        part = np.zeros_like(truth)
        _object(part, c)
        fg[part == 1] = 0.3  # missed, but the model half saw them
    cv2.circle(fg, (40, 135), 8, 0.8, -1)  # false blobs
    cv2.circle(fg, (110, 135), 8, 0.8, -1)
    probs = np.stack([1 - fg, fg])
    return truth, probs, (fg > 0.5).astype(np.uint8)


def test_a_near_correct_suggestion_needs_fewer_actions_than_from_scratch():
    truth, probs, sugg = _scene()
    res = effort_for_image(sugg, probs, truth, 2)
    assert all(r.reached for r in res.values())
    assert res["effort"].total < res["scratch"].total
    assert res["brush"].total < res["scratch"].total
    assert res["scratch"].dice[0] == 0.0 and res["effort"].dice[-1] >= 0.9


def test_region_tools_take_fewer_actions_than_the_brush_alone():
    truth, probs, sugg = _scene()
    res = effort_for_image(sugg, probs, truth, 2)
    assert res["effort"].actions["click"] >= 2
    assert res["effort"].total < res["brush"].total
    assert res["effort"].seconds < res["brush"].seconds
    assert res["brush"].actions["click"] == res["brush"].actions["fill"] == 0


def test_the_action_cap_stops_a_hopeless_image():
    truth, probs, sugg = _scene()
    res = effort_for_image(sugg, probs, truth, 2, EffortConfig(max_actions=1))
    assert res["scratch"].total == 1 and not res["scratch"].reached
    assert len(res["scratch"].dice) == 2  # before and after the one action


def test_refine_is_in_the_action_set_and_counts_only_when_it_helps():
    truth, probs, sugg = _scene()
    calls = []

    def perfect_refine(labels, painted):  # a model that learned everything from the strokes
        calls.append(int(painted.sum()))
        return truth.copy()

    res = effort_for_image(sugg, probs, truth, 2, EffortConfig(refine_every=1),
                           refine=perfect_refine)
    assert calls and all(n > 0 for n in calls)  # only ever asked with strokes painted
    assert res["effort"].actions["refine"] == 1 and res["effort"].reached
    assert res["brush"].actions["refine"] == res["scratch"].actions["refine"] == 0

    def useless_refine(labels, painted):
        return np.zeros_like(labels)

    res = effort_for_image(sugg, probs, truth, 2, EffortConfig(refine_every=1),
                           refine=useless_refine)
    assert res["effort"].actions["refine"] == 0 and res["effort"].reached


def _thin_membrane_scene():
    """A long curved membrane 5 px wide that the suggestion draws 3 px wide, except at short
    spokes: the missed edge pixels fall apart into dozens of slivers a pixel wide."""
    truth = np.zeros((200, 200), np.uint8)
    cv2.ellipse(truth, (100, 100), (80, 60), 0, 0, 360, 1, 5)
    sugg = np.zeros_like(truth)
    cv2.ellipse(sugg, (100, 100), (80, 60), 0, 0, 360, 1, 3)
    for angle in range(0, 360, 15):
        cv2.ellipse(sugg, (100, 100), (80, 60), 0, angle, angle + 2, 1, 5)
    sugg &= truth
    return truth, sugg


def test_slivers_along_one_edge_are_fixed_by_tracing_it_not_one_stroke_each():
    truth, sugg = _thin_membrane_scene()
    wrong = ((truth == 1) & (sugg == 0)).astype(np.uint8)
    slivers = cv2.connectedComponents(wrong, connectivity=8)[0] - 1
    assert slivers >= 40
    config = EffortConfig(target_dice=0.95)
    traced = EffortSimulator(truth, 2, ("stroke",), config=config).run(sugg)
    assert traced.reached and traced.total <= 4
    one_each = EffortSimulator(truth, 2, ("stroke",),
                               config=EffortConfig(target_dice=0.95, trace_reach_px=0)).run(sugg)
    assert one_each.total >= 4 * traced.total


def test_a_useless_suggestion_is_declined_and_costs_no_more_than_painting():
    truth, probs, _sugg = _scene()
    useless = np.zeros_like(truth)
    useless[100:160, :] = 1  # a band over nothing: every pixel of it must be erased
    res = effort_for_image(useless, probs, truth, 2)
    assert res["brush"].start == "empty"  # erasing the band stroke by stroke costs more
    assert res["brush"].total <= res["scratch"].total
    assert res["effort"].total <= res["scratch"].total  # clicks clear it, or it is declined


def test_a_good_suggestion_is_accepted():
    truth, probs, sugg = _scene()
    res = effort_for_image(sugg, probs, truth, 2)
    assert res["effort"].start == "suggestion"


def test_a_region_that_fills_its_bounding_box_gets_a_stroke_of_its_width():
    from resunet_gui.engine.effort import stroke_path

    region = np.zeros((40, 80), bool)
    region[10:17, 5:75] = True  # a 7 px bar: no pixel outside it inside its own box
    path, radius = stroke_path(region)
    assert radius == 3 and len(path) >= 2


def test_painting_a_crescent_from_scratch_shrinks_the_brush_instead_of_giving_up():
    truth = np.zeros((200, 240), np.uint8)
    cv2.circle(truth, (120, 100), 70, 1, -1)
    cv2.circle(truth, (150, 100), 60, 0, -1)  # a thick crescent: wide, curved, not convex
    res = EffortSimulator(truth, 2, ("stroke", "fill")).run(None)
    assert res.reached and res.total <= 12
