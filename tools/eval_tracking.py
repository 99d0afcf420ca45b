"""Measure tracks and smoothed emotions on generated clips, and choose their defaults.

    python -m tools.eval_tracking --faces DIR           # starts local services
    python -m tools.eval_tracking --faces DIR --target HOST:PORT

DIR is a folder of labeled faces (one subfolder per label, as for tools.eval_detection);
without --faces the bundled astronaut alone is used, which shows the tracking numbers
but hardly any flicker (the model is sure she smiles). From DIR the tool builds
- held clips: one face drifting, scaling and tilting under sensor noise for 5 s at 30 fps;
- change clips: the same, with the face (and so the expression) swapped mid-clip;
- crossing clips: two copies of one face whose paths cross, one hiding the other;
streams each through StreamDetect, and reports
- label flips per 100 frames, raw and smoothed, and how often the smoothed label is the
  majority raw label of the last second;
- after a change, how long the smoothed label takes to follow once the model shows the
  new expression, against half-life + 1 frame;
- id switches per crossing.
Flips, agreement and lag are swept over half-lives and label margins with the service's
own EmotionSmoother on the raw scores the service returned; the last table is the service
itself with its defaults.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import grpc
import numpy as np

from devkit.clips import crossing_clip, held_clip, id_switches, stream_clip, tracked_boxes
from devkit.processes import local_services
from devkit.scenes import astronaut_face
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from services.detector.smoothing import EmotionSmoother
from tools.eval_detection import labeled_faces

FPS = 30.0
HALF_LIVES_MS = (0, 150, 300, 500, 750, 1000)
MARGINS = (0.0, 0.05, 0.1)


def one_face_series(responses) -> tuple[list[int], list[np.ndarray], list[int]]:
    """Frames where exactly one face was found: frame index, raw scores, smoothed label."""
    frames, raw, shown = [], [], []
    for index, response in enumerate(responses):
        if len(response.faces) == 1 and response.faces[0].emotion_scores:
            face = response.faces[0]
            frames.append(index)
            raw.append(np.array(face.emotion_scores))
            shown.append(list(response.emotion_labels).index(face.smoothed_emotion)
                         if face.smoothed_emotion else int(np.argmax(face.emotion_scores)))
    return frames, raw, shown


def smooth(frames: list[int], raw: list[np.ndarray], half_life_ms: float, margin: float) -> list[int]:
    smoother = EmotionSmoother(half_life_ms / 1000, margin)
    return [smoother.update(scores, index / FPS)[1] for index, scores in zip(frames, raw)]


def flips_per_100(labels: list[int]) -> float:
    return 100 * sum(a != b for a, b in zip(labels, labels[1:])) / max(len(labels) - 1, 1)


def majority_agreement(frames: list[int], raw_labels: list[int], shown: list[int]) -> float:
    """Share of frames whose shown label is the most common raw label of the last second."""
    agree = 0
    for k, index in enumerate(frames):
        window = [label for f, label in zip(frames[:k + 1], raw_labels[:k + 1]) if index - f < FPS]
        agree += shown[k] == Counter(window).most_common(1)[0][0]
    return agree / max(len(frames), 1)


def follow_lag_s(frames: list[int], raw_labels: list[int], shown: list[int],
                 change_at: int) -> float | None:
    """Seconds from the change until the shown label is the new expression's (the
    majority raw label once it settled), counted from the first frame the model itself
    gave that label after the change (what smoothing adds, not what detection or the
    model lose); None when the model sees no change."""
    before = Counter(label for f, label in zip(frames, raw_labels) if f < change_at).most_common(1)
    after = Counter(label for f, label in zip(frames, raw_labels)
                    if f >= change_at + FPS / 2).most_common(1)
    if not before or not after or before[0][0] == after[0][0]:
        return None
    new = after[0][0]
    seen = next(f for f, label in zip(frames, raw_labels) if f >= change_at and label == new)
    for f, label in zip(frames, shown):
        if f >= seen and label == new:
            return (f - seen) / FPS
    return float("inf")


def evaluate(stub, faces: list[tuple[np.ndarray, str]], clips: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    raw_only = pb.DetectOptions(smoothing_half_life_ms=0)
    held, changes, defaults, ids_per_person = [], [], [], []
    for k in range(clips):
        face, label = faces[int(rng.integers(len(faces)))]
        clip = held_clip([face], frames=150, seed=seed + k)
        held.append(one_face_series(stream_clip(stub, clip, raw_only)))
        responses = stream_clip(stub, clip, pb.DetectOptions())
        defaults.append(one_face_series(responses))
        ids_per_person.append(len({f.track_id for r in responses for f in r.faces}))
        other = [f for f, other_label in faces if other_label != label]
        if other:  # the astronaut alone has nothing to change to
            second = other[int(rng.integers(len(other)))]
            clip = held_clip([face, second], frames=180, seed=seed + 1000 + k)
            changes.append(one_face_series(stream_clip(stub, clip, raw_only)))
    found = sum(len(f) for f, _, _ in held) / (150 * clips)
    print(f"{clips} held clips (150 frames), {clips} change clips (180 frames, change at 90); "
          f"one face found on {found:.1%} of held frames")
    print(f"{'half-life ms':>12} {'margin':>6} {'flips/100 raw':>13} {'smoothed':>8} "
          f"{'x fewer':>7} {'= last-1s majority':>18} {'lag median s':>12} {'<= hl+1f':>8}")
    for half_life in HALF_LIVES_MS:
        for margin in MARGINS if half_life else (0.0,):
            raw_flips, smooth_flips, agreement, lags = [], [], [], []
            for frames, raw, _ in held:
                raw_labels = [int(s.argmax()) for s in raw]
                shown = smooth(frames, raw, half_life, margin)
                raw_flips.append(flips_per_100(raw_labels))
                smooth_flips.append(flips_per_100(shown))
                agreement.append(majority_agreement(frames, raw_labels, shown))
            for frames, raw, _ in changes:
                lag = follow_lag_s(frames, [int(s.argmax()) for s in raw],
                                   smooth(frames, raw, half_life, margin), 90)
                if lag is not None:
                    lags.append(lag)
            within = np.mean([lag <= half_life / 1000 + 1 / FPS for lag in lags]) if lags else 0
            ratio = np.mean(raw_flips) / max(np.mean(smooth_flips), 1e-9)
            print(f"{half_life:>12} {margin:>6.2f} {np.mean(raw_flips):>13.2f} "
                  f"{np.mean(smooth_flips):>8.2f} {ratio:>7.1f} {np.mean(agreement):>18.1%} "
                  f"{np.median(lags) if lags else float('nan'):>12.3f} {within:>8.0%}")
    frames_flips = [(flips_per_100([int(s.argmax()) for s in raw]), flips_per_100(shown))
                    for _, raw, shown in defaults]
    agreement = np.mean([majority_agreement(f, [int(s.argmax()) for s in r], sh)
                         for f, r, sh in defaults])
    print("the service with its defaults: flips/100 raw "
          f"{np.mean([r for r, _ in frames_flips]):.2f}, smoothed "
          f"{np.mean([s for _, s in frames_flips]):.2f}; agreement {agreement:.1%}")
    print(f"track ids per one-person clip: mean {np.mean(ids_per_person):.2f}, most "
          f"{max(ids_per_person)}; clips with one id: "
          f"{sum(n == 1 for n in ids_per_person)} of {len(ids_per_person)}")
    switches, crossings = 0, 0
    for k in range(clips):
        face = faces[int(rng.integers(len(faces)))][0]
        clip = crossing_clip(face, frames=60, size=int(rng.integers(64, 160)), seed=seed + k)
        responses = stream_clip(stub, clip, pb.DetectOptions(classify=False))
        switches += sum(id_switches(clip.truth, tracked_boxes(responses)).values())
        crossings += 1
    print(f"crossings: {switches} id switches in {crossings} crossings "
          f"({switches / crossings:.2f} per crossing)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, help="folder of labeled faces (subfolder per label)")
    parser.add_argument("--target", help="a running detector; default: start local services")
    parser.add_argument("--clips", type=int, default=20, help="clips of each kind (default 20)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    faces = labeled_faces(args.faces) if args.faces else [(astronaut_face(), "happy")]
    if args.target:
        with grpc.insecure_channel(args.target) as channel:
            return evaluate(pb_grpc.DetectorServiceStub(channel), faces, args.clips, args.seed)
    with local_services() as (target, _), grpc.insecure_channel(target) as channel:
        return evaluate(pb_grpc.DetectorServiceStub(channel), faces, args.clips, args.seed)


if __name__ == "__main__":
    sys.exit(main())
