"""Generated video clips with known face paths, for the tracking tests and evaluation.

A clip is a list of frames and, per frame, the true box of each face in view, keyed by
the face's identity (its index in the clip), so that a tracker's ids can be checked
against who really is where.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from devkit.frames import raw_image
from devkit.scenes import background, face_free_pictures, paste_face
from facestream.v1 import detector_service_pb2 as pb

Box = tuple[float, float, float, float]
# Capture times sent for a clip start here, not at 0: 0 means "no capture time" in the API
# (the server would time that first frame by its own clock, then the rest by the clip's).
FIRST_CAPTURE_US = 1_000_000


@dataclass
class Clip:
    frames: list[np.ndarray] = field(default_factory=list)
    truth: list[dict[int, Box]] = field(default_factory=list)  # per frame: face -> box
    fps: float = 30.0


def crossing_clip(face: np.ndarray, frames: int = 60, size: int = 96, width: int = 640,
                  height: int = 480, seed: int = 0) -> Clip:
    """Two copies of one face walking towards each other: face 0 left to right and a
    little down, face 1 right to left and a little up; mid-clip face 1 passes in front of
    face 0 and hides it. Same face, same size: only where each was heading tells them
    apart."""
    rng = np.random.default_rng(seed)
    scenery = background(face_free_pictures(), width, height, rng)
    clip = Clip()
    margin = 20
    for index in range(frames):
        t = index / max(frames - 1, 1)
        paths = {0: (margin + t * (width - size - 2 * margin), height * 0.30 + t * height * 0.15),
                 1: (width - size - margin - t * (width - size - 2 * margin),
                     height * 0.45 - t * height * 0.15)}
        frame = scenery.copy()
        boxes: dict[int, Box] = {}
        for identity, (x, y) in paths.items():  # face 1 pasted last: in front
            paste_face(frame, face, int(x), int(y), size)
            boxes[identity] = (float(int(x)), float(int(y)), float(size), float(size))
        clip.frames.append(frame)
        clip.truth.append(boxes)
    return clip


def stream_clip(stub, clip: Clip, options: pb.DetectOptions,
                timeout_s: float = 600) -> list[pb.StreamDetectResponse]:
    """The clip's frames through StreamDetect (raw, with their capture times), answers in order."""
    requests = (pb.StreamDetectRequest(frame_id=i, image=raw_image(frame), options=options,
                                       capture_time_us=int(FIRST_CAPTURE_US + i * 1e6 / clip.fps))
                for i, frame in enumerate(clip.frames))
    return list(stub.StreamDetect(requests, timeout=timeout_s))


def tracked_boxes(responses) -> list[list[tuple[Box, int]]]:
    """Per answer, each face's (box, track id): what id_switches compares with the truth."""
    return [[((f.box.x, f.box.y, f.box.width, f.box.height), f.track_id) for f in r.faces]
            for r in responses]


def id_switches(truth: list[dict[int, Box]], found: list[list[tuple[Box, int]]]) -> dict[int, int]:
    """Per true face, how often the track id given to it changed from one sighting to the
    next. `found` is per frame a list of (box, track id); a found box belongs to the true
    face whose box holds its centre (the visible one when two overlap: the later key)."""
    last: dict[int, int] = {}
    switches = {identity: 0 for frame in truth for identity in frame}
    for boxes, faces in zip(truth, found, strict=True):
        for (x, y, w, h), track_id in faces:
            cx, cy = x + w / 2, y + h / 2
            owners = [i for i, (bx, by, bw, bh) in boxes.items()
                      if bx <= cx <= bx + bw and by <= cy <= by + bh]
            if not owners:
                continue
            owner = max(owners)  # the face pasted in front
            if owner in last and last[owner] != track_id:
                switches[owner] += 1
            last[owner] = track_id
    return switches


def held_clip(faces: list[np.ndarray], frames: int = 150, seed: int = 0, width: int = 640,
              height: int = 480) -> Clip:
    """One person in front of a camera: a face (gray) drifting across the frame, growing
    and shrinking, tilting a little, under sensor noise, as a webcam sees someone sitting
    still. With several faces, the clip shows each in turn for an equal share of the
    frames at the same place: one person whose expression changes."""
    rng = np.random.default_rng(seed)
    scenery = background(face_free_pictures(), width, height, rng)
    phase = rng.uniform(0, 2 * np.pi, 4)
    clip = Clip()
    for index in range(frames):
        t = index / 30.0
        size = int(150 + 30 * np.sin(0.7 * t + phase[0]))
        x = int(width / 2 - size / 2 + 80 * np.sin(0.5 * t + phase[1]))
        y = int(height / 2 - size / 2 + 30 * np.sin(0.9 * t + phase[2]))
        face = faces[min(index * len(faces) // frames, len(faces) - 1)]
        frame = scenery.copy()
        paste_face(frame, face, x, y, size, angle=float(6 * np.sin(0.8 * t + phase[3])))
        noise = rng.normal(0, 4.0, frame.shape)
        clip.frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
        clip.truth.append({0: (float(x), float(y), float(size), float(size))})
    return clip
