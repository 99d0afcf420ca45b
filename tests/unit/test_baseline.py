"""Each person's own baseline: a resting face whose raw labels wander reads neutral, a real
expression stands out, and a person who starts out smiling is not taken to rest smiling."""

from __future__ import annotations

import numpy as np

from services.detector.baseline import Baseline
from services.detector.smoothing import EmotionSmoother

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
FPS = 30


def frame_scores(rng, label: str, strength: float) -> np.ndarray:
    """A classifier's scores for one frame: `label` leading by `strength` over a noisy rest."""
    scores = rng.dirichlet(np.full(len(LABELS), 2.0)) * 0.3
    scores[LABELS.index("neutral")] += 0.4
    scores[LABELS.index(label)] += strength
    return scores / scores.sum()


def relative_labels(frames: list[np.ndarray], baseline: Baseline) -> list[str]:
    smoother = EmotionSmoother(0.3, 0.05)
    shown = []
    for index, scores in enumerate(frames):
        smoothed, _ = smoother.update(scores, index / FPS)
        baseline.update(smoothed)
        shown.append(baseline.relative(smoothed))
    return shown


def resting_frames(rng, seconds: float) -> list[np.ndarray]:
    """A person at rest whose raw label wanders: neutral ~75%, surprise ~14%, sad ~8%."""
    frames = []
    for _ in range(int(seconds * FPS)):
        draw = rng.random()
        label = "surprise" if draw < 0.14 else "sad" if draw < 0.22 else "neutral"
        frames.append(frame_scores(rng, label, 0.5 if label != "neutral" else 0.0))
    return frames


def test_a_resting_face_whose_raw_labels_wander_reads_neutral_once_ready():
    rng = np.random.default_rng(1)
    frames = resting_frames(rng, 60)
    raw = [LABELS[int(np.argmax(s))] for s in frames]
    assert 0.1 < sum(label != "neutral" for label in raw) / len(raw) < 0.35
    baseline = Baseline(LABELS, ready_frames=45, margin=0.25)
    shown = relative_labels(frames, baseline)
    assert shown[:44] == [""] * 44 and baseline.ready
    ready = shown[45:]
    assert sum(label == "neutral" for label in ready) / len(ready) >= 0.9


def test_exaggerated_expressions_stand_out_against_the_persons_own_rest():
    rng = np.random.default_rng(2)
    frames = []
    for second in range(60):  # a second of a strong expression every three
        label = ("happy", "surprise", "sad")[second // 3 % 3] if second % 3 == 2 else "neutral"
        frames += [frame_scores(rng, label, 1.2 if label != "neutral" else 0.0)
                   for _ in range(FPS)]
    shown = relative_labels(frames, Baseline(LABELS, ready_frames=45, margin=0.25))[45:]
    assert sum(label not in ("", "neutral") for label in shown) / len(shown) >= 0.3


def test_a_person_who_starts_smiling_is_not_taken_to_rest_smiling():
    rng = np.random.default_rng(3)
    smiling = [frame_scores(rng, "happy", 1.2) for _ in range(2 * FPS)]
    frames = smiling + resting_frames(rng, 6) + [frame_scores(rng, "happy", 1.2)
                                                 for _ in range(2 * FPS)]
    baseline = Baseline(LABELS, ready_frames=45, margin=0.25)
    shown = relative_labels(frames, baseline)
    last_smile = shown[-FPS:]  # the second smile, once the smoothing has caught up
    assert last_smile.count("happy") >= 0.9 * len(last_smile)
    # The rest it learned is the resting face's, not the smile it started with.
    assert baseline.rest[LABELS.index("happy")] < 0.2
    # A mean of the first seconds would have taken the smile as the rest.
    assert np.mean([s[LABELS.index("happy")] for s in frames[:2 * FPS]]) > 0.5


def test_with_blendshapes_a_still_face_stays_neutral_whatever_the_scores_say():
    names = ("_neutral", "eyeBlinkLeft", "mouthSmileLeft", "jawOpen")
    baseline = Baseline(LABELS, ready_frames=10, margin=0.25, blendshape_names=names)
    rest, still = frame_scores(np.random.default_rng(4), "neutral", 0.0), np.zeros(4)
    for _ in range(20):
        baseline.update(rest, still)
    happy = frame_scores(np.random.default_rng(5), "happy", 1.5)
    blinking = np.array([0.0, 0.9, 0.0, 0.0])  # a blink is no expression
    assert baseline.relative(happy, blinking) == "neutral"
    assert baseline.relative(happy, np.array([0.0, 0.0, 0.7, 0.1])) == "happy"
    assert baseline.relative(happy) == "happy"  # nothing to tell: the scores decide


def test_a_baseline_started_from_a_saved_rest_is_ready_at_once():
    rest = frame_scores(np.random.default_rng(6), "sad", 0.3)
    baseline = Baseline(LABELS, ready_frames=45, margin=0.25)
    baseline.start_from(rest, frames=45)
    assert baseline.ready and np.allclose(baseline.rest, rest, atol=1e-6)
    assert baseline.relative(rest) == "neutral"  # this person's rest reads sad-ish: neutral
