#!/usr/bin/env bash
# Build the Python base image from Debian packages, for machines with no image registry
# (air-gapped builds): debootstrap a minimal Debian bookworm with Python 3.11, add this
# machine's CA bundle (so pip inside builds trusts the same proxies the host trusts), and
# `docker import` it. Pass the tag to the builds as BASE_IMAGE.
#
#   deploy/base-image.sh [TAG]        default TAG: facestream/python-base:bookworm
set -euo pipefail

TAG="${1:-facestream/python-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python3-venv,ca-certificates,libstdc++6,libgomp1"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG already present"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" "$MIRROR"
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | docker import \
  -c 'ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["python3"]' - "$TAG"
echo "built $TAG"
