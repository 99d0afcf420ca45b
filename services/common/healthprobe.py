"""`python -m services.common.healthprobe [--port P]`: exit 0 when the local server's
grpc.health.v1 says SERVING, 1 otherwise. For container healthchecks: no extra binaries."""

from __future__ import annotations

import argparse
import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("FACESTREAM_PORT", "50051")))
    parser.add_argument("--service", default="", help="service name; empty means the whole server")
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args(argv)
    with grpc.insecure_channel(f"127.0.0.1:{args.port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout)
        except grpc.RpcError as error:
            print(f"health: {error.code().name}", file=sys.stderr)
            return 1
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    print(f"health: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}")
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
