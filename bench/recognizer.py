"""The recognizer's speed: faces embedded per second through the service, and Identify
latency by embedding (the search itself) with 1k, 10k and 100k people enrolled."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import grpc
import numpy as np

from devkit import ROOT
from devkit.processes import service_process
from facestream.v1 import face_pb2, image_pb2
from facestream.v1 import recognizer_service_pb2 as pb
from facestream.v1 import recognizer_service_pb2_grpc as pb_grpc
from services.recognizer.embedding import DIMENSIONS
from services.recognizer.sqlite_gallery import SqliteGallery

GALLERY_SIZES = (1_000, 10_000, 100_000)


def face_request() -> pb.EmbedRequest:
    """The astronaut's face region, raw, with its box: the embedding alone, no search."""
    region = cv2.imread(str(ROOT / "samples/astronaut.png"))[20:230, 120:330]
    return pb.EmbedRequest(image=pb.FaceImage(
        image=image_pb2.Image(data=region.tobytes(), format=image_pb2.IMAGE_FORMAT_BGR8,
                              width=region.shape[1], height=region.shape[0]),
        faces=[face_pb2.Box(x=52, y=51, width=104, height=104)]))


def seeded_gallery(path: Path, people: int) -> None:
    """`people` random people with one embedding each, spread like dlib's vectors."""
    gallery = SqliteGallery(path, DIMENSIONS)
    rng = np.random.default_rng(people)
    batch = rng.normal(0, 0.09, (people, DIMENSIONS)).astype(np.float32)
    # One transaction for the lot: the store's own enroll commits (and fsyncs) per person.
    with gallery._db:  # noqa: SLF001 - bulk load for the benchmark only
        gallery._db.execute("BEGIN")  # noqa: SLF001
        for index in range(people):
            gallery._db.execute("INSERT INTO people VALUES (?, ?)",  # noqa: SLF001
                                (f"bench-{index}", f"person {index}"))
        gallery._db.executemany("INSERT INTO embeddings (person_id, vector) VALUES (?, ?)",  # noqa: SLF001
                                [(f"bench-{i}", v.tobytes()) for i, v in enumerate(batch)])
    gallery.close()


def recognizer_speed(seconds: float, work: Path, sizes=GALLERY_SIZES) -> dict:
    results: dict = {}
    with service_process("recognizer", 0, ["--gallery", str(work / "embed.sqlite3"),
                                           "--embeddings-api", "true"],
                         quiet=True) as recognizer, \
            grpc.insecure_channel(f"127.0.0.1:{recognizer.port}") as channel:
        stub = pb_grpc.RecognizerServiceStub(channel)
        request = face_request()
        embedding = stub.Embed(request, timeout=30).faces[0].embedding  # warm-up
        for callers in (1, 2, 4):
            done, deadline = [], time.monotonic() + seconds

            def call() -> None:
                while time.monotonic() < deadline:
                    stub.Embed(request, timeout=30)
                    done.append(1)

            started = time.monotonic()
            with ThreadPoolExecutor(callers) as pool:
                for _ in range(callers):
                    pool.submit(call)
            results[f"embed_faces_per_s_{callers}_callers"] = round(
                len(done) / (time.monotonic() - started), 1)
    query = pb.IdentifyRequest(embeddings=pb.EmbeddingList(embeddings=[embedding]))
    results["identify_ms"] = {}
    for people in sizes:
        path = work / f"gallery-{people}.sqlite3"
        seeded_gallery(path, people)
        with service_process("recognizer", 0, ["--gallery", str(path), "--embeddings-api", "true"],
                             quiet=True) as recognizer, \
                grpc.insecure_channel(f"127.0.0.1:{recognizer.port}") as channel:
            stub = pb_grpc.RecognizerServiceStub(channel)
            times, deadline = [], time.monotonic() + seconds
            while time.monotonic() < deadline or len(times) < 20:
                started = time.perf_counter()
                answer = stub.Identify(query, timeout=30)
                times.append((time.perf_counter() - started) * 1000)
            assert answer.people == people
        results["identify_ms"][str(people)] = {"p50": round(float(np.percentile(times, 50)), 2),
                                               "p99": round(float(np.percentile(times, 99)), 2)}
    return results
