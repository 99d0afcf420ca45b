"""Label placement: inside the frame, never over another label, off other faces' boxes where
a free place exists, short forms in a crowd."""

from __future__ import annotations

import itertools

import numpy as np

from client.labels import LabelRequest, intersects, place_labels


def rects(requests, placements):
    return [(p.x, p.y, *requests[i].sizes[p.form]) for i, p in enumerate(placements)
            if p is not None]


def test_a_dense_crowd_gets_labels_that_never_collide_and_stay_inside():
    rng = np.random.default_rng(3)
    boxes = [(float(x), float(y), 34.0, 34.0)
             for x, y in itertools.product(range(0, 760, 48), range(0, 560, 56))]
    requests = [LabelRequest(box, ((float(rng.integers(110, 150)), 14.0), (62.0, 14.0),
                                   (24.0, 14.0))) for box in boxes]
    placements = place_labels(requests, 800, 600)
    placed = rects(requests, placements)
    assert len(placed) > len(boxes) // 2  # most faces get one, the short forms helping
    assert any(p is not None and p.form >= 1 for p in placements)
    for a, b in itertools.combinations(placed, 2):
        assert not intersects(a, b), (a, b)
    for x, y, w, h in placed:
        assert x >= 0 and x + w <= 800 and y >= 0 and y + h <= 600


def test_a_label_goes_above_its_face_then_below_at_the_top_edge_and_off_a_neighbour():
    requests = [LabelRequest((100, 100, 80, 80), ((90, 14),)),
                LabelRequest((300, 0, 80, 80), ((90, 14),)),
                LabelRequest((500, 100, 80, 80), ((90, 14),)),
                LabelRequest((500, 60, 80, 38), ((90, 14),))]  # a face right above the third
    first, top, third, _ = place_labels(requests, 800, 600)
    assert (first.x, first.y) == (100, 100 - 14 - 2)  # above
    assert top.y == 80 + 2  # no room above: below
    assert not intersects((third.x, third.y, 90, 14), requests[3].box)


def test_a_crowd_of_150_faces_keeps_every_face_readable():
    """No label over the middle (or the centre) of another face, each beside its own face's
    column, none over another label; at this density tags stand in for labels."""
    from client.labels import face_middle

    rng = np.random.default_rng(11)
    boxes = []
    for row, col in itertools.product(range(10), range(15)):  # a stand of 150 people
        size = float(rng.integers(24, 50))
        boxes.append((col * 85 + float(rng.integers(0, 85 - size)),
                      row * 72 + float(rng.integers(0, 72 - size)), size, size))
    boxes.sort(key=lambda b: -b[2])  # the largest first, as the callers order them
    requests = [LabelRequest(box, ((150.0, 14.0), (90.0, 14.0), (30.0, 14.0))) for box in boxes]
    placements = place_labels(requests, 1280, 720)
    labelled = [(i, (p.x, p.y, *requests[i].sizes[p.form])) for i, p in enumerate(placements)
                if p is not None]
    assert len(labelled) >= 100, len(labelled)
    assert any(placements[i].form == 2 for i, _ in labelled)  # tags in the crowd
    for i, rect in labelled:
        x, y, w, h = boxes[i]
        assert rect[0] < x + w and x < rect[0] + rect[2]  # touches its own face's column
        for j, other in enumerate(boxes):
            if j == i:
                continue
            assert not intersects(rect, face_middle(other)), (i, j)
            cx, cy = other[0] + other[2] / 2, other[1] + other[3] / 2
            assert not (rect[0] <= cx <= rect[0] + rect[2] and rect[1] <= cy <= rect[1] + rect[3])
    for (_, a), (_, b) in itertools.combinations(labelled, 2):
        assert not intersects(a, b)
