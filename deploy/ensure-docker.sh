#!/usr/bin/env bash
# Make sure a Docker engine runs here: install Debian's docker.io, docker-compose and
# debootstrap when missing, and start dockerd when none answers. Needs root.
set -euo pipefail

if docker info >/dev/null 2>&1 && command -v docker-compose >/dev/null && command -v debootstrap >/dev/null; then
  exit 0
fi
missing=""
command -v dockerd >/dev/null || missing="$missing docker.io"
command -v docker-compose >/dev/null || missing="$missing docker-compose"
command -v debootstrap >/dev/null || missing="$missing debootstrap"
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  nohup dockerd >/var/log/facestream-dockerd.log 2>&1 &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/facestream-dockerd.log" >&2; exit 1; }
echo "docker engine: $(docker version --format '{{.Server.Version}}')"
