"""Draw results on frames: boxes, labels, keypoints, a probability-bar panel, a HUD."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from client.labels import LabelRequest, place_labels

PANEL_WIDTH = 220  # at 480 px frames; text, bars and the panel grow with the frame
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


def size_factor(height: int) -> float:
    """How much larger than at 480 px to draw text and bars: readable on a 1080p frame at
    the size it is shown, never smaller than at 480."""
    return min(max(height / 480, 1.0), 4.0)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.45,
          colour=(255, 255, 255), k: float = 1.0) -> None:
    width = max(1, round(k))
    cv2.putText(image, text, origin, FONT, scale * k, (0, 0, 0), width + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, scale * k, colour, width, cv2.LINE_AA)


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


LABEL_SCALE = 0.5


def label_forms(face: dict[str, Any], number: int) -> tuple[str, str, str]:
    """The face's label, its short form for crowds ("#12 happy"), and its tag ("#12")."""
    emotion, scores = shown(face)
    tag = face_name(face, number)
    name = tag + (" -" if face.get("person") else "")  # "Alice - happy"
    if face.get("emotion_status") == "face_turned":
        return (f"{name} {emotion} (turned)" if emotion else f"{name} turned",
                f"{name} turned", tag)
    if emotion:
        return f"{name} {emotion} {scores[emotion]:.2f}", f"{name} {emotion}", tag
    return f"{name} face {face['score']:.2f}", tag, tag


def draw_face(image: np.ndarray, face: dict[str, Any], k: float = 1.0) -> None:
    x, y, w, h = (int(round(v)) for v in face["box"])
    colour = _colour(shown(face)[0])
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, max(2, round(2 * k)))
    for px, py in face["keypoints"]:
        cv2.circle(image, (int(px), int(py)), max(2, round(2 * k)), (0, 255, 0), -1, cv2.LINE_AA)


def _label_size(text: str, k: float) -> tuple[int, int]:
    (width, height), baseline = cv2.getTextSize(text, FONT, LABEL_SCALE * k, max(1, round(k)) + 2)
    return width, height + baseline


def draw_labels(image: np.ndarray, faces: list[dict[str, Any]], k: float = 1.0) -> None:
    """Every face's label where client/labels.py places it (the largest faces first)."""
    numbered = list(enumerate(faces, start=1))
    numbered.sort(key=lambda item: item[1]["box"][2] * item[1]["box"][3], reverse=True)
    forms = [label_forms(face, number) for number, face in numbered]
    requests = [LabelRequest(tuple(face["box"]), tuple(_label_size(text, k) for text in texts))
                for (_, face), texts in zip(numbered, forms, strict=True)]
    height, width = image.shape[:2]
    for (_, face), texts, placement in zip(numbered, forms,
                                           place_labels(requests, width, height), strict=True):
        if placement is None:
            continue  # no free place: the side panel still lists the face
        text = texts[placement.form]
        (_, cap_height), _ = cv2.getTextSize(text, FONT, LABEL_SCALE * k, max(1, round(k)) + 2)
        _text(image, text, (round(placement.x), round(placement.y + cap_height)), LABEL_SCALE,
              _colour(shown(face)[0]), k)


def draw_panel(panel: np.ndarray, faces: list[dict[str, Any]], k: float = 1.0) -> None:
    """Per face (per track, when tracked), one bar per label, like the original notebook's
    bar chart. `k`: size_factor of the frame (the panel is PANEL_WIDTH * k wide)."""
    def px(value: float) -> int:
        return round(value * k)

    top = px(8)
    more_line = px(20)  # room kept for "+N more" below the last row drawn
    for number, face in enumerate(faces, start=1):
        _, scores = shown(face)
        needed = px(20 + 16 * max(len(scores), 1))
        last = number == len(faces)
        if top + needed + (0 if last else more_line) > panel.shape[0]:
            _text(panel, f"+{len(faces) - number + 1} more", (px(8), top + px(14)), k=k)
            return
        kind = "" if face.get("person") else "track " if face.get("track_id") else "face "
        _text(panel, f"{kind}{face_name(face, number)}", (px(8), top + px(12)), 0.45, k=k)
        top += px(20)
        if not scores:
            why = ("face turned" if face.get("emotion_status") == "face_turned"
                   else "emotion unavailable")
            _text(panel, why, (px(8), top + px(12)), 0.4, (0, 165, 255), k)
            top += px(16)
        for label, probability in scores.items():
            _text(panel, label, (px(8), top + px(11)), 0.38, k=k)
            left, right = px(80), panel.shape[1] - px(10)
            cv2.rectangle(panel, (left, top + px(2)), (right, top + px(12)), (70, 70, 70), -1)
            cv2.rectangle(panel, (left, top + px(2)),
                          (left + int((right - left) * probability), top + px(12)),
                          _colour(label), -1)
            top += px(16)
        top += px(6)


def annotate(image: np.ndarray, faces: list[dict[str, Any]], hud: str = "") -> np.ndarray:
    """The frame with overlays, widened by a side panel of probability bars."""
    frame = image.copy()
    k = size_factor(frame.shape[0])
    faces = sorted(faces, key=lambda face: face.get("track_id") or 0)  # the panel's order holds
    for face in faces:
        draw_face(frame, face, k)
    draw_labels(frame, faces, k)
    if hud:
        _text(frame, hud, (round(8 * k), round(18 * k)), 0.5, (0, 255, 255), k)
    panel = np.full((frame.shape[0], round(PANEL_WIDTH * k), 3), 30, np.uint8)
    draw_panel(panel, faces, k)
    return np.hstack([frame, panel])
