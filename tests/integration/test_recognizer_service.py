"""RecognizerService over real gRPC with the real dlib models and a real SQLite gallery."""

from __future__ import annotations

import contextlib

import cv2
import grpc
import numpy as np
import pytest

from facestream.v1 import face_pb2, image_pb2, recognizer_service_pb2_grpc
from facestream.v1 import recognizer_service_pb2 as pb
from tests.conftest import CAMERAMAN, FACE_FREE_PHOTO, GROUP_PHOTO, PORTRAIT


def face_image(bgr: np.ndarray, boxes=()) -> pb.FaceImage:
    ok, data = cv2.imencode(".png", bgr)
    assert ok
    return pb.FaceImage(image=image_pb2.Image(data=data.tobytes(),
                                              format=image_pb2.IMAGE_FORMAT_ENCODED),
                        faces=[face_pb2.Box(x=x, y=y, width=w, height=h) for x, y, w, h in boxes])


def views(bgr: np.ndarray) -> dict[str, np.ndarray]:
    """The same face as another camera might see it."""
    height, width = bgr.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), 12, 0.8)
    return {
        "mirrored": bgr[:, ::-1].copy(),
        "rotated and smaller": cv2.warpAffine(bgr, rotation, (width, height),
                                              borderMode=cv2.BORDER_REFLECT),
        "darker": cv2.convertScaleAbs(bgr, alpha=0.6, beta=-10),
        "half size": cv2.resize(bgr, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
        "jpeg q30": cv2.imdecode(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 30])[1], 1),
    }


@pytest.fixture(scope="module")
def astronaut(recognizer_stub):
    enrolled = recognizer_stub.Enroll(pb.EnrollRequest(
        name="Eileen Collins", images=[face_image(cv2.imread(str(PORTRAIT)))]), timeout=30)
    yield enrolled
    with contextlib.suppress(grpc.RpcError):  # a test deleted her already
        recognizer_stub.DeletePerson(pb.DeletePersonRequest(person_id=enrolled.person_id))


def code_and_message(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=30)
    return raised.value.code(), raised.value.details()


def test_embed_gives_one_128_d_vector_per_face(recognizer_stub):
    response = recognizer_stub.Embed(pb.EmbedRequest(image=face_image(cv2.imread(str(GROUP_PHOTO)))),
                                     timeout=30)
    assert response.dimensions == 128 and response.model == "dlib_resnet_v1"
    assert len(response.faces) == 4
    xs = [face.box.x for face in response.faces]
    assert xs == sorted(xs)  # left to right
    assert all(len(face.embedding.values) == 128 for face in response.faces)


@pytest.mark.parametrize("view", list(views(np.zeros((8, 8, 3), np.uint8))))
def test_other_views_of_the_enrolled_face_are_her(recognizer_stub, astronaut, view):
    bgr = views(cv2.imread(str(PORTRAIT)))[view]
    response = recognizer_stub.Identify(pb.IdentifyRequest(image=face_image(bgr)), timeout=30)
    (identity,) = response.identities
    assert identity.known and identity.name == "Eileen Collins", identity
    assert identity.person_id == astronaut.person_id
    assert identity.distance <= response.max_distance == pytest.approx(0.6)


def test_someone_else_is_unknown(recognizer_stub, astronaut):
    response = recognizer_stub.Identify(
        pb.IdentifyRequest(image=face_image(cv2.imread(str(CAMERAMAN)))), timeout=30)
    (identity,) = response.identities
    assert not identity.known and identity.name == "" and identity.person_id == ""
    # No distance for an unknown face: it would guide a walk towards her template.
    assert identity.distance == 0.0
    assert response.people >= 1


