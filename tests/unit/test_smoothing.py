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
    # Then two frames in three vote sad: sad's share grows towards 2/3, and the label
    # changes on the first frame where it leads happy's by 0.2, not before.
    switched = False
    for k in range(1, 40):
        _, label = smoother.update(HAPPY if k % 3 == 0 else SAD, k / 10)
        lead = smoother.votes[1] - smoother.votes[0]
        switched = switched or lead >= 0.2
        assert label == (1 if switched else 0), k
    assert switched
    # A frame or two voting happy again does not bring it back.
    for t in (4.1, 4.2):
        _, label = smoother.update(np.array([0.52, 0.48]), t)
        assert label == 1


def test_smoothed_scores_average_probabilities_while_the_label_follows_the_votes():
    smoother = EmotionSmoother(half_life_s=0.5, label_margin=0.0)
    smoother.update(np.array([0.95, 0.05]), 0.0)
    scores, label = smoother.update(np.array([0.4, 0.6]), 0.45)
    kept = 0.5 ** (0.45 / 0.5)
    assert scores == pytest.approx(kept * np.array([0.95, 0.05]) + (1 - kept) * np.array([0.4, 0.6]))
    # probabilities favour the first, and so do the votes (0.54 against 0.46)
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


def test_a_label_without_a_vote_for_a_half_life_gives_way_to_the_new_expression():
    # After a change the model reads the new expression as two labels by turns (surprise
    # twice, fear once): the old label still leads the vote, but no frame has voted for it.
    neutral, surprise, fear = np.eye(3) * 0.8 + 0.1 / 3
    smoother = EmotionSmoother(half_life_s=0.3, label_margin=0.05)
    for frame in range(60):
        smoother.update(neutral, frame / 30)
    shown, neutral_leads = [], []
    for k in range(30):
        _, label = smoother.update(fear if k % 3 == 2 else surprise, (60 + k) / 30)
        shown.append(label)
        neutral_leads.append(smoother.votes.argmax() == 0)
    switched = shown.index(1)
    assert switched <= 0.3 * 30 + 1  # within the half-life plus one frame
    assert neutral_leads[switched]  # the margin alone would still have shown neutral
    assert set(shown[:switched]) == {0} and set(shown[switched:]) == {1}


def test_a_face_back_after_a_gap_keeps_its_label_when_its_first_frame_votes_for_it():
    smoother = EmotionSmoother(half_life_s=0.3, label_margin=0.05)
    for t in (0.0, 0.033, 0.067, 0.1):
        smoother.update(HAPPY, t)
    smoother.update(SAD, 0.133)
    _, label = smoother.update(HAPPY, 1.0)  # lost for most of a second, back as happy
    assert label == 0
