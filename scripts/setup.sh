#!/bin/sh
# One-time machine setup for development, tests and the Quick start (Debian/Ubuntu, run as root or with sudo).
# Installs restic 0.14 (Debian), a current restic 0.19 (Debian sid, unpacked under vendor/), the keyring and
# browser the tests use, the database servers and Docker Engine the plugin tests start privately, qemu-user and Wine
# (the linux-arm64 and Windows binaries are run under them), then the npm dependencies and the Node builds for
# `npm run dist`.
set -eu
cd "$(dirname "$0")/.."
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
if command -v apt-get >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    restic chromium libsecret-1-dev gnome-keyring libsecret-tools dbus xvfb xauth \
    pkg-config python3 make g++ ca-certificates \
    postgresql mariadb-server docker.io busybox-static systemd \
    qemu-user libc6-arm64-cross libstdc++6-arm64-cross wine64 >/dev/null
  $SUDO env SUITE=sid sh scripts/fetch-restic.sh
fi
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
npm ci --no-audit --no-fund
# The Node builds `npm run dist` makes the single-file binaries of (npm registry packages, under vendor/node/).
sh scripts/fetch-node.sh
