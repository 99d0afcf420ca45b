"""The recognizer's core: images in, faces found (or given), embedded, looked up.

No gRPC here: the servicer decodes requests into these calls and encodes the answers.
"""

from __future__ import annotations

import math
import queue
import unicodedata
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from services.common.errors import InvalidInput, NotFound
from services.faces.detection import DEFAULT_MIN_SCORE
from services.recognizer.embedding import DIMENSIONS, FaceEmbedder
from services.recognizer.gallery import Gallery, Person, RestingFace

MAX_NAME_CHARS = 200
MAX_IMAGES_PER_ENROLL = 32
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FaceQuery:
    """One image (BGR) and, optionally, its face boxes (x, y, w, h) from a detector."""
    bgr: np.ndarray
    boxes: Sequence[Box] = ()
    field: str = "image"  # names the request field in error messages


@dataclass(frozen=True)
class Identity:
    box: Box | None
    person_id: str  # "" when unknown
    name: str
    distance: float  # to the closest enrolled face; nan when nobody is enrolled
    known: bool
    rest: RestingFace | None = None  # the person's saved resting face, when known


class Recognizer:
    def __init__(self, detector, embedders: Sequence[FaceEmbedder], gallery: Gallery,
                 match_distance: float, min_score: float = DEFAULT_MIN_SCORE) -> None:
        """`detector`: the detector's own FaceDetector (the recognizer finds faces as the
        detector does); `embedders`: one per concurrent embedding (dlib's network is not
        re-entrant)."""
        self.detector = detector
        self.gallery = gallery
        self.match_distance = match_distance
        self.min_score = min_score
        self._embedders: queue.Queue[FaceEmbedder] = queue.Queue()
        for embedder in embedders:
            self._embedders.put(embedder)

    @contextmanager
    def _embedder(self):
        embedder = self._embedders.get()
        try:
            yield embedder
        finally:
            self._embedders.put(embedder)

    def find_faces(self, query: FaceQuery) -> list[Box]:
        """The given boxes (checked), else the faces the detector finds; left to right."""
        height, width = query.bgr.shape[:2]
        if query.boxes:
            for index, (x, y, w, h) in enumerate(query.boxes):
                if not all(math.isfinite(v) for v in (x, y, w, h)):
                    raise InvalidInput(f"{query.field}.faces[{index}] holds NaN or infinite "
                                       "values: give boxes in image pixels")
                if w < 8 or h < 8 or x + w <= 0 or y + h <= 0 or x >= width or y >= height:
                    raise InvalidInput(f"{query.field}.faces[{index}] ({x:.0f}, {y:.0f}, {w:.0f}x"
                                       f"{h:.0f}) is not a face box inside the {width}x{height} "
                                       "image: give boxes in image pixels, at least 8 px")
            boxes = [tuple(map(float, box)) for box in query.boxes]
        else:
            boxes = [face.box for face in self.detector.detect(query.bgr, self.min_score)]
        return sorted(boxes, key=lambda box: box[0])

    def embed(self, query: FaceQuery) -> tuple[list[Box], np.ndarray]:
        boxes = self.find_faces(query)
        with self._embedder() as embedder:
            return boxes, embedder.embed(query.bgr, boxes)

    def _one_face(self, query: FaceQuery, face_index: int | None,
                  which: str = "say which with face_index (0-based, left to right)") -> np.ndarray:
        boxes, vectors = self.embed(query)
        if not boxes:
            raise InvalidInput(f"{query.field} shows no face: send a photo where the face is "
                               "clearly visible (at least ~40 px wide)")
        if face_index is None and len(boxes) > 1:
            listed = "; ".join(f"{i}: {w:.0f}x{h:.0f} px at ({x:.0f}, {y:.0f})"
                               for i, (x, y, w, h) in enumerate(boxes))
            raise InvalidInput(f"{query.field} shows {len(boxes)} faces ({listed}): crop it to "
                               f"one, or {which}")
        index = face_index or 0
        if not 0 <= index < len(boxes):
            raise InvalidInput(f"face_index is {index}; {query.field} has {len(boxes)} face(s) "
                               f"(0..{len(boxes) - 1})")
        return vectors[index]

    def enroll(self, name: str, queries: Sequence[FaceQuery],
               face_index: int | None = None) -> tuple[Person, int, bool]:
        """(the person now, faces added, whether the name was enrolled before: the faces
        were added to that person). Every image must show the face, or nothing is stored."""
        name = checked_name(name)
        if not queries:
            raise InvalidInput("images is empty: send one or more photos of the person")
        if len(queries) > MAX_IMAGES_PER_ENROLL:
            raise InvalidInput(f"images has {len(queries)} photos; at most "
                               f"{MAX_IMAGES_PER_ENROLL} per call: split the enrollment")
        vectors = np.stack([self._one_face(query, face_index) for query in queries])
        person = self.gallery.enroll(name, vectors)
        # The person had faces before this call's exactly when the name was enrolled already.
        return person, len(vectors), person.faces > len(vectors)

    def identify(self, vectors: np.ndarray, boxes: Sequence[Box | None],
                 max_distance: float = 0.0) -> list[Identity]:
        threshold = self.threshold(max_distance)
        identities = []
        for box, found in zip(boxes, self.gallery.nearest(vectors)):
            if found is None:
                identities.append(Identity(box, "", "", float("nan"), False))
                continue
            match, name = found
            known = match.distance <= threshold
            identities.append(Identity(box, match.person_id if known else "",
                                       name if known else "", match.distance, known,
                                       self.gallery.rest_of(match.person_id) if known else None))
        return identities

    def save_rest(self, person_id: str, rest: RestingFace) -> None:
        """Keep an enrolled person's resting face; InvalidInput or NotFound say what is
        wrong with the request."""
        if not person_id:
            raise InvalidInput("person_id is empty: send the person_id Identify gave")
        if not rest.labels or len(rest.labels) != len(rest.scores):
            raise InvalidInput(f"baseline has {len(rest.labels)} labels and "
                               f"{len(rest.scores)} rest_scores; send one score per label")
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in rest.scores):
            raise InvalidInput("baseline.rest_scores must each be within [0, 1]")
        if rest.frames < 1:
            raise InvalidInput(f"baseline.frames is {rest.frames}; it must be at least 1")
        if not self.gallery.save_rest(person_id, rest):
            raise NotFound("no person with that person_id is enrolled (ListPeople shows who is)")

    def identify_image(self, query: FaceQuery, max_distance: float = 0.0) -> list[Identity]:
        boxes, vectors = self.embed(query)
        return self.identify(vectors, boxes, max_distance)

    def identify_embeddings(self, vectors: Sequence[Sequence[float]],
                            max_distance: float = 0.0) -> list[Identity]:
        for index, vector in enumerate(vectors):
            if len(vector) != DIMENSIONS:
                raise InvalidInput(f"embeddings[{index}] has {len(vector)} values; embeddings "
                                   f"from Embed have {DIMENSIONS}")
        matrix = np.array(vectors, np.float32).reshape(len(vectors), DIMENSIONS)
        if not np.isfinite(matrix).all():
            raise InvalidInput("embeddings hold NaN or infinite values")
        return self.identify(matrix, [None] * len(matrix), max_distance)

    def verify(self, first: FaceQuery, second: FaceQuery,
               max_distance: float = 0.0) -> tuple[bool, float, float]:
        """(same person, distance, threshold) for two one-face images."""
        threshold = self.threshold(max_distance)
        distance = float(np.linalg.norm(
            self._one_face(first, None, f"give its face's box in {first.field}.faces")
            - self._one_face(second, None, f"give its face's box in {second.field}.faces")))
        return distance <= threshold, distance, threshold

    def threshold(self, max_distance: float) -> float:
        """The caller's threshold, which may only be stricter than the server's: a looser
        one would call strangers matches and hand out their distances."""
        if not (max_distance == 0 or 0 < max_distance <= self.match_distance):
            raise InvalidInput(f"max_distance is {max_distance}; use 0 for the server's "
                               f"threshold ({self.match_distance}) or a stricter value in "
                               f"(0, {self.match_distance}]")
        return max_distance or self.match_distance


# Unicode categories no name needs: controls, format characters (zero-width joiners and
# spaces, bidi overrides), private use, surrogates, unassigned. They make look-alike names.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn"}


def checked_name(name: str) -> str:
    """The name in one canonical form (NFC, trimmed), so that the same name typed twice is
    the same person."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise InvalidInput("name is empty: give the person's name (1..200 characters)")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"name has {len(name)} characters; at most {MAX_NAME_CHARS}")
    for char in name:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            what = unicodedata.name(char, "a control or format character")
            raise InvalidInput(f"name holds U+{ord(char):04X} ({what}): send plain text, "
                               "without control, zero-width or direction marks")
    return name
