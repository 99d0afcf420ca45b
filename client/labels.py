"""Where each face's label goes: inside the frame, never over another label, touching its own
face's column (never wholly beside it, where it would read as a neighbour's), over no other
face's box where a free place exists: the label, its short form (`#12 happy`), its tag
(`#12`); in a crowd where none is free, the tag may cross another face's box but never its
middle; else the label is left out, and the side panel still lists that face. The page
(services/gateway/static/labels.js) places labels by the same rules."""

from __future__ import annotations

from dataclasses import dataclass

Rect = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class LabelRequest:
    box: Rect  # the face's box
    sizes: tuple[tuple[float, float], ...]  # (width, height) of each form, longest first


@dataclass(frozen=True)
class Placement:
    form: int  # which of the request's forms
    x: float
    y: float  # top-left corner of the label's rectangle


def intersects(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


# The middle of a face's box (this share of its width and height) is never under a label.
FACE_MIDDLE = 0.6


def face_middle(box: Rect) -> Rect:
    x, y, w, h = box
    margin = (1 - FACE_MIDDLE) / 2
    return (x + w * margin, y + h * margin, w * FACE_MIDDLE, h * FACE_MIDDLE)


def _candidates(box: Rect, width: float, height: float, frame_w: float,
                frame_h: float, gap: float) -> list[tuple[float, float]]:
    """Corners to try, nearest first: above, below, then both slid sideways (at most half off
    the box's column), each moved inside the frame but kept off its own face; last, inside
    the box's top."""
    x, y, w, h = box
    shifts = (0.0, w - width, -width / 2, w - width / 2)
    rows = ((y - height - gap, False), (y + h + gap, False))
    tries = [(row, inside, shift) for shift in shifts for row, inside in rows]
    tries += [(y + gap, True, shift) for shift in shifts]
    corners = []
    for row, inside, shift in tries:
        cx = min(max(x + shift, 0.0), frame_w - width)
        cy = min(max(row, 0.0), frame_h - height)
        if not inside and intersects((cx, cy, width, height), box):
            continue
        if (cx, cy) not in corners:
            corners.append((cx, cy))
    return corners


def place_labels(requests: list[LabelRequest], frame_w: float, frame_h: float,
                 gap: float = 2.0) -> list[Placement | None]:
    """One placement per request (None: no place free of other labels), in the requests'
    order of priority (put the largest faces first)."""
    placed: list[Rect] = []
    boxes = [request.box for request in requests]
    middles = [face_middle(box) for box in boxes]
    result: list[Placement | None] = []
    for index, request in enumerate(requests):
        # Any form clear of every other face's box; else, in a crowd, the tag (the last form)
        # clear of their middles.
        last = len(request.sizes) - 1
        passes = ((boxes[:index] + boxes[index + 1:], range(len(request.sizes))),
                  (middles[:index] + middles[index + 1:], range(last, last + 1)))
        choice = None
        for others, forms in passes:
            for form in forms:
                width, height = request.sizes[form]
                if width > frame_w or height > frame_h:
                    continue
                for cx, cy in _candidates(request.box, width, height, frame_w, frame_h, gap):
                    rect = (cx, cy, width, height)
                    if any(intersects(rect, other) for other in placed):
                        continue
                    if any(intersects(rect, other) for other in others):
                        continue
                    choice = Placement(form, cx, cy)
                    break
                if choice:
                    break
            if choice:
                break
        if choice is not None:
            width, height = request.sizes[choice.form]
            placed.append((choice.x, choice.y, width, height))
        result.append(choice)
    return result
