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
    requests = [LabelRequest(box, ((float(rng.integers(110, 150)), 14.0), (62.0, 14.0)))
                for box in boxes]
    placements = place_labels(requests, 800, 600)
    placed = rects(requests, placements)
    assert len(placed) > len(boxes) // 2  # most faces get one, the short form helping
    assert any(p is not None and p.form == 1 for p in placements)
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
