"""Boxes, overlaps, suppression, neighbourhoods and tiles: the geometry every detection
strategy shares. Boxes are x, y, width, height in frame pixels. No model here."""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np

from services.faces.detection import MIRRORED_KEYPOINTS, DetectedFace, KnownFace

Box = tuple[float, float, float, float]
F = TypeVar("F", DetectedFace, KnownFace)
Region = tuple[int, int, int, int]  # x, y, width, height in whole frame pixels

# Detections of one face overlap its best one far more than this; a neighbouring face's
# can reach the suppression threshold but not this, so they are never averaged in.
ONE_FACE_AVERAGING_IOU = 0.5
# How far a box may poke past a tile edge before it counts as cut by it.
TILE_BORDER_TOLERANCE_PX = 1.0


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one x, y, w, h box with each of `others`."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    y2 = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - overlap
    return overlap / np.maximum(union, 1e-9)


def overlaps(box: Box, faces: list[DetectedFace] | list[KnownFace]) -> np.ndarray:
    """IoU of `box` with each face's box (empty for no faces)."""
    if not faces:
        return np.zeros(0, np.float32)
    return iou(np.array(box, np.float32), np.array([face.box for face in faces], np.float32))


def overlaps_any(box: Box, faces: list[DetectedFace], min_iou: float = 0.0) -> bool:
    """Whether `box` overlaps some face's box by more than `min_iou` (at all, by default)."""
    found = overlaps(box, faces)
    return bool(len(found) and found.max() > min_iou)


def best_overlapping(box: Box, faces: list[DetectedFace], min_iou: float,
                     min_score: float = 0.0) -> DetectedFace | None:
    """The best-scoring face scoring at least `min_score` whose box overlaps `box` by at
    least `min_iou`, or None."""
    return max((face for face, overlap in zip(faces, overlaps(box, faces), strict=True)
                if overlap >= min_iou and face.score >= min_score),
               key=lambda face: face.score, default=None)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray,
                 iou_threshold: float, average_from: float = 0.0):
    """MediaPipe's weighted non-maximum suppression, restricted to one face.

    Detectors fire several neighbouring anchors per face. Plain NMS keeps the best one and
    its noise; this keeps the best score and averages, weighted by score, the boxes and
    keypoints of the candidates that overlap it so much they must be the same face.
    Candidates overlapping it less, but above `iou_threshold`, are suppressed without being
    averaged in: averaging them would make two faces side by side one box spanning both.

    A face whose best score reaches `average_from` averages only the candidates that reach
    it too: candidates kept below it (weaker ones, looked at for small faces only) leave
    the stronger faces as they would be without them.
    """
    remaining = np.argsort(-scores)
    kept = []
    while len(remaining):
        top = remaining[0]
        overlap = iou(boxes[top], boxes[remaining])
        same_face = overlap >= max(iou_threshold, ONE_FACE_AVERAGING_IOU)
        if scores[top] >= average_from:
            same_face &= scores[remaining] >= average_from
        same = remaining[same_face]
        weights = scores[same][:, None]
        box = (boxes[same] * weights).sum(axis=0) / weights.sum()
        points = (keypoints[same] * weights[:, :, None]).sum(axis=0) / weights.sum()
        kept.append((float(scores[top]), box, points))
        remaining = remaining[overlap < iou_threshold]
    return kept


def merge(faces: list[DetectedFace], nms_iou: float,
          average_from: float = 0.0) -> list[DetectedFace]:
    """One face per cluster of overlapping detections from several passes, best first
    (see weighted_nms for `average_from`)."""
    if len(faces) <= 1:
        return faces
    scores = np.array([f.score for f in faces], np.float32)
    boxes = np.array([f.box for f in faces], np.float32)
    keypoints = np.stack([f.keypoints for f in faces])
    return [DetectedFace(tuple(float(v) for v in box), score, points.astype(np.float32))
            for score, box, points in weighted_nms(scores, boxes, keypoints, nms_iou,
                                                   average_from)]


