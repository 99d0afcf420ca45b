"""Where a core keeps its own copy of an API value (so it needs no generated code), the
copy must equal the generated stub's value."""

from __future__ import annotations

from facestream.v1 import image_pb2
from services.faces import imaging


def test_image_formats_in_the_decoder_are_the_protos():
    assert imaging.FORMAT_ENCODED == image_pb2.IMAGE_FORMAT_ENCODED
    assert imaging.FORMAT_BGR8 == image_pb2.IMAGE_FORMAT_BGR8
    assert imaging.FORMAT_GRAY8 == image_pb2.IMAGE_FORMAT_GRAY8
    names = {value.name for value in image_pb2.ImageFormat.DESCRIPTOR.values}
    assert names == {"IMAGE_FORMAT_UNSPECIFIED", "IMAGE_FORMAT_ENCODED", "IMAGE_FORMAT_BGR8",
                     "IMAGE_FORMAT_GRAY8"}, "a new format needs the decoder too"
