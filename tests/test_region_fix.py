"""Click to fix and refine through MaskDocument (the API the GUI and the simulator call)."""
from __future__ import annotations

import cv2
import numpy as np

from resunet_gui.annotation.document import MaskDocument, Provenance


def _scene():
    """Truth: blobs A (kept) and B (missed by the model); the model adds a false blob C."""
    truth = np.zeros((96, 96), np.uint8)
    cv2.circle(truth, (25, 25), 10, 1, -1)  # A
    cv2.circle(truth, (70, 70), 12, 1, -1)  # B
    fg = np.full(truth.shape, 0.05, np.float32)
    fg[truth == 1] = 0.9
    fg[np.where(cv2.circle(np.zeros_like(truth), (70, 70), 12, 1, -1))] = 0.3  # B: faint
    cv2.circle(fg, (70, 22), 9, 0.8, -1)  # C: confident false positive
    probs = np.stack([1 - fg, fg])
    suggestion = (fg > 0.5).astype(np.uint8)
    return truth, probs, suggestion


def _doc(suggestion):
    doc = MaskDocument(np.zeros_like(suggestion))
    doc.set_suggestion(suggestion)
    doc.accept_suggestion()
    return doc


def test_click_inside_a_false_blob_removes_all_of_it_and_nothing_else():
    truth, probs, sugg = _scene()
    doc = _doc(sugg)
    doc.fix_region((70, 22), 1, probs)
    assert doc.labels[13:32, 61:80].sum() == 0
    np.testing.assert_array_equal(doc.labels[truth == 1][:10], sugg[truth == 1][:10])
    assert (doc.labels[:50, :50] == truth[:50, :50]).all()


def test_click_inside_a_missed_blob_fills_it_bounded_by_the_probability_map():
    truth, probs, sugg = _scene()
    doc = _doc(sugg)
    doc.fix_region((70, 70), 1, probs)
    b = truth[50:90, 50:90] == 1
    assert (doc.labels[50:90, 50:90][b] == 1).all()
    assert doc.labels[50:90, 50:90][~b].sum() == 0  # did not spill into the background


def test_click_never_changes_or_crosses_user_painted_pixels():
    truth, probs, sugg = _scene()
    doc = _doc(sugg)
    # the user erases a bar across the false blob C, splitting it, and paints a dot on A
    doc.paint((58, 22), (82, 22), 1, 0)
    doc.paint((25, 25), (25, 25), 2, 0)
    painted = doc.provenance >= Provenance.CORRECTED
    before = doc.labels.copy()
    doc.fix_region((70, 16), 1, probs)  # upper half of C
    doc.fix_region((25, 25), 1, probs)  # on the painted dot: nothing happens
    assert (doc.labels[painted] == before[painted]).all()
    assert doc.labels[13:21, 61:80].sum() == 0  # upper half removed
    assert doc.labels[24:31, 61:80].sum() > 0  # lower half: across the bar, untouched


def test_click_is_one_undo_step():
    truth, probs, sugg = _scene()
    doc = _doc(sugg)
    doc.fix_region((70, 70), 1, probs)
    doc.fix_region((70, 22), 1, probs)
    doc.undo()
    assert doc.labels[22, 70] == 1 and doc.labels[70, 70] == 1
    doc.undo()
    np.testing.assert_array_equal(doc.labels, sugg)


def test_refine_keeps_painted_pixels_and_undoes_in_one_step():
    truth, probs, sugg = _scene()
    doc = _doc(sugg)
    doc.paint((60, 20), (80, 20), 3, 0)
    painted = doc.provenance >= Provenance.CORRECTED
    kept = doc.labels.copy()
    refined = np.ones_like(sugg)
    doc.refine_unpainted(refined)
    assert (doc.labels[painted] == kept[painted]).all()
    assert (doc.labels[~painted] == 1).all()
    doc.undo()
    np.testing.assert_array_equal(doc.labels, kept)


def test_a_click_before_the_suggestion_is_accepted_corrects_the_suggestion_in_one_undo_step():
    truth, probs, sugg = _scene()
    doc = MaskDocument(np.zeros_like(sugg))
    doc.set_suggestion(sugg)  # shown, not accepted
    doc.fix_region((70, 22), 1, probs)  # on the false blob C
    expected = sugg.copy()
    expected[13:32, 61:80] = 0
    np.testing.assert_array_equal(doc.labels, expected)  # C gone, A kept from the suggestion
    assert (doc.provenance[13:32, 61:80][sugg[13:32, 61:80] == 1] == Provenance.CORRECTED).all()
    assert doc.provenance[25, 25] == Provenance.SUGGESTED
    doc.undo()
    assert not doc.labels.any() and not doc.provenance.any()
    assert doc.fix_region((500, 500), 1, probs) is None  # off the image: nothing accepted
    assert not doc.labels.any() and not doc.history.can_undo


def test_a_click_on_labels_loaded_from_disk_never_swaps_in_the_suggestion():
    truth, probs, sugg = _scene()
    doc = MaskDocument(truth.copy())  # a saved mask: provenance NONE, labels set
    doc.set_suggestion(sugg)
    doc.fix_region((70, 22), 1, probs)  # C is not in these labels: read as a missed object
    assert (doc.labels[truth == 1] == 1).all()  # the saved blobs A and B are untouched
    assert doc.labels[22, 70] == 1
    doc.undo()
    np.testing.assert_array_equal(doc.labels, truth)
