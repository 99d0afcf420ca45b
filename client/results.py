"""Responses as plain data: the JSONL line format and what the overlay draws."""

from __future__ import annotations

from typing import Any

from facestream.v1.face_pb2 import (
    EMOTION_STATUS_OK,
    EXPRESSION_STATUS_OK,
    EmotionStatus,
    ExpressionStatus,
)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def face_to_dict(face, labels: list[str]) -> dict[str, Any]:
    """One face as in the JSONL file: box [x, y, w, h], score, keypoints, emotion and
    scores (this frame's), track_id (0: not tracked), smoothed_emotion and
    smoothed_scores (the track's, over time)."""
    ok = face.emotion_status == EMOTION_STATUS_OK and len(face.emotion_scores) == len(labels)
    smoothed = ok and len(face.smoothed_scores) == len(labels)
    return {
        "box": [round(face.box.x, 1), round(face.box.y, 1),
                round(face.box.width, 1), round(face.box.height, 1)],
        "score": round(face.score, 4),
        "keypoints": [[round(p.x, 1), round(p.y, 1)] for p in face.keypoints],
        "emotion": face.emotion if ok else None,
        "emotion_status": emotion_status_name(face.emotion_status),
        "pose": ({"yaw": round(face.pose.yaw, 1), "pitch": round(face.pose.pitch, 1),
                  "roll": round(face.pose.roll, 1)} if face.HasField("pose") else None),
        "scores": {label: round(p, 4) for label, p in zip(labels, face.emotion_scores)} if ok else {},
        "track_id": face.track_id,
        # the enrolled person's name (--identify); null when unknown or not asked
        "person": face.person_name or None,
        "smoothed_emotion": face.smoothed_emotion if smoothed else None,
        "smoothed_scores": ({label: round(p, 4) for label, p in zip(labels, face.smoothed_scores)}
                            if smoothed else {}),
        # the emotion against the track's own resting face, once its baseline is ready
        "relative_emotion": face.relative_emotion or None,
        "baseline_ready": face.baseline_ready,
        **expression_to_dict(face),
    }


def expression_to_dict(face) -> dict[str, Any]:
    """--expressions: the blendshapes by name, the gaze in degrees (0, 0 into the camera),
    whether the face looks at the camera, and why not when they are missing."""
    ok = face.expression_status == EXPRESSION_STATUS_OK
    return {
        "expression_status": ExpressionStatus.Name(face.expression_status)
        .removeprefix("EXPRESSION_STATUS_").lower(),
        "blendshapes": ({name: round(score, 4) for name, score in sorted(face.blendshapes.items())}
                        if ok else {}),
        "gaze": ({"yaw": round(face.gaze.yaw, 1), "pitch": round(face.gaze.pitch, 1)}
                 if ok else None),
        "looking": face.looking if ok else None,
    }


def emotion_status_name(status: int) -> str:
    """EMOTION_STATUS_FACE_TURNED -> "face_turned"."""
    return EmotionStatus.Name(status).removeprefix("EMOTION_STATUS_").lower()


def response_to_record(source: str, index: int, response) -> dict[str, Any]:
    record: dict[str, Any] = {
        "source": source,
        "frame": index,
        # the model's labels, in order (each face's scores use them as keys)
        "labels": list(response.emotion_labels),
        "faces": [face_to_dict(f, list(response.emotion_labels)) for f in response.faces],
        # faces found but left out by max_faces (the largest are kept)
        "faces_omitted": response.faces_omitted,
    }
    if response.HasField("error"):
        record["error"] = {"code": response.error.code, "message": response.error.message}
    if response.emotions_unavailable_reason:
        record["emotions_unavailable"] = response.emotions_unavailable_reason
    return record


def describe_picture(record: dict[str, Any]) -> str:
    """One line per picture of an image or folder source: the file, its faces left to right,
    each with its name and emotion where known."""
    if "error" in record:
        return f"{record['source']}: error: {record['error']['message']}"
    faces = sorted(record["faces"], key=lambda face: face["box"][0])
    words = []
    for face in faces:
        what = face["emotion"] or ("turned" if face["emotion_status"] == "face_turned" else "")
        words.append(" ".join(part for part in (face["person"], what) if part) or "face")
    return (f"{record['source']}: {plural(len(faces), 'face')}"
            + (f": {', '.join(words)}" if words else ""))
