#!/usr/bin/env bash
# Make sure a virtual X server (Xvfb), xwininfo, xwd (screenshots), xdotool (key presses)
# and the shared libraries of OpenCV's GUI wheel (opencv-python bundles Qt, which loads
# these) are installed: the live-window test opens the client's window on a throwaway
# display. Prints Xvfb's path. Needs root to install.
set -euo pipefail

PACKAGES="xvfb x11-utils x11-apps xdotool libgl1 libglib2.0-0 libsm6 libice6 libxext6 libxrender1 libfontconfig1 libdbus-1-3"
missing=""
for package in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 \
    || { echo "apt-get install$missing failed" >&2; exit 1; }
fi
command -v Xvfb
