"""Emotion smoothing: the half-life in time (not frames) and the label's hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from services.detector.smoothing import EmotionSmoother

HAPPY, SAD = np.array([0.9, 0.1]), np.array([0.1, 0.9])


def test_after_one_half_life_the_old_scores_count_half_whatever_the_frame_times():
    for times in ([0.0, 0.5], [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], [0.0, 0.05, 0.45, 0.5]):
        smoother = EmotionSmoother(half_life_s=0.5, label_margin=0.0)
        smoother.update(HAPPY, times[0])
        for t in times[1:]:
            scores, _ = smoother.update(SAD, t)
        assert scores == pytest.approx(0.5 * HAPPY + 0.5 * SAD), times


def test_a_timestamp_going_back_does_not_amplify_the_old_scores():
    smoother = EmotionSmoother(half_life_s=0.5, label_margin=0.0)
    smoother.update(HAPPY, 1.0)
    scores, _ = smoother.update(SAD, 0.9)
    assert scores == pytest.approx(HAPPY)  # no time passed: the old average stands
    scores, _ = smoother.update(SAD, 1.5)  # half a life after the latest time seen
    assert scores == pytest.approx(0.5 * HAPPY + 0.5 * SAD)


def test_half_life_zero_is_off():
    smoother = EmotionSmoother(half_life_s=0.0, label_margin=0.2)
    smoother.update(HAPPY, 0.0)
    scores, label = smoother.update(np.array([0.45, 0.55]), 0.033)
    assert scores == pytest.approx([0.45, 0.55]) and label == 1


def test_hysteresis_holds_the_label_until_another_leads_the_vote_by_the_margin():
    smoother = EmotionSmoother(half_life_s=1.0, label_margin=0.2)
    smoother.update(HAPPY, 0.0)  # happy holds the whole vote
    # From t = 0 on, every frame votes sad: sad's share is 1 - 2^-t, happy's 2^-t, and
    # sad leads by 0.2 from t = log2(2 / 0.8) = 1.32 s.
    switch_s = np.log2(2 / (1 - 0.2))
    for t in np.arange(0.1, 2.0, 0.1):
        _, label = smoother.update(np.array([0.45, 0.55]), float(t))
        assert label == (1 if t >= switch_s else 0), t
    # A frame or two voting happy again does not bring it back.
    for t in (2.1, 2.2):
        _, label = smoother.update(np.array([0.52, 0.48]), t)
        assert label == 1


def test_smoothed_scores_average_probabilities_while_the_label_follows_the_votes():
    smoother = EmotionSmoother(half_life_s=0.5, label_margin=0.0)
    smoother.update(np.array([0.95, 0.05]), 0.0)
    scores, label = smoother.update(np.array([0.4, 0.6]), 0.5)
    assert scores == pytest.approx([0.675, 0.325])  # probabilities still favour the first
    # votes: half each after one half-life, a tie: the label stays where it was
    assert label == 0
    scores, label = smoother.update(np.array([0.4, 0.6]), 0.6)
    assert scores[0] > scores[1] and label == 1


def test_noise_around_a_held_expression_flickers_raw_but_not_smoothed():
    rng = np.random.default_rng(7)
    smoother = EmotionSmoother(half_life_s=0.5, label_margin=0.05)
    raw_labels, shown = [], []
    for frame in range(300):
        happy = float(np.clip(0.55 + rng.normal(0, 0.12), 0, 1))
        scores = np.array([happy, 1 - happy])
        raw_labels.append(int(scores.argmax()))
        shown.append(smoother.update(scores, frame / 30)[1])
    def flips(labels): return sum(a != b for a, b in zip(labels, labels[1:]))
    assert flips(raw_labels) >= 40
    assert flips(shown) <= 2 and shown[-1] == 0


def test_a_changed_expression_is_followed_within_the_half_life_and_a_frame():
    smoother = EmotionSmoother(half_life_s=0.5, label_margin=0.05)
    for frame in range(60):
        smoother.update(HAPPY, frame / 30)
    changed_at = 60 / 30
    frame = 60
    while smoother.update(SAD, frame / 30)[1] != 1:
        frame += 1
    assert frame / 30 - changed_at <= 0.5 + 1 / 30
