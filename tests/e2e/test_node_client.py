"""The Node.js example (examples/node) against real services: protos are all it needs."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import GROUP_PHOTO, ROOT

NODE_EXAMPLE = ROOT / "examples/node"


@pytest.fixture(scope="module")
def node():
    binary = shutil.which("node")
    assert binary, "node is required (make test installs the example's packages with npm)"
    assert (NODE_EXAMPLE / "node_modules/@grpc/grpc-js").is_dir(), "run `make test` (npm ci)"
    return binary


def test_node_client_detects_and_streams(node, detector_server):
    result = subprocess.run(
        [node, "client.js", "--target", f"127.0.0.1:{detector_server.port}",
         "--photo", str(GROUP_PHOTO), "--frames", str(ROOT / "samples/frames")],
        cwd=NODE_EXAMPLE, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "detect group.jpg: 4 faces"
    faces = [line for line in lines if line.startswith("  face ")]
    assert len(faces) == 4
    assert all(re.search(r"keypoints=6 emotion=happy [01]\.\d\d \(of 7 labels\)", f) for f in faces)
    frames = [line for line in lines if line.startswith("frame ")]
    assert [line.split(":")[0] for line in frames] == [f"frame {i}" for i in range(6)]
    assert all(line.endswith("1 faces [happy]") for line in frames)
    assert lines[-1] == "stream: 6 of 6 frames answered in order"


def test_node_client_reports_errors_with_the_status_name(node, detector_server, tmp_path):
    bogus = tmp_path / "bogus.jpg"
    bogus.write_bytes(b"\xff\xd8 this is not a jpeg")
    result = subprocess.run(
        [node, "client.js", "--target", f"127.0.0.1:{detector_server.port}", "--photo", str(bogus)],
        cwd=NODE_EXAMPLE, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "error: INVALID_ARGUMENT: image.data" in result.stderr
