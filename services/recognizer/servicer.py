"""RecognizerService over gRPC: decode images, call the core, encode the answers."""

from __future__ import annotations

import math

from facestream.v1 import face_pb2
from facestream.v1 import recognizer_service_pb2 as pb
from facestream.v1 import recognizer_service_pb2_grpc as pb_grpc
from services.common.errors import InvalidInput, NotAllowed, NotFound, NotReady
from services.common.frame_limits import FrameLimits
from services.common.status import grpc_errors
from services.faces.imaging import decode_image
from services.recognizer import metrics
from services.recognizer.core import FaceQuery, Identity, Recognizer
from services.recognizer.embedding import DIMENSIONS, MODEL_NAME
from services.recognizer.gallery import RestingFace


def _box(box) -> face_pb2.Box:
    x, y, width, height = box
    return face_pb2.Box(x=x, y=y, width=width, height=height)


def _identity(identity: Identity) -> pb.Identity:
    message = pb.Identity(person_id=identity.person_id, name=identity.name,
                          known=identity.known)
    if identity.box is not None:
        message.box.CopyFrom(_box(identity.box))
    # An unknown face's distance to the closest enrolled one would let a caller walk an
    # embedding towards an enrolled template; only a match says how close it is.
    if identity.known and not math.isnan(identity.distance):
        message.distance = identity.distance
    if identity.known and identity.rest is not None:
        message.baseline.CopyFrom(pb.Baseline(labels=identity.rest.labels,
                                              rest_scores=identity.rest.scores,
                                              frames=identity.rest.frames))
    return message


class RecognizerServicer(pb_grpc.RecognizerServiceServicer):
    """Registered before the server starts; UNAVAILABLE until `recognizer` is set."""

    def __init__(self, frame_limits: FrameLimits, embeddings_api: bool = False) -> None:
        self.recognizer: Recognizer | None = None
        self.frame_limits = frame_limits
        self.embeddings_api = embeddings_api

    def _embeddings_allowed(self, what: str) -> None:
        if not self.embeddings_api:
            raise NotAllowed(f"{what} is off on this server: raw embeddings would let a caller "
                             "probe the gallery's templates; start the recognizer with "
                             "--embeddings-api (or an --auth-token its callers hold)")

    @property
    def _recognizer(self) -> Recognizer:
        if self.recognizer is None:
            raise NotReady("the models are still loading; retry shortly (health says NOT_SERVING)")
        return self.recognizer

    def _query(self, message: pb.FaceImage, field: str) -> FaceQuery:
        image = message.image
        bgr = decode_image(image.data, image.format, image.width, image.height,
                           self.frame_limits, f"{field}.image")
        boxes = [(b.x, b.y, b.width, b.height) for b in message.faces]
        return FaceQuery(bgr, boxes, field)

    @grpc_errors
    def Embed(self, request, context):
        self._embeddings_allowed("Embed")
        boxes, vectors = self._recognizer.embed(self._query(request.image, "image"))
        metrics.FACES_EMBEDDED.inc(len(boxes))
        return pb.EmbedResponse(
            faces=[pb.EmbeddedFace(box=_box(box), embedding=pb.Embedding(values=vector.tolist()))
                   for box, vector in zip(boxes, vectors)],
            dimensions=DIMENSIONS, model=MODEL_NAME)

    @grpc_errors
    def Enroll(self, request, context):
        queries = [self._query(image, f"images[{i}]") for i, image in enumerate(request.images)]
        face_index = request.face_index if request.HasField("face_index") else None
        person, added, existed = self._recognizer.enroll(request.name, queries, face_index)
        metrics.FACES_EMBEDDED.inc(added)
        metrics.ENROLLED_FACES.inc(added)
        return pb.EnrollResponse(person_id=person.person_id, faces_enrolled=added,
                                 faces_total=person.faces, added_to_existing=existed)

    @grpc_errors
    def Identify(self, request, context):
        recognizer = self._recognizer
        kind = request.WhichOneof("query")
        if kind == "image":
            identities = recognizer.identify_image(self._query(request.image, "image"),
                                                   request.max_distance)
            metrics.FACES_EMBEDDED.inc(len(identities))
        elif kind == "embeddings":
            self._embeddings_allowed("Identify by embeddings")
            identities = recognizer.identify_embeddings(
                [list(e.values) for e in request.embeddings.embeddings], request.max_distance)
        else:
            raise InvalidInput("query is empty: send an image or embeddings")
        metrics.IDENTIFIED.labels("known").inc(sum(i.known for i in identities))
        metrics.IDENTIFIED.labels("unknown").inc(sum(not i.known for i in identities))
        return pb.IdentifyResponse(identities=[_identity(i) for i in identities],
                                   max_distance=recognizer.threshold(request.max_distance),
                                   people=len(recognizer.gallery))

    @grpc_errors
    def Verify(self, request, context):
        same, distance, threshold = self._recognizer.verify(
            self._query(request.first, "first"), self._query(request.second, "second"),
            request.max_distance)
        metrics.FACES_EMBEDDED.inc(2)
        return pb.VerifyResponse(same_person=same, distance=distance, max_distance=threshold)

    @grpc_errors
    def ListPeople(self, request, context):
        return pb.ListPeopleResponse(people=[
            pb.Person(person_id=p.person_id, name=p.name, faces=p.faces)
            for p in self._recognizer.gallery.people()])

    @grpc_errors
    def DeletePerson(self, request, context):
        kind = request.WhichOneof("person")
        if kind is None or not getattr(request, kind):
            raise InvalidInput("say whom to delete: person_id or name")
        removed = self._recognizer.gallery.delete(**{kind: getattr(request, kind)})
        if removed is None:
            # the name stays out of the message: status messages are logged
            raise NotFound(f"no person with that {kind} is enrolled (ListPeople shows who is)")
        return pb.DeletePersonResponse(faces_deleted=removed)

    @grpc_errors
    def SaveBaseline(self, request, context):
        baseline = request.baseline
        self._recognizer.save_rest(request.person_id, RestingFace(
            tuple(baseline.labels), tuple(baseline.rest_scores), baseline.frames))
        return pb.SaveBaselineResponse()
