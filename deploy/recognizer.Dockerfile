# The recognizer: dlib (prebuilt wheel), the faces library (as the detector finds faces),
# SQLite. No TensorFlow.
#   docker build -f deploy/recognizer.Dockerfile --build-arg BASE_IMAGE=... .
# The gallery lives in /data (a volume): embeddings only, never face images.
ARG BASE_IMAGE=facestream/python-base:bookworm

FROM ${BASE_IMAGE} AS stubs
COPY constraints.txt /src/constraints.txt
RUN python3 -m venv /opt/tools && /opt/tools/bin/pip install --no-cache-dir grpcio-tools -c /src/constraints.txt
COPY protos /src/protos
RUN mkdir -p /out && /opt/tools/bin/python -m grpc_tools.protoc -I/src/protos --python_out=/out \
      --grpc_python_out=/out /src/protos/facestream/v1/*.proto

# The two dlib model files, checksummed, out of face-recognition-models' 100 MB source
# archive; the archive (and its 68-point model) stays in this stage.
FROM ${BASE_IMAGE} AS models
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH HOME=/tmp
WORKDIR /app
COPY tools/fetch_models.py /app/tools/fetch_models.py
RUN python tools/fetch_models.py --root /app --cache /tmp/wheels \
      --only models/shape_predictor_5_face_landmarks.dat \
      --only models/dlib_face_recognition_resnet_model_v1.dat

FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH HOME=/tmp
WORKDIR /app
# Dependencies first: a code change does not reinstall them.
COPY requirements.txt requirements-detector.txt requirements-recognizer.txt constraints.txt /app/
RUN pip install --no-cache-dir -r requirements.txt -r requirements-detector.txt \
      -r requirements-recognizer.txt -c constraints.txt
COPY --from=models /app/models /app/models
# The face finder's models, as the detector's image has them (CenterFace prepared by onnx).
COPY tools/fetch_models.py /app/tools/fetch_models.py
RUN python tools/fetch_models.py --root /app --cache /tmp/wheels \
      --only models/face_detection_short_range.tflite \
      --only models/face_landmark.tflite \
      --only models/centerface.onnx && rm -rf /tmp/wheels
COPY --from=stubs /out/facestream /app/facestream
COPY services/__init__.py /app/services/__init__.py
COPY services/common /app/services/common
COPY services/faces /app/services/faces
COPY services/recognizer /app/services/recognizer
RUN mkdir -p /data && chown 10001:10001 /data
VOLUME /data
USER 10001:10001
ENV FACESTREAM_HOST=0.0.0.0 FACESTREAM_PORT=50053 FACESTREAM_GALLERY=/data/gallery.sqlite3
EXPOSE 50053 9103
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
  CMD ["python", "-m", "services.common.healthprobe", "--port", "50053"]
ENTRYPOINT ["python", "-m", "services.recognizer"]
