"""Test-time augmentation: the views, their averaging, and that they share one batch."""

from __future__ import annotations

import numpy as np
import pytest

from services.classifier.augmentation import (
    TTA_MODES,
    average_views,
    mirrored,
    shifted,
    view_count,
    with_views,
)
from services.classifier.core import run_model_batch


def crops(count: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (count, 48, 48, 1)).astype(np.float32)


def test_the_mirror_of_a_mirror_is_the_crop():
    batch = crops()
    assert np.array_equal(mirrored(mirrored(batch)), batch)
    assert not np.array_equal(mirrored(batch), batch)
    assert np.array_equal(mirrored(batch)[:, :, 0], batch[:, :, -1])


def test_a_shift_moves_the_content_and_repeats_the_edge():
    batch = crops(1)
    down = shifted(batch, 2, 0)
    assert np.array_equal(down[:, 2:], batch[:, :-2])
    assert np.array_equal(down[:, 0], batch[:, 0]) and np.array_equal(down[:, 1], batch[:, 0])
    right = shifted(batch, 0, -2)
    assert np.array_equal(right[:, :, :-2], batch[:, :, 2:])


@pytest.mark.parametrize("mode", TTA_MODES)
def test_views_are_laid_out_view_by_view_and_averaged_back(mode):
    batch = crops(3)
    views = with_views(batch, mode)
    assert views.shape == (3 * view_count(mode), 48, 48, 1)
    assert np.array_equal(views[:3], batch)  # the crops themselves come first
    fake_scores = np.arange(len(views), dtype=np.float64)[:, None].repeat(2, axis=1)
    averaged = average_views(fake_scores, 3)
    expected = [np.mean([k + 3 * v for v in range(view_count(mode))]) for k in range(3)]
    assert averaged[:, 0] == pytest.approx(expected)


class RecordingModel:
    """A stand-in softmax model that records the batch sizes it is given."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict_preprocessed(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(len(batch))
        logits = np.stack([batch.mean(axis=(1, 2, 3)), batch[:, :, :24].mean(axis=(1, 2, 3))], axis=1)
        exp = np.exp(logits * 10)
        return exp / exp.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("mode", TTA_MODES)
def test_a_crops_views_run_in_one_model_call_and_scores_still_sum_to_one(mode):
    model = RecordingModel()
    run = run_model_batch(model, mode)
    scores = run(list(crops(5)))
    assert model.batches == [5 * view_count(mode)]
    assert len(scores) == 5
    assert all(row.sum() == pytest.approx(1.0) for row in scores)


def test_mirror_averaging_makes_a_crop_and_its_mirror_score_alike():
    model = RecordingModel()
    run = run_model_batch(model, "mirror")
    batch = crops(2)
    original, flipped = run([batch[0]]), run([mirrored(batch)[0]])
    assert original[0] == pytest.approx(flipped[0])
    plain = run_model_batch(model, "none")
    assert plain([batch[0]])[0] != pytest.approx(plain([mirrored(batch)[0]])[0])
