"""Server reflection, as grpcurl and similar tools use it: list services, fetch descriptors."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

COMMON = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


@pytest.mark.parametrize("channel_fixture,service,methods", [
    ("detector_channel", "facestream.v1.DetectorService", {"Detect", "StreamDetect"}),
    ("classifier_channel", "facestream.v1.ClassifierService", {"Classify", "GetModelInfo"}),
    ("recognizer_channel", "facestream.v1.RecognizerService",
     {"Embed", "Enroll", "Identify", "Verify", "ListPeople", "DeletePerson", "SaveBaseline"}),
])
def test_reflection_lists_services_and_serves_descriptors(request, channel_fixture, service, methods):
    database = ProtoReflectionDescriptorDatabase(request.getfixturevalue(channel_fixture))
    assert set(database.get_services()) == COMMON | {service}
    pool = DescriptorPool(database)
    descriptor = pool.FindServiceByName(service)
    assert {m.name for m in descriptor.methods} == methods
    for method in descriptor.methods:
        assert method.input_type.name.endswith("Request")
        assert method.output_type.name.endswith("Response")
    face = pool.FindMessageTypeByName("facestream.v1.Face")
    assert "emotion_scores" in face.fields_by_name
