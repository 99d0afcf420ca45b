"""`webcam.py --enroll NAME --source PHOTO`: add a person to the recognizer's gallery."""

from __future__ import annotations

from pathlib import Path

import grpc

from client.results import plural
from facestream.v1 import image_pb2
from facestream.v1 import recognizer_service_pb2 as pb
from facestream.v1 import recognizer_service_pb2_grpc as pb_grpc


def enroll(channel: grpc.Channel, name: str, photo: str, metadata=(),
           face_index: int | None = None) -> str:
    """Enroll the face of `photo` (the one, or the `face_index`-th from the left) as `name`:
    a line saying what the gallery holds now. Raises ValueError (a photo that cannot be
    read) or grpc.RpcError (the service said no; with several faces, its message lists them)."""
    path = Path(photo)
    if not path.is_file():
        raise ValueError(f"--source {photo}: --enroll needs a photo file with the person's face")
    request = pb.EnrollRequest(name=name, images=[pb.FaceImage(image=image_pb2.Image(
        data=path.read_bytes(), format=image_pb2.IMAGE_FORMAT_ENCODED))])
    if face_index is not None:
        request.face_index = face_index
    response = pb_grpc.RecognizerServiceStub(channel).Enroll(request, timeout=60,
                                                             metadata=metadata)
    added = " (added to the person already enrolled under that name)" if (
        response.added_to_existing) else ""
    return (f"enrolled {name} from {path.name}{added}: the gallery holds "
            f"{plural(response.faces_total, 'face')} of {name}, "
            f"id {response.person_id}")