def test_a_looser_threshold_than_the_servers_is_refused(recognizer_stub, astronaut):
    request = pb.IdentifyRequest(image=face_image(cv2.imread(str(CAMERAMAN))), max_distance=4.0)
    code, message = code_and_message(recognizer_stub.Identify, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "stricter value in (0, 0.6]" in message
    strict = recognizer_stub.Identify(pb.IdentifyRequest(
        image=face_image(cv2.imread(str(PORTRAIT))), max_distance=0.5), timeout=30)
    assert strict.max_distance == pytest.approx(0.5)


def test_identify_by_embeddings_matches_identify_by_image(recognizer_stub, astronaut):
    bgr = views(cv2.imread(str(PORTRAIT)))["darker"]
    (face,) = recognizer_stub.Embed(pb.EmbedRequest(image=face_image(bgr)), timeout=30).faces
    by_vector = recognizer_stub.Identify(pb.IdentifyRequest(
        embeddings=pb.EmbeddingList(embeddings=[face.embedding])), timeout=30).identities[0]
    by_image = recognizer_stub.Identify(pb.IdentifyRequest(image=face_image(bgr)),
                                        timeout=30).identities[0]
    assert by_vector.name == by_image.name == "Eileen Collins"
    assert by_vector.distance == pytest.approx(by_image.distance, abs=1e-5)


def test_verify_same_and_different(recognizer_stub):
    portrait = cv2.imread(str(PORTRAIT))
    same = recognizer_stub.Verify(pb.VerifyRequest(
        first=face_image(portrait), second=face_image(views(portrait)["rotated and smaller"])),
        timeout=30)
    different = recognizer_stub.Verify(pb.VerifyRequest(
        first=face_image(portrait), second=face_image(cv2.imread(str(CAMERAMAN)))), timeout=30)
    assert same.same_person and same.distance < 0.6
    assert not different.same_person and different.distance > 0.6


def test_verify_needs_one_face_per_image(recognizer_stub):
    group, portrait = cv2.imread(str(GROUP_PHOTO)), cv2.imread(str(PORTRAIT))
    code, message = code_and_message(recognizer_stub.Verify, pb.VerifyRequest(
        first=face_image(portrait), second=face_image(group)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "second shows 4 faces (0: " in message
    code, message = code_and_message(recognizer_stub.Verify, pb.VerifyRequest(
        first=face_image(portrait), second=face_image(portrait), max_distance=float("nan")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "max_distance is nan" in message


def test_too_many_photos_and_an_oversized_image_are_refused(recognizer_stub):
    tiny = face_image(cv2.imread(str(PORTRAIT)))
    code, message = code_and_message(recognizer_stub.Enroll,
                                     pb.EnrollRequest(name="Many", images=[tiny] * 33))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "at most 32 per call" in message
    huge = pb.FaceImage(image=image_pb2.Image(data=b"\0" * 3, format=image_pb2.IMAGE_FORMAT_BGR8,
                                              width=5000, height=5000))
    code, message = code_and_message(recognizer_stub.Embed, pb.EmbedRequest(image=huge))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "5000x5000" in message


def test_given_boxes_are_embedded_as_given(recognizer_stub):
    group = cv2.imread(str(GROUP_PHOTO))
    found = recognizer_stub.Embed(pb.EmbedRequest(image=face_image(group)), timeout=30).faces
    box = found[2].box
    given = recognizer_stub.Embed(pb.EmbedRequest(
        image=face_image(group, [(box.x, box.y, box.width, box.height)])), timeout=30).faces
    assert len(given) == 1
    np.testing.assert_allclose(given[0].embedding.values, found[2].embedding.values, atol=1e-4)


def test_several_faces_need_face_index(recognizer_stub):
    group = face_image(cv2.imread(str(GROUP_PHOTO)))
    code, message = code_and_message(recognizer_stub.Enroll,
                                     pb.EnrollRequest(name="Group", images=[group]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "shows 4 faces" in message
    code, message = code_and_message(recognizer_stub.Enroll,
                                     pb.EnrollRequest(name="Group", images=[group], face_index=9))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "face_index is 9" in message
    chosen = recognizer_stub.Enroll(pb.EnrollRequest(name="Second from left", images=[group],
                                                     face_index=1), timeout=30)
    assert chosen.faces_enrolled == 1
    assert recognizer_stub.DeletePerson(pb.DeletePersonRequest(name="Second from left"),
                                        timeout=5).faces_deleted == 1


@pytest.mark.parametrize("name,images,expected", [
    ("Nobody", [FACE_FREE_PHOTO], "images[0] shows no face"),
    ("", [PORTRAIT], "name is empty"),
    ("x" * 10_000, [PORTRAIT], "name has 10000 characters; at most 200"),
    ("Line\nbreak", [PORTRAIT], "U+000A"),
    ("Eileen\u200bCollins", [PORTRAIT], "U+200B (ZERO WIDTH SPACE)"),
    ("Eileen \u202eCollins", [PORTRAIT], "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("No photos", [], "images is empty"),
])
def test_bad_enrollments_are_refused_and_store_nothing(recognizer_stub, name, images, expected):
    before = recognizer_stub.ListPeople(pb.ListPeopleRequest(), timeout=5).people
    code, message = code_and_message(recognizer_stub.Enroll, pb.EnrollRequest(
        name=name, images=[face_image(cv2.imread(str(path))) for path in images]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and expected in message
    assert recognizer_stub.ListPeople(pb.ListPeopleRequest(), timeout=5).people == before


def test_corrupt_image_and_wrong_embedding_are_invalid(recognizer_stub):
    corrupt = pb.FaceImage(image=image_pb2.Image(data=b"\x89PNG not really",
                                                 format=image_pb2.IMAGE_FORMAT_ENCODED))
    code, message = code_and_message(recognizer_stub.Embed, pb.EmbedRequest(image=corrupt))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "image.image" in message
    code, message = code_and_message(recognizer_stub.Identify, pb.IdentifyRequest(
        embeddings=pb.EmbeddingList(embeddings=[pb.Embedding(values=[0.1] * 5)])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "has 5 values" in message
    code, message = code_and_message(recognizer_stub.Identify, pb.IdentifyRequest())
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "query is empty" in message


def test_delete_removes_her_for_good(recognizer_stub):
    portrait = cv2.imread(str(PORTRAIT))
    enrolled = recognizer_stub.Enroll(pb.EnrollRequest(
        name="To forget", images=[face_image(portrait), face_image(views(portrait)["mirrored"])]),
        timeout=30)
    assert enrolled.faces_enrolled == enrolled.faces_total == 2
    deleted = recognizer_stub.DeletePerson(pb.DeletePersonRequest(person_id=enrolled.person_id),
                                           timeout=5)
    assert deleted.faces_deleted == 2
    names = [p.name for p in recognizer_stub.ListPeople(pb.ListPeopleRequest(), timeout=5).people]
    assert "To forget" not in names
    identity = recognizer_stub.Identify(pb.IdentifyRequest(image=face_image(portrait)),
                                        timeout=30).identities[0]
    assert identity.name != "To forget"
    code, message = code_and_message(recognizer_stub.DeletePerson,
                                     pb.DeletePersonRequest(person_id=enrolled.person_id))
    assert code == grpc.StatusCode.NOT_FOUND and "To forget" not in message


def test_a_restarted_recognizer_keeps_the_gallery(tmp_path):
    from services.recognizer.server import create_server
    from services.recognizer.settings import RecognizerSettings

    settings = RecognizerSettings(port=0, gallery=str(tmp_path / "gallery.sqlite3"),
                                  embedding_workers=1)
    first = create_server(settings)
    with grpc.insecure_channel(f"127.0.0.1:{first.port}") as channel:
        stub = recognizer_service_pb2_grpc.RecognizerServiceStub(channel)
        enrolled = stub.Enroll(pb.EnrollRequest(
            name="Eileen Collins", images=[face_image(cv2.imread(str(PORTRAIT)))]), timeout=30)
    first.stop(0)
    with create_server(settings) as second:
        with grpc.insecure_channel(f"127.0.0.1:{second.port}") as channel:
            stub = recognizer_service_pb2_grpc.RecognizerServiceStub(channel)
            (person,) = stub.ListPeople(pb.ListPeopleRequest(), timeout=5).people
            assert (person.person_id, person.name, person.faces) == (
                enrolled.person_id, "Eileen Collins", 1)
            identity = stub.Identify(pb.IdentifyRequest(
                image=face_image(cv2.imread(str(PORTRAIT))[:, ::-1].copy())), timeout=30)
            assert identity.identities[0].name == "Eileen Collins"


def test_the_gallery_needs_the_token_when_one_is_set(tmp_path):
    from services.recognizer.server import create_server
    from services.recognizer.settings import RecognizerSettings

    with create_server(RecognizerSettings(port=0, gallery=str(tmp_path / "g.sqlite3"),
                                          embedding_workers=1, auth_token="s3cret")) as running:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = recognizer_service_pb2_grpc.RecognizerServiceStub(channel)
            for call, request in ((stub.ListPeople, pb.ListPeopleRequest()),
                                  (stub.DeletePerson, pb.DeletePersonRequest(name="x")),
                                  (stub.Enroll, pb.EnrollRequest(name="x"))):
                code, _ = code_and_message(call, request)
                assert code == grpc.StatusCode.UNAUTHENTICATED
            people = stub.ListPeople(pb.ListPeopleRequest(), timeout=5,
                                     metadata=[("authorization", "Bearer s3cret")])
            assert list(people.people) == []


def test_raw_embeddings_are_off_unless_asked_for(tmp_path):
    from services.recognizer.server import create_server
    from services.recognizer.settings import RecognizerSettings

    with create_server(RecognizerSettings(port=0, gallery=str(tmp_path / "g.sqlite3"),
                                          embedding_workers=1)) as running:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = recognizer_service_pb2_grpc.RecognizerServiceStub(channel)
            portrait = face_image(cv2.imread(str(PORTRAIT)))
            probe = pb.IdentifyRequest(embeddings=pb.EmbeddingList(
                embeddings=[pb.Embedding(values=[0.0] * 128)]))
            for call, request in ((stub.Embed, pb.EmbedRequest(image=portrait)),
                                  (stub.Identify, probe)):
                code, message = code_and_message(call, request)
                assert code == grpc.StatusCode.PERMISSION_DENIED and "--embeddings-api" in message
            # Images are still identified.
            answer = stub.Identify(pb.IdentifyRequest(image=portrait), timeout=30)
            assert len(answer.identities) == 1 and not answer.identities[0].known


def test_nan_boxes_are_invalid_argument(recognizer_stub):
    portrait = cv2.imread(str(PORTRAIT))
    for box in ((float("nan"), 10, 100, 100), (10, 10, float("inf"), 100)):
        code, message = code_and_message(recognizer_stub.Enroll, pb.EnrollRequest(
            name="Boxed", images=[face_image(portrait, [box])]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "NaN or infinite" in message


def test_a_name_is_one_person_however_it_is_typed_and_enrolling_again_says_so(recognizer_stub):
    portrait = face_image(cv2.imread(str(PORTRAIT)))
    composed, decomposed = "Zo\u00eb Example", "Zoe\u0308 Example "
    first = recognizer_stub.Enroll(pb.EnrollRequest(name=composed, images=[portrait]), timeout=30)
    again = recognizer_stub.Enroll(pb.EnrollRequest(name=decomposed, images=[portrait]),
                                   timeout=30)
    try:
        assert not first.added_to_existing and again.added_to_existing
        assert again.person_id == first.person_id and again.faces_total == 2
    finally:
        recognizer_stub.DeletePerson(pb.DeletePersonRequest(person_id=first.person_id), timeout=5)