def distinct(faces: list[F], same_face_iou: float) -> list[F]:
    """Best first, a face overlapping a better one by `same_face_iou` or more dropped."""
    kept: list[F] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if not np.any(overlaps(face.box, kept) >= same_face_iou):
            kept.append(face)
    return kept


def neighbourhood(box: Box, width: int, height: int, side_factor: float) -> Region:
    """The square around a face's box, `side_factor` times its side, clipped to the frame."""
    x, y, w, h = box
    side = max(w, h) * side_factor
    x0, y0 = max(0, int(x + w / 2 - side / 2)), max(0, int(y + h / 2 - side / 2))
    x1 = min(width, int(np.ceil(x + w / 2 + side / 2)))
    y1 = min(height, int(np.ceil(y + h / 2 + side / 2)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def inside_inner_borders(face: DetectedFace, tile: Region, frame_w: int, frame_h: int,
                         margin: float = 0.0) -> bool:
    """False when the face's box crosses a tile edge that is not a frame edge, or comes
    within `margin` of it: the face is cut there (a model that sees part of a face may box
    that part, up to the edge), and the overlapping neighbour tile (or a coarser pass) sees
    it whole."""
    x, y, w, h = face.box
    tx, ty, tw, th = tile
    t = TILE_BORDER_TOLERANCE_PX - margin
    return not ((tx > 0 and x < tx - t) or (ty > 0 and y < ty - t)
                or (tx + tw < frame_w and x + w > tx + tw + t)
                or (ty + th < frame_h and y + h > ty + th + t))


def tile_spans(length: int, max_tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, length) of the fewest tiles no longer than `max_tile` that cover
    [0, length) with neighbours overlapping by `overlap` (or 1 px more, from rounding):
    all the same length, evenly spread, so no tile overlaps more than it must."""
    if length <= max_tile:
        return [(0, length)]
    return even_spans(length, math.ceil((length - overlap) / (max_tile - overlap)), overlap)


def even_spans(length: int, count: int, overlap: int) -> list[tuple[int, int]]:
    """(start, length) of `count` tiles of one length that cover [0, length), evenly
    spread, neighbours overlapping by `overlap` (or 1 px more, from rounding)."""
    if count <= 1:
        return [(0, length)]
    tile = math.ceil((length + (count - 1) * overlap) / count)
    return [(round(i * (length - tile) / (count - 1)), tile) for i in range(count)]


def tile_grid(width: int, height: int, max_tile: int, overlap: int) -> list[Region]:
    """Overlapping tiles covering a width x height area, row by row."""
    return [(x, y, w, h)
            for y, h in tile_spans(height, max_tile, overlap)
            for x, w in tile_spans(width, max_tile, overlap)]


def scale_within(width: int, height: int, max_pixels: int) -> float:
    """The scale (at most 1) at which a width x height frame has at most `max_pixels`."""
    return min(1.0, float(np.sqrt(max_pixels / (width * height))))


def mirrored_back(face: DetectedFace, width: int) -> DetectedFace:
    """A face found in the mirror image of a `width`-wide frame, in the frame's own pixels:
    x flipped, and each keypoint's right and left swapped (the mirror's right eye is the
    face's left one)."""
    x, y, w, h = face.box
    points = face.keypoints.copy()
    if len(points):
        points[:, 0] = width - points[:, 0]
        points = points[list(MIRRORED_KEYPOINTS)]
    return DetectedFace((width - x - w, y, w, h), face.score, points)


def padded_shape(height: int, width: int, multiple: int) -> tuple[int, int]:
    """The smallest height, width at least 1 x 1 multiples of `multiple` that hold an
    image of height x width."""
    return (max(multiple, -(-height // multiple) * multiple),
            max(multiple, -(-width // multiple) * multiple))
