"""Draw results on frames: boxes, labels, keypoints, a probability-bar panel, a HUD."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

PANEL_WIDTH = 220
# BGR colour per label of the models' vocabulary (services/classifier/catalog.py); a
# label outside it (a user's own model) is drawn in white.
COLOURS = {
    "angry": (40, 40, 220), "disgust": (40, 140, 40), "fear": (160, 60, 160),
    "happy": (40, 200, 240), "sad": (200, 120, 40), "surprise": (240, 200, 40),
    "neutral": (180, 180, 180), "contempt": (60, 120, 200),
}
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _colour(label: str | None) -> tuple[int, int, int]:
    return COLOURS.get(label or "", (255, 255, 255))


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.45,
          colour=(255, 255, 255)) -> None:
    cv2.putText(image, text, origin, FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, scale, colour, 1, cv2.LINE_AA)


def shown(face: dict[str, Any]) -> tuple[str | None, dict[str, float]]:
    """The label and scores to show: the track's smoothed ones when there are any."""
    if face.get("smoothed_emotion"):
        return face["smoothed_emotion"], face["smoothed_scores"]
    return face["emotion"], face["scores"]


def face_name(face: dict[str, Any], number: int) -> str:
    """The person's name when the recognizer knows them, else `#<track id>` for a tracked
    face (the same from frame to frame), else its number in this frame."""
    if face.get("person"):
        # OpenCV's fonts draw ASCII only: other letters would come out as "?"
        return face["person"].encode("ascii", "replace").decode()
    return f"#{face.get('track_id') or number}"


def draw_face(image: np.ndarray, face: dict[str, Any], number: int) -> None:
    x, y, w, h = (int(round(v)) for v in face["box"])
    emotion, scores = shown(face)
    colour = _colour(emotion)
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, 2)
    for px, py in face["keypoints"]:
        cv2.circle(image, (int(px), int(py)), 2, (0, 255, 0), -1, cv2.LINE_AA)
    name = face_name(face, number) + (" -" if face.get("person") else "")  # "Alice - happy"
    if emotion:
        label = f"{name} {emotion} {scores[emotion]:.2f}"
    else:
        label = f"{name} face {face['score']:.2f}"
    _text(image, label, (x, max(y - 6, 12)), 0.5, colour)


def draw_panel(panel: np.ndarray, faces: list[dict[str, Any]]) -> None:
    """Per face (per track, when tracked), one bar per label, like the original notebook's
    bar chart."""
    top = 8
    for number, face in enumerate(faces, start=1):
        _, scores = shown(face)
        needed = 20 + 16 * max(len(scores), 1)
        if top + needed > panel.shape[0]:
            _text(panel, f"+{len(faces) - number + 1} more", (8, panel.shape[0] - 8))
            return
        kind = "" if face.get("person") else "track " if face.get("track_id") else "face "
        _text(panel, f"{kind}{face_name(face, number)}", (8, top + 12), 0.45)
        top += 20
        if not scores:
            _text(panel, "emotion unavailable", (8, top + 12), 0.4, (0, 165, 255))
            top += 16
        for label, probability in scores.items():
            _text(panel, label, (8, top + 11), 0.38)
            left, right = 80, PANEL_WIDTH - 10
            cv2.rectangle(panel, (left, top + 2), (right, top + 12), (70, 70, 70), -1)
            cv2.rectangle(panel, (left, top + 2), (left + int((right - left) * probability), top + 12),
                          _colour(label), -1)
            top += 16
        top += 6


def annotate(image: np.ndarray, faces: list[dict[str, Any]], hud: str = "") -> np.ndarray:
    """The frame with overlays, widened by a side panel of probability bars."""
    frame = image.copy()
    faces = sorted(faces, key=lambda face: face.get("track_id") or 0)  # the panel's order holds
    for number, face in enumerate(faces, start=1):
        draw_face(frame, face, number)
    if hud:
        _text(frame, hud, (8, 18), 0.5, (0, 255, 255))
    panel = np.full((frame.shape[0], PANEL_WIDTH, 3), 30, np.uint8)
    draw_panel(panel, faces)
    return np.hstack([frame, panel])
