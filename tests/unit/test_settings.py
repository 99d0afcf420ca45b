"""Settings from flags and environment variables, validated with the bad value named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.classifier.catalog import FER2013_LABELS, LABELS, MODELS
from services.classifier.settings import ClassifierSettings
from services.common.settings import SettingsError, load_settings
from services.detector.settings import DetectorSettings
from tests.conftest import EMOTION_MODEL, FACE_MODEL


def test_flag_beats_environment_beats_default():
    env = {"FACESTREAM_PORT": "6000", "FACESTREAM_MIN_SCORE": "0.7",
           "FACESTREAM_DETECTOR_MODEL": str(FACE_MODEL)}
    settings = load_settings(DetectorSettings, ["--port", "7000"], env)
    assert settings.port == 7000
    assert settings.min_score == 0.7
    assert settings.max_faces == 256


def test_booleans_from_environment():
    env = {"FACESTREAM_JIT_COMPILE": "true", "FACESTREAM_MODEL": str(EMOTION_MODEL)}
    assert load_settings(ClassifierSettings, [], env).jit_compile is True
    with pytest.raises(SettingsError, match="FACESTREAM_JIT_COMPILE='maybe'"):
        load_settings(ClassifierSettings, [], {**env, "FACESTREAM_JIT_COMPILE": "maybe"})


@pytest.mark.parametrize("argv,message", [
    (["--port", "70000"], "--port / FACESTREAM_PORT = 70000: must be 0..65535"),
    (["--port", "http"], "--port='http'"),
    (["--min-score", "1.5"], "FACESTREAM_MIN_SCORE = 1.5: must be within [0, 1]"),
    (["--min-score", "nan"], "nan"),
    (["--backend", "dlib"], "must be one of auto, frontal, short_range, full_range, centerface, haar"),
    (["--detector-model", "/nope.tflite"], "/nope.tflite"),
    (["--face-mesh-model", "/nomesh.tflite"],
     "--face-mesh-model / FACESTREAM_FACE_MESH_MODEL = '/nomesh.tflite': no such file"),
])
def test_bad_detector_values_are_named(argv, message):
    with pytest.raises(SettingsError) as raised:
        load_settings(DetectorSettings, ["--detector-model", str(FACE_MODEL), *argv], {})
    assert message in str(raised.value)


@pytest.mark.parametrize("argv,message", [
    (["--labels", "happy"], "at least two distinct"),
    (["--max-queue-size", "4"], "must be at least max_batch_size (64)"),
    (["--pixel-scaling", "weird"], "must be one of"),
    (["--model", "missing.hdf5"], "missing.hdf5"),
])
def test_bad_classifier_values_are_named(argv, message):
    with pytest.raises(SettingsError, match=None) as raised:
        load_settings(ClassifierSettings, ["--model", str(EMOTION_MODEL), *argv], {})
    assert message in str(raised.value)


def test_unknown_flag_is_refused(capsys):
    with pytest.raises(SystemExit):
        load_settings(DetectorSettings, ["--max-facez", "3"], {})
    assert "unrecognized arguments: --max-facez" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_named_model_brings_its_file_and_labels(name):
    settings = load_settings(ClassifierSettings, ["--model", name], {})
    assert settings.model_path == Path(MODELS[name].path)
    assert settings.label_list == list(MODELS[name].labels)
    assert settings.model_name == name
    # every model speaks the project's vocabulary, in its order
    assert settings.label_list == list(LABELS[:len(settings.label_list)])


def test_a_model_file_keeps_its_stem_and_the_fer2013_labels():
    settings = load_settings(ClassifierSettings, ["--model", str(EMOTION_MODEL)], {})
    assert settings.model_name == "emotion_model"
    assert settings.label_list == list(FER2013_LABELS)


def test_an_unknown_model_name_lists_the_names():
    with pytest.raises(SettingsError, match="not a model name \\(fer2013, ferplus\\)"):
        load_settings(ClassifierSettings, ["--model", "ferplus2"], {})


def test_a_named_model_whose_file_changed_is_refused(tmp_path, monkeypatch):
    changed = tmp_path / "emotion_model.hdf5"
    changed.write_bytes(EMOTION_MODEL.read_bytes() + b"\0")
    monkeypatch.setitem(MODELS, "fer2013", replace(MODELS["fer2013"], path=str(changed)))
    with pytest.raises(SettingsError, match="expected 59534287fdfb...: run `make models` again"):
        load_settings(ClassifierSettings, ["--model", "fer2013"], {})
