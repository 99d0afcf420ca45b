"""Classifier settings: flags `--name`, environment `FACESTREAM_NAME`."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from services.classifier.augmentation import TTA_MODES, view_count
from services.classifier.catalog import DEFAULT_MODEL, FER2013_LABELS, MODELS, NamedModel
from services.classifier.model import PIXEL_SCALINGS, file_sha256
from services.common.server_settings import ServerSettings
from services.common.settings import require, setting

RUNTIMES = ("auto", "litert", "tensorflow")


@dataclass(frozen=True)
class ClassifierSettings(ServerSettings):
    """facestream classifier: batches face crops from all callers through a Keras model."""

    port: int = setting(50052, "port to listen on; 0 picks a free one")
    max_concurrent_rpcs: int = setting(512, "data RPCs in progress at once (health checks and "
                                            "reflection are not counted); beyond it RESOURCE_EXHAUSTED")
    model: str = setting(DEFAULT_MODEL, f"emotion model: a name ({', '.join(MODELS)}), or a "
                         "Keras file (.hdf5 or .keras; LiteRT converts it once and caches it), "
                         "or a .tflite for LiteRT")
    labels: str = setting("", "comma-separated output labels, in the model's order; empty: "
                          "the named model's own, FER2013's seven for a model file")
    pixel_scaling: str = setting("minus_one_to_one", "how the model expects pixels scaled",
                                 choices=sorted(PIXEL_SCALINGS))
    max_batch_size: int = setting(64, "largest batch the model runs, test-time views "
                                  "included (with tta mirror, 64 = 32 crops)")
    tta: str = setting("mirror", "test-time augmentation: each crop scored as several views "
                       "in one batch, scores averaged: none; mirror (2 views); mirror+shifts "
                       "(6: mirror and four 2-px shifts)", choices=list(TTA_MODES))
    max_queue_delay_ms: float = setting(0.0, "how long the first crop of a batch waits for "
                                        "company (0 on LiteRT; ~1 pays off on TensorFlow)")
    max_queue_size: int = setting(2048, "crops allowed to wait; beyond it RESOURCE_EXHAUSTED")
    model_cache: str = setting("models/converted", "where LiteRT keeps Keras models it "
                               "converted (by the model file's sha256)")
    runtime: str = setting("auto", "auto: TensorFlow when a GPU is visible, else LiteRT; "
                           "litert (XNNPACK, CPU); tensorflow", choices=list(RUNTIMES))
    inference_workers: int = setting(0, "batcher workers, each running the model on its own "
                                        "(LiteRT); 0: one per core. TensorFlow uses one")
    jit_compile: bool = setting(False, "compile the model with XLA (helps on GPU, hurts on CPU)")
    inference_threads: int = setting(0, "TensorFlow intra-op threads; 0: half the cores, "
                                        "leaving the rest to gRPC and pre-processing")
    replica_id: str = setting(socket.gethostname(), "name reported in response metadata and metrics")

    @property
    def named_model(self) -> NamedModel | None:
        return MODELS.get(self.model)

    @property
    def model_path(self) -> Path:
        return Path(self.named_model.path if self.named_model else self.model)

    @property
    def model_name(self) -> str:
        """What GetModelInfo calls the model: its catalog name, or its file's stem."""
        return self.named_model.name if self.named_model else self.model_path.stem

    @property
    def label_list(self) -> list[str]:
        if not self.labels.strip():
            return list(self.named_model.labels if self.named_model else FER2013_LABELS)
        return [label.strip() for label in self.labels.split(",") if label.strip()]

    def validate(self) -> None:
        super().validate()
        named = self.named_model
        if named is None:
            require(self.model_path.is_file(), "model", self.model,
                    f"no such file, and not a model name ({', '.join(MODELS)}): name a model "
                    "or give the path to a Keras model")
        else:
            require(self.model_path.is_file(), "model", self.model,
                    f"{named.path} is missing: run `make models`")
            actual = file_sha256(self.model_path)
            require(actual == named.sha256, "model", self.model,
                    f"{named.path} has sha256 {actual[:12]}..., expected {named.sha256[:12]}...: "
                    "run `make models` again")
        labels = self.label_list
        require(len(labels) >= 2 and len(set(labels)) == len(labels), "labels", self.labels,
                "need at least two distinct comma-separated labels")
        require(1 <= self.max_batch_size <= 4096, "max_batch_size", self.max_batch_size, "must be 1..4096")
        require(self.max_batch_size >= view_count(self.tta), "max_batch_size", self.max_batch_size,
                f"must hold at least one crop's {view_count(self.tta)} views (tta {self.tta})")
        require(0 <= self.max_queue_delay_ms <= 1000, "max_queue_delay_ms", self.max_queue_delay_ms,
                "must be 0..1000 ms")
        require(self.max_queue_size >= self.max_batch_size, "max_queue_size", self.max_queue_size,
                f"must be at least max_batch_size ({self.max_batch_size})")
        require(self.runtime != "tensorflow" or self.model_path.suffix != ".tflite", "runtime",
                self.runtime, "a .tflite model runs on LiteRT: use --runtime litert or auto")
        require(0 <= self.inference_workers <= 256, "inference_workers", self.inference_workers,
                "must be 0..256")
        require(0 <= self.inference_threads <= 256, "inference_threads", self.inference_threads,
                "must be 0..256")
