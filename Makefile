# facestream: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
# The client with OpenCV's GUI wheel, for the live-window test (requirements-window.txt).
WINDOW_VENV := .venv-window
WINDOW_STAMP := $(WINDOW_VENV)/.installed
PROTOS := $(wildcard protos/facestream/v1/*.proto)
STUBS_STAMP := facestream/v1/.generated
# Every named emotion model (services/classifier/catalog.py) converted for LiteRT, each
# named by the first 16 hex of its Keras file's sha256; the stamp marks them all done.
CONVERTED_MODEL := models/converted/.catalog
MODELS := models/emotion_model.hdf5 models/face_detection_short_range.tflite \
	models/face_detection_full_range.tflite models/face_detection_full_range_sparse.tflite \
	models/face_landmark.tflite models/face_landmarker.task models/centerface.onnx \
	models/dlib_face_recognition_resnet_model_v1.dat models/shape_predictor_5_face_landmarks.dat
# One of the face-free pictures that generated scenes are built on (tools/fetch_models.py).
FACE_FREE := samples/face_free/rocket.jpg
SAMPLES := samples/sample_clip.mp4 samples/group.jpg samples/frames/frame_00.jpg
BUF_STAMP := node_modules/.package-lock.json
NODE_EXAMPLE_STAMP := examples/node/node_modules/.package-lock.json
BASE_IMAGE ?= facestream/python-base:bookworm
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

.PHONY: help docs docs-config lint run serve test soak webcam test-docker bench eval train-emotion train-teacher protos models samples setup lint-protos clean

help: ## this list: each target and the variables it reads
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 16

run: setup ## stream the sample clip through local services into out/
	$(PY) -m tools.local_services demo

serve: setup ## the services and the page in the foreground (DETECTOR_PORT=, CLASSIFIER_PORT=, RECOGNIZER_PORT=, WEB_PORT= to move them)
	$(PY) -m tools.local_services serve $(if $(DETECTOR_PORT),--detector-port $(DETECTOR_PORT)) \
		$(if $(CLASSIFIER_PORT),--classifier-port $(CLASSIFIER_PORT)) \
		$(if $(RECOGNIZER_PORT),--recognizer-port $(RECOGNIZER_PORT)) \
		$(if $(WEB_PORT),--web-port $(WEB_PORT))

test: setup lint docs $(NODE_EXAMPLE_STAMP) $(BENCH_STAMP) $(WINDOW_STAMP) ## make lint and make docs, then unit, integration and end-to-end tests
	$(PY) -m pytest

docs: $(VENV_STAMP) ## the manual (docs/) as a site in site/; a broken link or a page outside the navigation fails
	$(VENV)/bin/mkdocs build --strict --quiet

docs-config: $(VENV_STAMP) ## regenerate docs/configuration.md from the settings classes
	$(PY) -m tools.gen_docs config

lint: $(VENV_STAMP) lint-protos ## ruff, the import contracts (import-linter) and buf lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

soak: setup ## 16 streams for 60 s: every frame answered, no errors, bounded memory growth
	$(PY) -m tools.soak

test-docker: setup ## compose with 3 classifier replicas, built on a local Debian base image
	deploy/ensure-docker.sh
	deploy/base-image.sh $(BASE_IMAGE)
	BASE_IMAGE=$(BASE_IMAGE) $(PY) -m tools.compose_check

bench: setup $(BENCH_STAMP) ## measure against the raw model and the fer package; writes bench/results.json and docs/benchmarks.md's table
	$(PY) -m bench.run
	$(PY) -m tools.gen_docs benchmarks

eval: setup $(BENCH_STAMP) ## generated scenes from labeled faces (FACES=dir) and/or real photos and videos (SCENES="dirs or files"), beside fer
	$(if $(or $(FACES),$(SCENES)),,$(error set FACES to an image folder of labeled faces, or SCENES to real photos, label files and videos))
	$(if $(FACES),$(PY) -m tools.eval_detection --faces $(FACES) --fer --streams)
	$(if $(SCENES),$(PY) -m tools.eval_scenes $(SCENES) --fer)

FERPLUS_DATA = $(or $(DATA),$(error set DATA to a FER+ folder, e.g. ../shared/data/ferplus/train))
TEACHER_SEEDS := 3 4 5

# The teachers are for a GPU (measured there with KERAS_BACKEND=jax and jax[cuda]); on 2
# CPU cores each would take many hours. Their scores are for training.train's
# --teacher-scores, which did not beat the votes alone for the served network (README).
train-teacher: setup ## three VGG13-like teachers and their scores of the FER+ faces, in models/teachers/ (DATA=folder with label.csv; ~3.5 min each on an H100); not part of make test
	for seed in $(TEACHER_SEEDS); do \
		$(PY) -m training.train --data $(FERPLUS_DATA) --network teacher --seed $$seed \
			--epochs 34 --patience 34 --softening 0.25 --out models/teachers/teacher$$seed.keras \
			|| exit 1; \
	done
	$(PY) -m training.teacher --data $(FERPLUS_DATA) --out models/teachers/ferplus_teacher_scores.npz \
		--model $(foreach seed,$(TEACHER_SEEDS),models/teachers/teacher$(seed).keras)

# oneDNN on: 45 epochs of this network ran without the heap fault training/train.py
# guards against (seen fine-tuning the mini-XCEPTION), at ~55 s an epoch instead of ~105
# (an AMD EPYC VM; 69 s on an Intel Xeon VM).
# Then the pipeline's own crops of the training faces, and a fine-tune that makes the
# model read each face and its crop alike (training/consistency.py, README).
train-emotion: setup ## re-make models/trained/ferplus.keras from FER+ votes (DATA=folder with label.csv; ~80 min on 2 cores); not part of make test
	TF_ENABLE_ONEDNN_OPTS=1 $(PY) -m training.train \
		--data $(FERPLUS_DATA) \
		--out models/trained/ferplus.keras --epochs 45 --patience 45 --softening 0.25
	$(PY) -m training.pipeline_crops --data $(FERPLUS_DATA) --out out/train/pipeline_crops.npz
	$(PY) -m training.consistency --data $(FERPLUS_DATA) --crops out/train/pipeline_crops.npz \
		--model models/trained/ferplus.keras

# fer's declared dependencies are heavy and clash with numpy 2; what it needs is pinned here.
$(WINDOW_STAMP): requirements-window.txt constraints.txt pyproject.toml
	test -x $(WINDOW_VENV)/bin/python || $(PYTHON) -m venv $(WINDOW_VENV)
	$(WINDOW_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements-window.txt -c constraints.txt
	# The client's package and the stubs, importable without PYTHONPATH.
	$(WINDOW_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e . \
		--config-settings editable_mode=compat
	touch $@

webcam: setup $(WINDOW_STAMP) ## the live window on camera 0 (SOURCE=file) against `make serve`'s detector (FACESTREAM_TARGET=host:port, or TARGET=, when its port moved)
	$(WINDOW_VENV)/bin/python client/webcam.py --source $(or $(SOURCE),0) \
		$(if $(TARGET),--target $(TARGET))

$(BENCH_STAMP): requirements-bench.txt $(VENV_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-bench.txt
	touch $@

lint-protos: $(BUF_STAMP) ## buf lint (STANDARD + COMMENTS); buf breaking against the latest release tag
	npx --no-install buf lint
	@tag=$$(git describe --tags --abbrev=0 2>/dev/null || true); \
	if [ -n "$$tag" ]; then echo "buf breaking against $$tag"; npx --no-install buf breaking --against ".git#tag=$$tag"; \
	else echo "buf breaking: no release tag yet"; fi

$(BUF_STAMP): package.json package-lock.json
	$(NPM_CI)

$(NODE_EXAMPLE_STAMP): examples/node/package.json examples/node/package-lock.json
	cd examples/node && $(NPM_CI)

setup: $(VENV_STAMP) $(STUBS_STAMP) $(MODELS) $(CONVERTED_MODEL) $(FACE_FREE) $(SAMPLES) \
	samples/camera.png

# The environment is rebuilt when any requirements or constraints file changes.
$(VENV_STAMP): requirements.txt requirements-detector.txt requirements-classifier.txt requirements-recognizer.txt requirements-client.txt requirements-web.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check \
		-r requirements.txt -r requirements-detector.txt -r requirements-classifier.txt \
		-r requirements-recognizer.txt -r requirements-client.txt -r requirements-web.txt \
		-r requirements-dev.txt -c constraints.txt
	# The project's own packages (and the stubs, once generated), importable from anywhere.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . \
		--config-settings editable_mode=compat
	touch $@

protos: $(STUBS_STAMP) ## generate the Python stubs from protos/ (never edit them)
$(STUBS_STAMP): $(PROTOS) $(VENV_STAMP)
	rm -rf facestream && mkdir -p facestream/v1
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=. --pyi_out=. --grpc_python_out=. $(PROTOS)
	touch $@

models: $(MODELS) $(CONVERTED_MODEL) ## fetch the pinned, checksummed model files; convert the emotion models for LiteRT
$(MODELS) samples/astronaut.png samples/camera.png $(FACE_FREE) &: tools/fetch_models.py $(VENV_STAMP)
	$(PY) tools/fetch_models.py
	touch $(MODELS) samples/astronaut.png samples/camera.png $(FACE_FREE)

$(CONVERTED_MODEL): models/emotion_model.hdf5 $(wildcard models/trained/*.keras) \
		services/classifier/conversion.py services/classifier/catalog.py $(VENV_STAMP)
	$(PY) -m services.classifier.conversion
	touch $@

samples: $(SAMPLES) ## build the sample clip from the public-domain astronaut photo
$(SAMPLES) &: samples/astronaut.png tools/make_sample_clip.py
	$(PY) tools/make_sample_clip.py

clean:
	rm -rf facestream out site node_modules examples/node/node_modules $(WINDOW_VENV)
