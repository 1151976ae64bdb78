#!/bin/sh
# Fetch a current restic from Debian (sid: 0.19.1, trixie: 0.18.0) without touching the system's apt
# configuration: a throw-away apt state downloads the .deb, dpkg-deb unpacks it under vendor/.
# Usage: SUITE=sid sh scripts/fetch-restic.sh   (idempotent: does nothing if the binary is already there)
set -eu
SUITE=${SUITE:-sid}
DEST=${DEST:-vendor/restic-$SUITE}
if [ -x "$DEST/usr/bin/restic" ]; then "$DEST/usr/bin/restic" version; exit 0; fi
# The same archive the machine's own apt uses (deb822 or one-line format).
MIRROR=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(\S*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}
[ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
: "${MIRROR:?cannot find the Debian mirror; set DEBIAN_MIRROR}"
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources.list.d"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main" > "$state/sources.list"
set -- -o Dir::Etc::SourceList="$state/sources.list" \
       -o Dir::Etc::SourceParts="$state/sources.list.d" \
       -o Dir::State::Lists="$state/lists" \
       -o Dir::Cache="$state/cache" -qq
apt-get "$@" update
(cd "$state" && apt-get "$@" download restic 2>/dev/null)
mkdir -p "$DEST"
dpkg-deb -x "$state"/restic_*.deb "$DEST"
"$DEST/usr/bin/restic" version
