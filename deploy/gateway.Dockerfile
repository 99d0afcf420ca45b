# The web gateway (services/gateway): the browser page and one StreamDetect per page; no models.
#   docker build -f deploy/gateway.Dockerfile --build-arg BASE_IMAGE=... .
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
COPY requirements-web.txt constraints.txt /app/
RUN pip install --no-cache-dir -r requirements-web.txt -c constraints.txt
COPY --from=stubs /out/facestream /app/facestream
COPY services/__init__.py /app/services/__init__.py
COPY services/common /app/services/common
COPY client/__init__.py client/results.py /app/client/
COPY services/gateway /app/services/gateway
USER 10001:10001
ENV FACESTREAM_HOST=0.0.0.0 FACESTREAM_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=5 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m", "services.gateway"]
